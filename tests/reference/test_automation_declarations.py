"""Reference section "Automation": schedules, declarative automation conditions and sensors, as
declarations only. Evaluating schedules and sensors (ticks, run requests) is tested where it is
implemented, not here.

`dg.build_schedule_from_partitioned_job` is tested with schedule evaluation
(tests/runtime/automation); `dg.SensorEvaluationContext` belongs to sensor evaluation, so the sensors below name it in
a string annotation, which Python does not evaluate.
"""

import datetime

import pytest

import kubedag as dg


@dg.asset
def customer_data(): ...


@dg.asset
def sales_report(): ...


daily_schedule = dg.ScheduleDefinition(
    name="daily_refresh",
    cron_schedule="0 0 * * *",  # midnight daily
    target=[customer_data, sales_report],
)
defs = dg.Definitions(schedules=[daily_schedule])

daily_partition = dg.DailyPartitionsDefinition(start_date="2024-05-20")


@dg.asset(partitions_def=daily_partition)
def daily_asset(): ...


partitioned_asset_job = dg.define_asset_job("partitioned_job", selection=[daily_asset])

# -- declarative automation -----------------------------------------------------------------


@dg.asset
def upstream() -> None: ...


@dg.asset(
    deps=["upstream"],
    automation_condition=dg.AutomationCondition.on_cron("@hourly"),
)
def hourly_asset() -> None: ...


@dg.asset(
    deps=["upstream"],
    automation_condition=dg.AutomationCondition.eager(),
)
def eager_asset() -> None: ...


@dg.asset(
    deps=[upstream],
    automation_condition=dg.AutomationCondition.on_missing(),
    partitions_def=dg.DailyPartitionsDefinition("2025-01-01"),
)
def downstream() -> None: ...


# -- sensors ----------------------------------------------------------------------------------

my_job = dg.define_asset_job("my_job", selection=[customer_data])


def new_data_available() -> bool:
    return True


@dg.sensor(job=my_job)
def my_sensor(context: "dg.SensorEvaluationContext"):
    # Check for new files, API events, etc.
    if new_data_available():
        return dg.RunRequest(run_key="unique_key")


region_partitions = dg.DynamicPartitionsDefinition(name="regions")


@dg.asset(partitions_def=region_partitions)
def regional_sales_data(context: dg.AssetExecutionContext) -> None:
    region = context.partition_key
    context.add_output_metadata({"region": region})


regional_sales_job = dg.define_asset_job("regional_sales_job", selection=[regional_sales_data])


@dg.sensor(job=regional_sales_job)
def all_regions_sensor(context: "dg.SensorEvaluationContext"):
    all_regions = ["us", "eu", "jp", "ca", "uk", "au"]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=region) for region in all_regions],
        dynamic_partitions_requests=[region_partitions.build_add_request(all_regions)],
    )


# -- a schedule function for a partitioned job -------------------------------------------------

daily_sales_partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.asset(partitions_def=daily_sales_partitions)
def daily_sales_data(context: dg.AssetExecutionContext) -> None: ...


daily_sales_job = dg.define_asset_job("daily_sales_job", selection=[daily_sales_data])


@dg.schedule(job=daily_sales_job, cron_schedule="0 1 * * *")
def daily_sales_schedule(context):
    previous_day = context.scheduled_execution_time.date() - datetime.timedelta(days=1)
    date = previous_day.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=date, partition_key=date)


# -- schedules --------------------------------------------------------------------------------


def test_schedule_targeting_assets_brings_them_into_definitions() -> None:
    schedule = defs.get_schedule_def("daily_refresh")

    assert schedule.cron_schedule == "0 0 * * *"
    job = defs.get_job_def(schedule.job_name)
    assert job.step_keys == ["customer_data", "sales_report"]
    assert defs.get_assets_def("sales_report") is sales_report


def test_schedule_on_a_job_with_a_timezone() -> None:
    daily_refresh_job = dg.define_asset_job(
        "daily_refresh_job", selection=[customer_data, sales_report]
    )
    daily_schedule = dg.ScheduleDefinition(
        job=daily_refresh_job,
        cron_schedule="0 0 * * *",
        execution_timezone="America/New_York",
    )
    defs = dg.Definitions(assets=[customer_data, sales_report], schedules=[daily_schedule])

    schedule = defs.get_schedule_def("daily_refresh_job_schedule")
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.job_name == "daily_refresh_job"
    assert defs.get_job_def("daily_refresh_job").step_keys == ["customer_data", "sales_report"]


def test_schedule_with_a_malformed_cron_is_rejected() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="cron_schedule 'every day'"):
        dg.ScheduleDefinition(name="broken", cron_schedule="every day", target=[customer_data])


def test_unknown_schedule_name_lists_the_known_ones() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="Schedules: daily_refresh"):
        defs.get_schedule_def("nightly")


def test_partitioned_asset_job_takes_the_partitions_of_its_assets() -> None:
    defs = dg.Definitions(assets=[daily_asset], jobs=[partitioned_asset_job])

    job = defs.get_job_def("partitioned_job")
    assert job.partitions_def == daily_partition
    assert job.step_keys == ["daily_asset"]


def test_schedule_function_for_a_partitioned_job_is_declared() -> None:
    defs = dg.Definitions(assets=[daily_sales_data], schedules=[daily_sales_schedule])

    schedule = defs.get_schedule_def("daily_sales_schedule")
    assert schedule.cron_schedule == "0 1 * * *"
    assert schedule.job_name == "daily_sales_job"
    assert schedule.execution_fn is daily_sales_schedule.execution_fn
    assert defs.get_job_def("daily_sales_job").partitions_def == daily_sales_partitions


# -- declarative automation -----------------------------------------------------------------


def test_on_cron_condition_is_declared_on_the_asset() -> None:
    condition = hourly_asset.specs[0].automation_condition

    assert condition == dg.AutomationCondition.on_cron("@hourly")
    assert condition.cron_schedule == "@hourly"
    assert [d.asset_key for d in hourly_asset.specs[0].deps] == [dg.AssetKey("upstream")]


def test_eager_condition_is_declared_on_the_asset() -> None:
    assert eager_asset.specs[0].automation_condition == dg.AutomationCondition.eager()
    assert eager_asset.specs[0].automation_condition != dg.AutomationCondition.on_missing()


def test_on_missing_condition_is_declared_on_a_partitioned_asset() -> None:
    spec = downstream.specs[0]

    assert spec.automation_condition == dg.AutomationCondition.on_missing()
    assert spec.partitions_def == dg.DailyPartitionsDefinition("2025-01-01")
    assert [d.asset_key for d in spec.deps] == [dg.AssetKey("upstream")]


def test_conditions_survive_loading_into_definitions() -> None:
    defs = dg.Definitions(assets=[upstream, hourly_asset, eager_asset, downstream])

    conditions = {
        name: defs.get_assets_def(name).specs[0].automation_condition
        for name in ("upstream", "hourly_asset", "eager_asset", "downstream")
    }
    assert conditions == {
        "upstream": None,
        "hourly_asset": dg.AutomationCondition.on_cron("@hourly"),
        "eager_asset": dg.AutomationCondition.eager(),
        "downstream": dg.AutomationCondition.on_missing(),
    }


# -- sensors ----------------------------------------------------------------------------------


def test_sensor_is_declared_on_its_job() -> None:
    defs = dg.Definitions(assets=[customer_data], sensors=[my_sensor])

    sensor = defs.get_sensor_def("my_sensor")
    assert sensor is my_sensor
    assert sensor.job_name == "my_job"
    assert sensor.default_status is dg.DefaultSensorStatus.STOPPED
    assert defs.get_job_def("my_job").step_keys == ["customer_data"]


def test_sensor_for_dynamic_partitions_is_declared_on_its_partitioned_job() -> None:
    defs = dg.Definitions(assets=[regional_sales_data], sensors=[all_regions_sensor])

    assert defs.get_sensor_def("all_regions_sensor").job_name == "regional_sales_job"
    job = defs.get_job_def("regional_sales_job")
    assert job.partitions_def == dg.DynamicPartitionsDefinition(name="regions")


def test_unknown_sensor_name_is_an_error() -> None:
    defs = dg.Definitions(assets=[customer_data], sensors=[my_sensor])

    with pytest.raises(dg.InvalidDefinitionError, match="Sensors: my_sensor"):
        defs.get_sensor_def("other_sensor")
