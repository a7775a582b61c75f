"""A code location for the code server's tests: a partitioned asset, a check, jobs, schedules
(plain, function, partitioned) and sensors (standard, asset, broken). Loaded by file path in
the subprocess test, and imported by the others (`make_defs` builds variants)."""

from __future__ import annotations

import datetime
from typing import Any

import kubedag as dg

daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")
regions = dg.DynamicPartitionsDefinition(name="regions")  # keys added by a sensor


@dg.asset(partitions_def=daily, group_name="sales", description="Orders, one file a day.")
def raw_orders() -> None: ...


@dg.asset(
    deps=[raw_orders], automation_condition=dg.AutomationCondition.eager(), group_name="sales"
)
def orders_summary() -> None: ...


@dg.asset
def customers() -> int:
    return 3


@dg.asset_check(asset=customers, description="At least one customer.")
def customers_not_empty() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


daily_orders_job = dg.define_asset_job("daily_orders_job", selection=[raw_orders])
customers_job = dg.define_asset_job("customers_job", selection=[customers], tags={"team": "crm"})


@dg.schedule(
    job=customers_job,
    cron_schedule=["0 6 * * *", "0 18 * * *"],
    execution_timezone="America/New_York",
    description="Twice a day.",
)
def customers_twice_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    moment = context.scheduled_execution_time
    assert moment is not None
    if moment.weekday() == 6:
        return dg.SkipReason("No refresh on Sundays.")
    return dg.RunRequest(run_key=moment.isoformat(), tags={"slot": str(moment.hour)})


@dg.sensor(job=customers_job, minimum_interval_seconds=60)
def new_regions(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    seen = int(context.cursor or "0")
    names = ["us", "eu", "apac"][seen : seen + 2]
    if not names:
        return dg.SensorResult(skip_reason="No new regions.", cursor=str(seen))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"region-{n}", tags={"region": n}) for n in names],
        dynamic_partitions_requests=[regions.build_add_request(names)],
        cursor=str(seen + len(names)),
    )


@dg.asset_sensor(asset_key=dg.AssetKey("customers"), job=customers_job)
def customers_updated(context: dg.SensorEvaluationContext, asset_event: Any) -> dg.RunRequest:
    return dg.RunRequest(run_key=asset_event.run_id)


def explode(value: int) -> int:
    return value // 0


@dg.sensor(job=customers_job, default_status=dg.DefaultSensorStatus.RUNNING)
def broken_sensor(context: dg.SensorEvaluationContext) -> None:
    explode(1)


def make_defs(nightly_cron: str = "0 2 * * *") -> dg.Definitions:
    nightly = dg.ScheduleDefinition(
        name="nightly_customers",
        cron_schedule=nightly_cron,
        job=customers_job,
        run_config={"ops": {"customers": {"config": {}}}},
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return dg.Definitions(
        assets=[raw_orders, orders_summary, customers],
        asset_checks=[customers_not_empty],
        jobs=[daily_orders_job, customers_job],
        schedules=[
            nightly,
            customers_twice_daily,
            dg.build_schedule_from_partitioned_job(daily_orders_job),
        ],
        sensors=[new_regions, customers_updated, broken_sensor],
    )


defs = make_defs()
EXPECTED_SUNDAY = datetime.datetime(2024, 1, 7, 6, tzinfo=datetime.UTC)
