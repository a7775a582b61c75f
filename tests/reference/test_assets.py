"""Reference section "Assets": plain assets, deps/groups/owners, code versions, key prefixes,
the run context, `@multi_asset(specs=…)` and `@graph_asset` composing ops with a retry policy."""

import json
from pathlib import Path

import pytest

import kubedag as dg


@dg.asset
def raw_orders() -> None:
    # Fetch and persist order data
    ...


@dg.asset
def daily_sales() -> None: ...


@dg.asset(deps=[daily_sales], group_name="sales")
def weekly_sales() -> None: ...


@dg.asset(
    deps=[weekly_sales],
    owners=["bighead@hooli.com", "team:data"],
)
def weekly_sales_report(context: dg.AssetExecutionContext):
    context.log.info("Generating report")


@dg.asset(code_version="1")
def asset_with_version():
    with open("data/output.json", "w") as f:
        json.dump(100, f)


@dg.asset(key_prefix=["staging", "sales"])
def orders():
    return [1, 2, 3]


@dg.asset(ins={"orders": dg.AssetIn(key_prefix=["staging", "sales"])})
def enriched_orders(orders):
    return orders + [4]  # noqa: RUF005 - as written in the reference


@dg.asset
def context_asset(context: dg.AssetExecutionContext):
    context.log.info(f"Run ID: {context.run.run_id}")


@dg.multi_asset(specs=[dg.AssetSpec("asset_one"), dg.AssetSpec("asset_two")])
def my_multi_asset():
    yield dg.MaterializeResult(asset_key="asset_one", metadata={"num_rows": 10})
    yield dg.MaterializeResult(asset_key="asset_two", metadata={"num_rows": 24})


@dg.op(
    retry_policy=dg.RetryPolicy(
        max_retries=5,
        delay=0.2,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )
)
def step_one() -> int:
    return 42


@dg.op
def step_two(num: int):
    return num**2


@dg.graph_asset
def complex_asset():
    return step_two(step_one())


def _user_messages(result: dg.ExecuteInProcessResult, step_key: str) -> list[str]:
    logs = result.instance.all_logs(result.run_id)
    return [
        entry.user_message for entry in logs if not entry.is_event and entry.step_key == step_key
    ]


def test_asset_returning_none_is_materialized_but_not_stored(instance: dg.Instance) -> None:
    result = dg.materialize([raw_orders], instance=instance)

    assert result.success
    assert [m.asset_key for m in result.asset_materializations_for_node("raw_orders")] == [
        dg.AssetKey("raw_orders")
    ]
    # `-> None` declares that there is no value to hand to an I/O manager.
    handled = [e for e in result.all_events if e.event_type is dg.EventType.HANDLED_OUTPUT]
    assert handled == []


def test_deps_group_and_owners_are_declared() -> None:
    assert [dep.asset_key for dep in weekly_sales.specs[0].deps] == [dg.AssetKey("daily_sales")]
    assert [dep.asset_key for dep in weekly_sales_report.specs[0].deps] == [
        dg.AssetKey("weekly_sales")
    ]
    assert weekly_sales.specs[0].group_name == "sales"
    assert weekly_sales_report.specs[0].owners == ("bighead@hooli.com", "team:data")

    defs = dg.Definitions(
        assets=[daily_sales, weekly_sales, weekly_sales_report],
        jobs=[dg.define_asset_job("sales_group", selection=dg.AssetSelection.groups("sales"))],
    )
    assert defs.get_job_def("sales_group").step_keys == ["weekly_sales"]


def test_owner_that_is_neither_email_nor_team_is_rejected() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="owner 'bighead'"):

        @dg.asset(owners=["bighead"])
        def unowned() -> None: ...


def test_deps_order_the_run_and_the_report_logs(instance: dg.Instance) -> None:
    result = dg.materialize([weekly_sales_report, weekly_sales, daily_sales], instance=instance)

    assert result.success
    started = [e.step_key for e in result.all_events if e.event_type is dg.EventType.STEP_START]
    assert started == ["daily_sales", "weekly_sales", "weekly_sales_report"]
    assert _user_messages(result, "weekly_sales_report") == ["Generating report"]


def test_code_version_is_recorded_and_the_asset_writes_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.Instance
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()

    result = dg.materialize([asset_with_version], instance=instance)

    assert result.success
    assert asset_with_version.specs[0].code_version == "1"
    assert asset_with_version.op.code_version == "1"
    assert json.loads((tmp_path / "data" / "output.json").read_text()) == 100


def test_key_prefix_namespaces_the_asset_and_asset_in_finds_it(instance: dg.Instance) -> None:
    assert orders.key == dg.AssetKey(["staging", "sales", "orders"])
    assert enriched_orders.keys_by_input_name == {"orders": orders.key}

    result = dg.materialize([orders, enriched_orders], instance=instance)

    assert result.success
    assert result.asset_value(["staging", "sales", "orders"]) == [1, 2, 3]
    assert result.asset_value("enriched_orders") == [1, 2, 3, 4]


def test_asset_in_without_the_prefix_points_at_an_undefined_asset() -> None:
    @dg.asset
    def unprefixed_reader(orders):
        return orders

    with pytest.raises(dg.UnknownDependencyError, match="'orders'"):
        dg.Definitions(assets=[orders, unprefixed_reader])


def test_context_exposes_the_run_id(instance: dg.Instance) -> None:
    result = dg.materialize([context_asset], instance=instance)

    assert result.success
    assert _user_messages(result, "context_asset") == [f"Run ID: {result.run_id}"]


def test_multi_asset_materializes_each_spec_with_its_metadata(instance: dg.Instance) -> None:
    assert my_multi_asset.keys == (dg.AssetKey("asset_one"), dg.AssetKey("asset_two"))

    result = dg.materialize([my_multi_asset], instance=instance)

    assert result.success
    materialized = {
        m.asset_key.to_user_string(): m.metadata["num_rows"].value
        for m in result.asset_materializations_for_node("my_multi_asset")
    }
    assert materialized == {"asset_one": 10, "asset_two": 24}


def test_graph_asset_runs_its_ops_in_order_and_materializes_once(instance: dg.Instance) -> None:
    result = dg.materialize([complex_asset], instance=instance)

    assert result.success
    assert result.asset_value("complex_asset") == 42**2
    started = [e.step_key for e in result.all_events if e.event_type is dg.EventType.STEP_START]
    assert started == ["complex_asset.step_one", "complex_asset.step_two"]
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [
        dg.AssetKey("complex_asset")
    ]


def test_graph_asset_keeps_the_retry_policy_of_its_op(instance: dg.Instance) -> None:
    result = dg.materialize([complex_asset], instance=instance)

    policy = result.job_def.get_step("complex_asset.step_one").retry_policy
    assert policy == dg.RetryPolicy(
        max_retries=5, delay=0.2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    )
    assert result.job_def.get_step("complex_asset.step_two").retry_policy is None
