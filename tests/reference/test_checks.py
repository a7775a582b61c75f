"""Reference section "Asset checks": a check on an asset, blocking checks, `@multi_asset_check`,
and jobs that run the asset and its checks separately (`without_checks`, `checks_for_assets`).

pandas is not installed here, so the examples write and read `orders.csv` with the csv module;
a null is an empty cell, as pandas writes NaN.
"""

import csv
from collections.abc import Iterable
from pathlib import Path

import pytest

import kubedag as dg

ORDER_COLUMNS = ["order_id", "item_id"]


def write_csv(path: str, rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ORDER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def count_nulls(rows: list[dict[str, str]], column: str) -> int:
    return sum(1 for row in rows if row[column] == "")


@dg.asset
def orders():
    orders_df = [{"order_id": 1, "item_id": 432}, {"order_id": 2, "item_id": 878}]
    write_csv("orders.csv", orders_df)


@dg.asset_check(asset=orders)
def orders_id_has_no_nulls():
    orders_df = read_csv("orders.csv")
    num_null_order_ids = count_nulls(orders_df, "order_id")
    return dg.AssetCheckResult(passed=bool(num_null_order_ids == 0))


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name="orders_id_has_no_nulls", asset="orders"),
        dg.AssetCheckSpec(name="items_id_has_no_nulls", asset="orders"),
    ]
)
def orders_check() -> Iterable[dg.AssetCheckResult]:
    orders_df = read_csv("orders.csv")
    num_null_order_ids = count_nulls(orders_df, "order_id")
    yield dg.AssetCheckResult(
        check_name="orders_id_has_no_nulls",
        passed=bool(num_null_order_ids == 0),
        asset_key="orders",
    )
    num_null_item_ids = count_nulls(orders_df, "item_id")
    yield dg.AssetCheckResult(
        check_name="items_id_has_no_nulls",
        passed=bool(num_null_item_ids == 0),
        asset_key="orders",
    )


asset_job = dg.define_asset_job(
    "asset_job",
    selection=dg.AssetSelection.assets(orders).without_checks(),
)
check_job = dg.define_asset_job(
    "check_job",
    selection=dg.AssetSelection.checks_for_assets(orders),
)
asset_schedule = dg.ScheduleDefinition(job=asset_job, cron_schedule="0 0 * * *")
check_schedule = dg.ScheduleDefinition(job=check_job, cron_schedule="0 6 * * *")


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _orders_with_a_null_id() -> dg.AssetsDefinition:
    """The same `orders` asset, writing a row whose order_id is missing."""

    @dg.asset(name="orders")
    def orders_with_a_null_id():
        orders_df = [{"order_id": None, "item_id": 432}, {"order_id": 2, "item_id": 878}]
        write_csv("orders.csv", orders_df)

    return orders_with_a_null_id


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the examples read and write orders.csv in the working directory


def test_check_runs_after_its_asset_and_passes(instance: dg.Instance) -> None:
    result = dg.materialize([orders, orders_id_has_no_nulls], instance=instance)

    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_key == dg.AssetKey("orders")
    assert evaluation.check_name == "orders_id_has_no_nulls"
    assert evaluation.passed is True
    assert evaluation.blocking is False


def test_failing_non_blocking_check_is_recorded_but_the_run_succeeds(
    instance: dg.Instance,
) -> None:
    bad_orders = _orders_with_a_null_id()

    @dg.asset_check(asset=bad_orders)
    def orders_id_has_no_nulls():
        orders_df = read_csv("orders.csv")
        num_null_order_ids = count_nulls(orders_df, "order_id")
        return dg.AssetCheckResult(passed=bool(num_null_order_ids == 0))

    result = dg.materialize([bad_orders, orders_id_has_no_nulls], instance=instance)

    assert result.success
    assert _evaluations(result) == {"orders_id_has_no_nulls": False}


def _blocking_check_on(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, blocking=True)
    def orders_id_has_no_nulls():
        orders_df = read_csv("orders.csv")
        num_null_order_ids = count_nulls(orders_df, "order_id")
        return dg.AssetCheckResult(passed=bool(num_null_order_ids == 0))

    return orders_id_has_no_nulls


def _report_on(asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(deps=[asset])
    def order_report() -> int:
        return len(read_csv("orders.csv"))

    return order_report


def test_passing_blocking_check_lets_downstream_run(instance: dg.Instance) -> None:
    check = _blocking_check_on(orders)
    report = _report_on(orders)

    result = dg.materialize([orders, check, report], instance=instance)

    assert result.success
    assert _evaluations(result) == {"orders_id_has_no_nulls": True}
    assert result.asset_value("order_report") == 2


def test_failing_blocking_check_skips_downstream_and_fails_the_run(
    instance: dg.Instance,
) -> None:
    bad_orders = _orders_with_a_null_id()
    check = _blocking_check_on(bad_orders)
    report = _report_on(bad_orders)

    result = dg.materialize([bad_orders, check, report], instance=instance, raise_on_error=False)

    assert not result.success
    assert result.run.status is dg.RunStatus.FAILURE
    assert _evaluations(result) == {"orders_id_has_no_nulls": False}
    assert result.is_node_success("orders")
    assert result.is_node_failed(check.op.name)
    assert result.is_node_skipped("order_report")
    materialized = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert materialized == [dg.AssetKey("orders")]


def test_failing_blocking_check_raises_by_default(instance: dg.Instance) -> None:
    bad_orders = _orders_with_a_null_id()
    check = _blocking_check_on(bad_orders)
    report = _report_on(bad_orders)

    with pytest.raises(dg.AssetCheckFailedError, match="orders:orders_id_has_no_nulls"):
        dg.materialize([bad_orders, check, report], instance=instance)


def test_multi_asset_check_yields_one_result_per_spec(instance: dg.Instance) -> None:
    assert orders_check.check_keys == (
        dg.AssetCheckKey(dg.AssetKey("orders"), "orders_id_has_no_nulls"),
        dg.AssetCheckKey(dg.AssetKey("orders"), "items_id_has_no_nulls"),
    )
    bad_orders = _orders_with_a_null_id()

    result = dg.materialize([bad_orders, orders_check], instance=instance)

    assert result.success  # neither check is blocking
    assert _evaluations(result) == {"orders_id_has_no_nulls": False, "items_id_has_no_nulls": True}


def _checks_defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[orders],
        asset_checks=[orders_check],
        schedules=[asset_schedule, check_schedule],
    )


def test_asset_job_materializes_without_running_checks() -> None:
    defs = _checks_defs()
    job = defs.get_job_def("asset_job")
    assert job.step_keys == ["orders"]

    result = job.execute_in_process()

    assert result.success
    assert [e.materialization.asset_key for e in result.get_asset_materialization_events()] == [
        dg.AssetKey("orders")
    ]
    assert result.get_asset_check_evaluations() == []
    assert Path("orders.csv").exists()


def test_check_job_runs_checks_without_materializing() -> None:
    defs = _checks_defs()
    defs.get_job_def("asset_job").execute_in_process()  # the checks read what this writes
    job = defs.get_job_def("check_job")
    assert job.step_keys == ["orders_check"]

    result = job.execute_in_process()

    assert result.success
    assert result.get_asset_materialization_events() == []
    assert _evaluations(result) == {"orders_id_has_no_nulls": True, "items_id_has_no_nulls": True}


def test_check_job_without_the_csv_fails_in_the_check_step() -> None:
    result = _checks_defs().get_job_def("check_job").execute_in_process(raise_on_error=False)

    assert not result.success
    assert result.get_failed_step_keys() == {"orders_check"}


def test_each_job_has_its_own_schedule() -> None:
    defs = _checks_defs()

    assert defs.get_schedule_def("asset_job_schedule").job_name == "asset_job"
    assert defs.get_schedule_def("asset_job_schedule").cron_schedule == "0 0 * * *"
    assert defs.get_schedule_def("check_job_schedule").job_name == "check_job"
    assert defs.get_schedule_def("check_job_schedule").cron_schedule == "0 6 * * *"
