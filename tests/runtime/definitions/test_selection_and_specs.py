"""Asset selections and what assets declare about themselves (`.specs`)."""

import pytest

import kubedag as dg
from kubedag.definitions.asset_graph import AssetGraph


@dg.asset(group_name="raw")
def raw_orders() -> None: ...


@dg.asset(group_name="raw")
def raw_customers() -> None: ...


@dg.asset(
    deps=[raw_orders, raw_customers], group_name="marts", owners=["team:data"], code_version="2"
)
def customer_orders() -> None: ...


@dg.asset(deps=[customer_orders], group_name="marts")
def revenue_report() -> None: ...


@dg.asset_check(asset=customer_orders)
def has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


GRAPH = AssetGraph([raw_orders, raw_customers, customer_orders, revenue_report], [], [has_rows])


def _names(selection: dg.AssetSelection) -> set[str]:
    return {k.to_user_string() for k in selection.resolve(GRAPH).asset_keys}


def _checks(selection: dg.AssetSelection) -> set[str]:
    return {k.name for k in selection.resolve(GRAPH).check_keys}


def test_basic_selections() -> None:
    assert _names(dg.AssetSelection.all()) == {
        "raw_orders",
        "raw_customers",
        "customer_orders",
        "revenue_report",
    }
    assert _names(dg.AssetSelection.groups("raw")) == {"raw_orders", "raw_customers"}
    assert _names(dg.AssetSelection.keys("revenue_report")) == {"revenue_report"}
    assert _names(dg.AssetSelection.assets(customer_orders)) == {"customer_orders"}


def test_upstream_and_downstream() -> None:
    assert _names(dg.AssetSelection.assets(revenue_report).upstream()) == {
        "raw_orders",
        "raw_customers",
        "customer_orders",
        "revenue_report",
    }
    assert _names(
        dg.AssetSelection.assets(revenue_report).upstream(depth=1, include_self=False)
    ) == {"customer_orders"}
    assert _names(dg.AssetSelection.assets(raw_orders).downstream()) == {
        "raw_orders",
        "customer_orders",
        "revenue_report",
    }


def test_set_operators() -> None:
    raw = dg.AssetSelection.groups("raw")
    marts = dg.AssetSelection.groups("marts")
    assert _names(raw | marts) == _names(dg.AssetSelection.all())
    assert _names(dg.AssetSelection.all() - raw) == {"customer_orders", "revenue_report"}
    assert _names(dg.AssetSelection.all() & raw) == {"raw_orders", "raw_customers"}
    assert _names(dg.AssetSelection.all().roots()) == {"raw_orders", "raw_customers"}
    assert _names(dg.AssetSelection.all().sinks()) == {"revenue_report"}


def test_checks_follow_their_assets_unless_removed() -> None:
    assert _checks(dg.AssetSelection.assets(customer_orders)) == {"has_rows"}
    assert _checks(dg.AssetSelection.assets(customer_orders).without_checks()) == set()
    only_checks = dg.AssetSelection.checks_for_assets(customer_orders)
    assert _names(only_checks) == set() and _checks(only_checks) == {"has_rows"}
    assert _checks(dg.AssetSelection.checks(has_rows)) == {"has_rows"}


def test_unknown_key_in_selection_lists_defined_assets() -> None:
    with pytest.raises(dg.InvalidSelectionError, match=r"'nope'.*raw_orders"):
        dg.AssetSelection.keys("nope").resolve(GRAPH)


def test_specs_expose_what_the_asset_declares() -> None:
    (spec,) = customer_orders.specs
    assert spec.key == dg.AssetKey("customer_orders")
    assert [d.asset_key for d in spec.deps] == [
        dg.AssetKey("raw_orders"),
        dg.AssetKey("raw_customers"),
    ]
    assert spec.group_name == "marts"
    assert spec.owners == ("team:data",)
    assert spec.code_version == "2"
    assert spec.automation_condition is None


def test_asset_key_forms() -> None:
    assert dg.AssetKey("a/b") == dg.AssetKey(["a/b"])  # the constructor takes parts literally
    assert dg.AssetKey.from_user_string("a/b") == dg.AssetKey(["a", "b"])
    assert dg.AssetKey(["a", "b"]).to_user_string() == "a/b"
    assert dg.AssetKey(["a", "b"]).to_python_identifier() == "a__b"


def test_multi_asset_and_subsetting() -> None:
    @dg.multi_asset(specs=[dg.AssetSpec("one"), dg.AssetSpec("two", deps=["one"])])
    def both():  # type: ignore[no-untyped-def]
        yield dg.MaterializeResult(asset_key="one")
        yield dg.MaterializeResult(asset_key="two")

    assert [s.key for s in both.specs] == [dg.AssetKey("one"), dg.AssetKey("two")]
    result = dg.materialize([both])
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        dg.AssetKey("one"),
        dg.AssetKey("two"),
    }
    with pytest.raises(dg.InvalidSelectionError, match="cannot produce a subset"):
        dg.materialize([both], selection=["one"])


def test_multi_asset_that_forgets_an_asset_fails() -> None:
    @dg.multi_asset(specs=[dg.AssetSpec("first"), dg.AssetSpec("second")])
    def partial():  # type: ignore[no-untyped-def]
        yield dg.MaterializeResult(asset_key="first")

    result = dg.materialize([partial], raise_on_error=False)
    assert (
        "did not materialize asset 'second'"
        in result.get_step_failure_events()[0].step_failure_data.error.message
    )  # type: ignore[union-attr]


def test_define_asset_job_by_group_and_definitions_lookups() -> None:
    job = dg.define_asset_job("marts_job", selection=dg.AssetSelection.groups("marts"))
    schedule = dg.ScheduleDefinition(job=job, cron_schedule="0 6 * * *")
    defs = dg.Definitions(
        assets=[raw_orders, raw_customers, customer_orders, revenue_report],
        asset_checks=[has_rows],
        schedules=[schedule],
    )
    resolved = defs.get_job_def("marts_job")
    assert resolved.step_keys == ["customer_orders", "customer_orders_has_rows", "revenue_report"]
    assert defs.get_schedule_def("marts_job_schedule") is schedule
    with pytest.raises(dg.InvalidDefinitionError, match="5 fields"):
        dg.ScheduleDefinition(job=job, cron_schedule="every day")


def test_an_asset_key_survives_pickling_in_another_process() -> None:
    import pickle
    import subprocess
    import sys

    key = dg.AssetKey(["sales", "orders"])
    assert pickle.loads(pickle.dumps(key)) == key
    # another process has other string hashes: the key must hash as that process's own keys
    script = (
        "import pickle, sys; import kubedag as dg; "
        "k = pickle.loads(sys.stdin.buffer.read()); "
        "print(k == dg.AssetKey(['sales', 'orders']) and {k: 1}[dg.AssetKey(['sales', 'orders'])])"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], input=pickle.dumps(key), capture_output=True, check=True
    )
    assert answer.stdout.strip() == b"1"
