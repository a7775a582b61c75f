"""Asset checks: results recorded, blocking checks stop what is downstream of their asset."""

import kubedag as dg
from kubedag.records.events import EventType


def _pipeline(passes: bool, blocking: bool):  # type: ignore[no-untyped-def]
    ran: list[str] = []

    @dg.asset
    def orders() -> list[int]:
        ran.append("orders")
        return [1, 2, -3] if not passes else [1, 2, 3]

    @dg.asset_check(asset=orders, blocking=blocking)
    def no_negative_amounts(orders: list[int]) -> dg.AssetCheckResult:
        bad = [o for o in orders if o < 0]
        return dg.AssetCheckResult(passed=not bad, metadata={"bad_rows": len(bad)})

    @dg.asset
    def revenue(orders: list[int]) -> int:
        ran.append("revenue")
        return sum(orders)

    @dg.asset(deps=[revenue])
    def report() -> None:
        ran.append("report")

    @dg.asset
    def unrelated() -> None:
        ran.append("unrelated")

    return [orders, no_negative_amounts, revenue, report, unrelated], ran


def test_failed_blocking_check_skips_downstream_and_fails_the_run() -> None:
    defs, ran = _pipeline(passes=False, blocking=True)
    result = dg.materialize(defs, raise_on_error=False)
    assert not result.success
    assert "revenue" not in ran and "report" not in ran
    assert "unrelated" in ran
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "no_negative_amounts"
    assert evaluation.passed is False
    assert evaluation.metadata == {"bad_rows": dg.IntMetadataValue(1)}
    assert evaluation.asset_key == dg.AssetKey("orders")
    assert result.is_node_skipped("revenue") and result.is_node_skipped("report")
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey("orders"), dg.AssetKey("unrelated")}


def test_failed_blocking_check_raises_when_asked() -> None:
    defs, _ = _pipeline(passes=False, blocking=True)
    try:
        dg.materialize(defs)
    except dg.AssetCheckFailedError as exc:
        assert "no_negative_amounts" in str(exc)
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("a failed blocking check must fail the run")


def test_failed_non_blocking_check_is_recorded_but_does_not_stop_the_run() -> None:
    defs, ran = _pipeline(passes=False, blocking=False)
    result = dg.materialize(defs)
    assert result.success
    assert ran.count("report") == 1
    assert [e.passed for e in result.get_asset_check_evaluations()] == [False]


def test_passing_blocking_check_lets_downstream_run_after_it() -> None:
    defs, _ = _pipeline(passes=True, blocking=True)
    result = dg.materialize(defs)
    starts = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]
    assert starts.index("orders_no_negative_amounts") < starts.index("revenue")


def test_multi_asset_check_yields_named_results() -> None:
    @dg.asset
    def orders() -> list[dict[str, int | None]]:
        return [{"order_id": 1, "item_id": None}]

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(name="orders_id_has_no_nulls", asset="orders"),
            dg.AssetCheckSpec(name="items_id_has_no_nulls", asset="orders"),
        ]
    )
    def orders_check(orders: list[dict[str, int | None]]):  # type: ignore[no-untyped-def]
        yield dg.AssetCheckResult(
            check_name="orders_id_has_no_nulls",
            passed=all(o["order_id"] is not None for o in orders),
            asset_key="orders",
        )
        yield dg.AssetCheckResult(
            check_name="items_id_has_no_nulls",
            passed=all(o["item_id"] is not None for o in orders),
            asset_key="orders",
        )

    result = dg.materialize([orders, orders_check])
    verdicts = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert verdicts == {"orders_id_has_no_nulls": True, "items_id_has_no_nulls": False}


def test_check_that_returns_nothing_fails_its_step() -> None:
    @dg.asset
    def orders() -> int:
        return 1

    @dg.asset_check(asset=orders)
    def forgetful() -> None:
        return None

    result = dg.materialize([orders, forgetful], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert (
        "did not return a result for check 'orders:forgetful'"
        in failure.step_failure_data.error.message
    )  # type: ignore[union-attr]


def test_check_job_runs_only_checks_and_loads_the_stored_asset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    @dg.asset
    def orders() -> list[int]:
        return [5, 6]

    @dg.asset_check(asset=orders)
    def not_empty(orders: list[int]) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=len(orders) > 0, metadata={"rows": len(orders)})

    defs = dg.Definitions(
        assets=[orders],
        asset_checks=[not_empty],
        jobs=[
            dg.define_asset_job(
                "asset_job", selection=dg.AssetSelection.assets(orders).without_checks()
            ),
            dg.define_asset_job("check_job", selection=dg.AssetSelection.checks_for_assets(orders)),
        ],
        resources={"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path))},
    )
    assert defs.get_job_def("asset_job").step_keys == ["orders"]
    assert defs.get_job_def("check_job").step_keys == ["orders_not_empty"]
    assert defs.get_job_def("asset_job").execute_in_process().success
    checked = defs.get_job_def("check_job").execute_in_process()
    (evaluation,) = checked.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata == {"rows": dg.IntMetadataValue(2)}
    assert checked.get_asset_materialization_events() == []


def test_checks_declared_on_the_asset_itself() -> None:
    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="score", blocking=True)])
    def score() -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata={"value": -1},
            check_results=[dg.AssetCheckResult(passed=False, metadata={"value": -1})],
        )

    @dg.asset(deps=[score])
    def leaderboard() -> None: ...

    result = dg.materialize([score, leaderboard], raise_on_error=False)
    assert not result.success
    assert [e.check_name for e in result.get_asset_check_evaluations()] == ["positive"]
    assert result.is_node_skipped("leaderboard")
