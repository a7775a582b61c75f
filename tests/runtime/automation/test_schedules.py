"""Schedules: what a tick asks for, when ticks happen (across DST), missed ticks after downtime,
partitioned schedules and their catch-up, and exactly-once runs when the daemon crashes
mid-tick. The scheduler is driven one iteration at a time with an explicit `now`."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

import kubedag as dg
from kubedag.automation import instigators
from kubedag.automation.instigators import run_schedules, selector_id, set_running
from kubedag.automation.schedules import due_ticks, max_catchup_ticks
from kubedag.storage.records import InstigatorType, TickStatus
from tests.runtime.automation.conftest import Opener, location, utc

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


@dg.asset
def customer_data() -> None: ...


@dg.asset
def sales_report() -> None: ...


hourly_partitions = dg.HourlyPartitionsDefinition(start_date="2024-01-01-00:00")


@dg.asset(partitions_def=hourly_partitions)
def hourly_events() -> None: ...


hourly_job = dg.define_asset_job("hourly_job", selection=[hourly_events])


def start(instance: dg.Instance, name: str, at: datetime.datetime) -> None:
    set_running(instance, "loc", name, InstigatorType.SCHEDULE, True, now=at.timestamp())


def drive(
    instance: dg.Instance,
    defs: dg.Definitions,
    begin: datetime.datetime,
    end: datetime.datetime,
    step: datetime.timedelta,
) -> None:
    """Run the scheduler at every `step` of real time from `begin` to `end`, as a daemon would
    (stepping in UTC: wall-clock arithmetic in a zone would skip a repeated hour)."""
    loc = location(defs)
    moment = begin.astimezone(datetime.UTC)
    while moment <= end:
        run_schedules(instance, [loc], now=moment)
        moment += step


def tick_times(instance: dg.Instance, name: str, zone: ZoneInfo) -> list[str]:
    ticks = instance.get_ticks(selector_id("loc", name))
    return sorted(
        datetime.datetime.fromtimestamp(t.timestamp, zone).isoformat()
        for t in ticks
        if t.status is TickStatus.SUCCESS
    )


# -- what a tick asks for (the reference's examples) -------------------------------------------
def test_a_plain_schedule_requests_one_run_with_its_config_and_tags() -> None:
    daily_schedule = dg.ScheduleDefinition(
        name="daily_refresh",
        cron_schedule="0 0 * * *",  # midnight daily
        target=[customer_data, sales_report],
        run_config={"ops": {}},
        tags={"team": "sales"},
    )
    result = daily_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime.datetime(2024, 6, 1))
    )

    assert result.skip_message is None
    [request] = result.run_requests
    assert request.run_config == {"ops": {}}
    assert request.tags == {"team": "sales", "kubedag/schedule_name": "daily_refresh"}


def test_a_schedule_function_gets_the_tick_time_and_names_the_partition() -> None:
    daily_sales_job = dg.define_asset_job("daily_sales_job", selection=[customer_data])

    @dg.schedule(job=daily_sales_job, cron_schedule="0 1 * * *")
    def daily_sales_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        previous_day = context.scheduled_execution_time.date() - datetime.timedelta(days=1)  # type: ignore[union-attr]
        date = previous_day.strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=date, partition_key=date)

    context = dg.build_schedule_context(
        scheduled_execution_time=datetime.datetime(2024, 3, 10, 1, tzinfo=NY)
    )
    [request] = daily_sales_schedule.evaluate_tick(context).run_requests
    assert (request.run_key, request.partition_key) == ("2024-03-09", "2024-03-09")
    assert daily_sales_schedule(context) == dg.RunRequest(
        run_key="2024-03-09", partition_key="2024-03-09"
    )


@pytest.mark.parametrize(
    ("returned", "requests", "skip"),
    [
        (None, 0, "Schedule function returned an empty result"),
        (dg.SkipReason("holiday"), 0, "holiday"),
        ({"ops": {"a": {"config": {"n": 1}}}}, 1, None),
        ([dg.RunRequest(run_key="a"), dg.RunRequest(run_key="b")], 2, None),
    ],
)
def test_what_a_schedule_function_may_return(returned: object, requests: int, skip: str) -> None:
    @dg.schedule(job=dg.define_asset_job("j", selection=[customer_data]), cron_schedule="@daily")
    def flexible() -> object:
        return returned

    result = flexible.evaluate_tick(dg.build_schedule_context())
    assert (len(result.run_requests), result.skip_message) == (requests, skip)


def test_a_schedule_function_that_yields() -> None:
    @dg.schedule(job=dg.define_asset_job("j", selection=[customer_data]), cron_schedule="@daily")
    def regions(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        for region in ("eu", "us"):
            yield dg.RunRequest(run_key=region, tags={"region": region})

    result = regions.evaluate_tick(dg.build_schedule_context())
    assert [r.tags["region"] for r in result.run_requests] == ["eu", "us"]


def test_a_schedule_function_that_raises_or_returns_nonsense_names_the_schedule() -> None:
    job = dg.define_asset_job("j", selection=[customer_data])

    @dg.schedule(job=job, cron_schedule="@daily")
    def broken(context: dg.ScheduleEvaluationContext) -> None:
        raise KeyError("calendar")

    @dg.schedule(job=job, cron_schedule="@daily")
    def odd(context: dg.ScheduleEvaluationContext) -> int:
        return 42

    with pytest.raises(dg.KubedagError, match="schedule 'broken': its function raised KeyError"):
        broken.evaluate_tick(dg.build_schedule_context())
    with pytest.raises(dg.KubedagError, match="schedule 'odd': its function returned 42"):
        odd.evaluate_tick(dg.build_schedule_context())


def test_schedule_definitions_are_checked() -> None:
    job = dg.define_asset_job("j", selection=[customer_data])
    with pytest.raises(dg.InvalidDefinitionError, match="is not a valid cron expression"):
        dg.ScheduleDefinition(job=job, cron_schedule="61 * * * *")
    with pytest.raises(dg.InvalidDefinitionError, match="execution_timezone 'Mars/Olympus'"):
        dg.ScheduleDefinition(job=job, cron_schedule="@daily", execution_timezone="Mars/Olympus")


# -- partitioned schedules ----------------------------------------------------------------------
def partitioned_schedule(partitions_def: dg.PartitionsDefinition, **options: int) -> object:
    @dg.asset(partitions_def=partitions_def, name="events")
    def events() -> None: ...

    job = dg.define_asset_job("events_job", selection=[events])
    defs = dg.Definitions(
        assets=[events], schedules=[dg.build_schedule_from_partitioned_job(job, **options)]
    )
    return defs.get_schedule_def("events_job_schedule")


@pytest.mark.parametrize(
    ("partitions_def", "options", "cron", "zone"),
    # Every expected value is what the reference's build_schedule_from_partitioned_job gives.
    [
        (dg.DailyPartitionsDefinition("2024-05-20"), {}, "0 0 * * *", "UTC"),
        (
            dg.DailyPartitionsDefinition("2024-05-20"),
            {"hour_of_day": 3, "minute_of_hour": 15},
            "15 3 * * *",
            "UTC",
        ),
        (dg.HourlyPartitionsDefinition("2024-05-20-00:00"), {}, "0 * * * *", "UTC"),
        (
            dg.HourlyPartitionsDefinition("2024-05-20-00:00"),
            {"minute_of_hour": 5},
            "5 * * * *",
            "UTC",
        ),
        (dg.WeeklyPartitionsDefinition("2024-05-20"), {}, "0 0 * * 0", "UTC"),
        (
            dg.WeeklyPartitionsDefinition("2024-05-20"),
            {"day_of_week": 3, "hour_of_day": 2},
            "0 2 * * 3",
            "UTC",
        ),
        (dg.MonthlyPartitionsDefinition("2024-05-01"), {}, "0 0 1 * *", "UTC"),
        (dg.MonthlyPartitionsDefinition("2024-05-01"), {"day_of_month": 5}, "0 0 5 * *", "UTC"),
        (
            dg.DailyPartitionsDefinition("2024-05-20", hour_offset=2, timezone="Europe/Berlin"),
            {},
            "0 2 * * *",
            "Europe/Berlin",
        ),
    ],
)
def test_a_partitioned_schedule_ticks_once_per_window(
    partitions_def: dg.PartitionsDefinition, options: dict[str, int], cron: str, zone: str
) -> None:
    schedule = partitioned_schedule(partitions_def, **options)
    assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, zone)  # type: ignore[attr-defined]


def test_a_partitioned_schedule_requests_the_partition_that_just_completed() -> None:
    # The reference's example: a schedule built from a partitioned asset job.
    daily_partition = dg.DailyPartitionsDefinition(start_date="2024-05-20")

    @dg.asset(partitions_def=daily_partition)
    def daily_asset() -> None: ...

    partitioned_asset_job = dg.define_asset_job("partitioned_job", selection=[daily_asset])
    asset_partitioned_schedule = dg.build_schedule_from_partitioned_job(partitioned_asset_job)
    defs = dg.Definitions(assets=[daily_asset], schedules=[asset_partitioned_schedule])
    schedule = defs.get_schedule_def("partitioned_job_schedule")

    [request] = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime.datetime(2024, 6, 1))
    ).run_requests
    assert (request.run_key, request.partition_key) == ("2024-05-31", "2024-05-31")
    early = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime.datetime(2024, 5, 20))
    )
    assert early.run_requests == [] and "no partitions" in (early.skip_message or "")


def test_partitioned_schedule_options_that_do_not_fit_are_refused() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="day_of_week does not apply to daily"):
        partitioned_schedule(dg.DailyPartitionsDefinition("2024-05-20"), day_of_week=2)
    with pytest.raises(dg.InvalidDefinitionError, match="hour_of_day must be a whole number"):
        partitioned_schedule(dg.DailyPartitionsDefinition("2024-05-20"), hour_of_day=24)
    with pytest.raises(dg.InvalidDefinitionError, match="needs a job partitioned by time"):
        partitioned_schedule(dg.StaticPartitionsDefinition(["a", "b"]))


# -- tick times ----------------------------------------------------------------------------------
def test_due_ticks_walk_back_from_now() -> None:
    after = utc(2024, 1, 1)
    assert due_ticks("0 * * * *", "UTC", after, utc(2024, 1, 1, 0, 59), 5) == []
    assert due_ticks("0 * * * *", "UTC", after, utc(2024, 1, 1, 3, 0), 1) == [utc(2024, 1, 1, 3)]
    assert due_ticks("0 * * * *", "UTC", after, utc(2024, 1, 1, 3, 30), 5) == [
        utc(2024, 1, 1, 1),
        utc(2024, 1, 1, 2),
        utc(2024, 1, 1, 3),
    ]
    # A year of a minutely cron missed: still only `limit` steps.
    assert len(due_ticks("* * * * *", "UTC", after, utc(2025, 1, 1), 3)) == 3


def test_catch_up_limit_comes_from_a_schedule_tag() -> None:
    plain = dg.ScheduleDefinition(job=hourly_job, cron_schedule="0 * * * *")
    assert max_catchup_ticks(plain) == 1
    partitioned = dg.Definitions(
        assets=[hourly_events],
        schedules=[
            dg.build_schedule_from_partitioned_job(
                hourly_job, tags={"kubedag/max_catchup_ticks": "2"}
            )
        ],
    ).get_schedule_def("hourly_job_schedule")
    assert max_catchup_ticks(partitioned) == 2


@pytest.mark.parametrize(
    ("cron", "zone", "begin", "end", "expected"),
    [
        # spring forward, New York: 02:30 does not exist on 10 March; it runs once, at 03:00
        (
            "30 2 * * *",
            NY,
            datetime.datetime(2024, 3, 8, 12, tzinfo=NY),
            datetime.datetime(2024, 3, 11, 12, tzinfo=NY),
            ["2024-03-09T02:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
        ),
        # fall back, New York: 01:30 happens twice on 3 November; it runs once, the second time
        (
            "30 1 * * *",
            NY,
            datetime.datetime(2024, 11, 2, 12, tzinfo=NY),
            datetime.datetime(2024, 11, 4, 12, tzinfo=NY),
            ["2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"],
        ),
        # spring forward, Berlin: 02:30 does not exist on 31 March
        (
            "30 2 * * *",
            BERLIN,
            datetime.datetime(2024, 3, 30, 12, tzinfo=BERLIN),
            datetime.datetime(2024, 4, 1, 12, tzinfo=BERLIN),
            ["2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"],
        ),
        # fall back, Berlin: 02:00 happens twice on 27 October
        (
            "0 2 * * *",
            BERLIN,
            datetime.datetime(2024, 10, 26, 12, tzinfo=BERLIN),
            datetime.datetime(2024, 10, 28, 12, tzinfo=BERLIN),
            ["2024-10-27T02:00:00+01:00", "2024-10-28T02:00:00+01:00"],
        ),
    ],
)
def test_daily_schedules_run_once_a_day_across_daylight_saving_changes(
    sqlite_instance: dg.Instance,
    cron: str,
    zone: ZoneInfo,
    begin: datetime.datetime,
    end: datetime.datetime,
    expected: list[str],
) -> None:
    schedule = dg.ScheduleDefinition(
        name="nightly", target=[customer_data], cron_schedule=cron, execution_timezone=str(zone)
    )
    defs = dg.Definitions(schedules=[schedule])
    start(sqlite_instance, "nightly", begin)

    drive(sqlite_instance, defs, begin, end, datetime.timedelta(minutes=20))

    assert tick_times(sqlite_instance, "nightly", zone) == expected
    assert sqlite_instance.get_runs_count() == len(expected)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (NY, (2024, 3, 10), 23),
        (NY, (2024, 11, 3), 25),
        (BERLIN, (2024, 3, 31), 23),
        (BERLIN, (2024, 10, 27), 25),
    ],
)
def test_an_hourly_schedule_runs_every_absolute_hour_across_daylight_saving_changes(
    sqlite_instance: dg.Instance, zone: ZoneInfo, day: tuple[int, int, int], hours: int
) -> None:
    every_hour = dg.ScheduleDefinition(
        name="every_hour",
        target=[customer_data],
        cron_schedule="0 * * * *",
        execution_timezone=str(zone),
    )
    defs = dg.Definitions(schedules=[every_hour])
    midnight = datetime.datetime(*day, tzinfo=zone)
    next_midnight = datetime.datetime.combine(
        midnight.date() + datetime.timedelta(days=1), datetime.time(), zone
    )
    start(sqlite_instance, "every_hour", midnight - datetime.timedelta(seconds=1))

    drive(
        sqlite_instance,
        defs,
        midnight,
        next_midnight - datetime.timedelta(seconds=1),
        datetime.timedelta(minutes=10),
    )

    ticks = sqlite_instance.get_ticks(selector_id("loc", "every_hour"))
    stamps = sorted(t.timestamp for t in ticks)
    assert len(stamps) == hours == sqlite_instance.get_runs_count()
    assert all(b - a == 3600 for a, b in itertools.pairwise(stamps))


# -- downtime -----------------------------------------------------------------------------------
def test_after_downtime_a_schedule_runs_once_for_the_latest_missed_tick(
    instance: dg.Instance,
) -> None:
    schedule = dg.ScheduleDefinition(
        name="hourly", target=[customer_data], cron_schedule="0 * * * *"
    )
    defs = dg.Definitions(schedules=[schedule])
    loc = location(defs)
    start(instance, "hourly", utc(2024, 1, 1))

    assert [t.status for t in run_schedules(instance, [loc], now=utc(2024, 1, 1, 1, 0, 5))] == [
        TickStatus.SUCCESS
    ]
    # The daemon was down from 01:00 to 05:30: five ticks were missed, one runs.
    [tick] = run_schedules(instance, [loc], now=utc(2024, 1, 1, 5, 30))
    assert tick.scheduled_execution_time == utc(2024, 1, 1, 5).timestamp()
    assert run_schedules(instance, [loc], now=utc(2024, 1, 1, 5, 45)) == []
    assert instance.get_runs_count() == 2
    latest = instance.get_runs()[0]
    assert latest.tags["kubedag/schedule_name"] == "hourly"
    assert latest.asset_selection == {dg.AssetKey("customer_data")}
    assert latest.code_location == {"python_file": "/nowhere/loc.py"}
    assert latest.status is dg.RunStatus.QUEUED


def test_ticks_before_a_schedule_was_started_never_run(sqlite_instance: dg.Instance) -> None:
    schedule = dg.ScheduleDefinition(name="hourly", target=[customer_data], cron_schedule="@hourly")
    loc = location(dg.Definitions(schedules=[schedule]))
    start(sqlite_instance, "hourly", utc(2024, 1, 1, 10, 30))

    assert run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 10, 45)) == []
    set_running(sqlite_instance, "loc", "hourly", InstigatorType.SCHEDULE, False)
    assert run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 12, 5)) == []
    start(sqlite_instance, "hourly", utc(2024, 1, 1, 12, 10))
    assert run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 12, 50)) == []
    assert len(run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 13, 0))) == 1


def test_a_schedule_running_by_default_starts_when_the_daemon_first_sees_it(
    sqlite_instance: dg.Instance,
) -> None:
    schedule = dg.ScheduleDefinition(
        name="hourly",
        target=[customer_data],
        cron_schedule="@hourly",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    stopped = dg.ScheduleDefinition(name="off", target=[sales_report], cron_schedule="@hourly")
    loc = location(dg.Definitions(schedules=[schedule, stopped]))

    assert run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 9, 30)) == []
    [tick] = run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 10, 0, 1))
    assert tick.selector_id == "loc:hourly"
    state = sqlite_instance.get_instigator_state("loc:hourly")
    assert state is not None and state.status is dg.InstigatorStatus.DECLARED_IN_CODE
    assert sqlite_instance.get_instigator_state("loc:off") is None


def test_a_partitioned_schedule_catches_up_missed_partitions_up_to_its_limit(
    instance: dg.Instance,
) -> None:
    defs = dg.Definitions(
        assets=[hourly_events],
        schedules=[
            dg.build_schedule_from_partitioned_job(hourly_job, name="default_limit"),
            dg.build_schedule_from_partitioned_job(
                hourly_job, name="limit_2", tags={"kubedag/max_catchup_ticks": "2"}
            ),
        ],
    )
    loc = location(defs)
    for name in ("default_limit", "limit_2"):
        start(instance, name, utc(2024, 3, 1))

    run_schedules(instance, [loc], now=utc(2024, 3, 1, 9, 30))

    def partitions(schedule_name: str) -> list[str]:
        runs = instance.get_runs(dg.RunsFilter(tags={"kubedag/schedule_name": schedule_name}))
        return sorted(str(r.partition) for r in runs)

    assert partitions("default_limit") == [f"2024-03-01-0{h}:00" for h in range(4, 9)]
    assert partitions("limit_2") == ["2024-03-01-07:00", "2024-03-01-08:00"]
    # Nothing is evaluated twice.
    run_schedules(instance, [loc], now=utc(2024, 3, 1, 9, 40))
    assert instance.get_runs_count() == 7


# -- failures ------------------------------------------------------------------------------------
def test_a_failing_schedule_records_a_failed_tick_and_does_not_stop_the_others(
    sqlite_instance: dg.Instance,
) -> None:
    job = dg.define_asset_job("j", selection=[customer_data])

    @dg.schedule(job=job, cron_schedule="@hourly")
    def broken(context: dg.ScheduleEvaluationContext) -> None:
        raise RuntimeError("calendar service down")

    @dg.schedule(job=job, cron_schedule="@hourly")
    def bad_config(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_config={"ops": {"nope": {}}})

    healthy = dg.ScheduleDefinition(name="healthy", job=job, cron_schedule="@hourly")
    loc = location(dg.Definitions(assets=[customer_data], schedules=[broken, bad_config, healthy]))
    for name in ("broken", "bad_config", "healthy"):
        start(sqlite_instance, name, utc(2024, 1, 1))

    ticks = {
        t.selector_id: t for t in run_schedules(sqlite_instance, [loc], now=utc(2024, 1, 1, 1))
    }

    assert ticks["loc:healthy"].status is TickStatus.SUCCESS
    failed = ticks["loc:broken"]
    assert failed.status is TickStatus.FAILURE and failed.error is not None
    assert "calendar service down" in failed.error.to_string()
    assert ticks["loc:bad_config"].status is TickStatus.FAILURE
    assert "ops.nope" in ticks["loc:bad_config"].error.message  # type: ignore[union-attr]
    assert sqlite_instance.get_runs_count() == 1


@pytest.mark.parametrize("where", ["_finish_tick", "_submit"])
def test_a_crash_between_creating_the_run_and_finishing_the_tick_makes_no_duplicate(
    open_any: Opener, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    schedule = dg.ScheduleDefinition(name="hourly", target=[customer_data], cron_schedule="@hourly")
    defs = dg.Definitions(schedules=[schedule])
    instance = open_any()
    start(instance, "hourly", utc(2024, 1, 1))
    original = getattr(instigators, where)

    def crash(*args: object, **kwargs: object) -> object:
        raise SystemExit("the daemon was killed")

    monkeypatch.setattr(instigators, where, crash)
    with pytest.raises(SystemExit):
        run_schedules(instance, [location(defs)], now=utc(2024, 1, 1, 1, 0, 5))
    [created] = instance.get_runs()
    assert created.status is dg.RunStatus.NOT_STARTED if where == "_submit" else dg.RunStatus.QUEUED

    # A new daemon (a new instance object, freshly loaded code) takes over.
    monkeypatch.setattr(instigators, where, original)
    restarted = open_any()
    [tick] = run_schedules(restarted, [location(defs)], now=utc(2024, 1, 1, 1, 0, 30))

    assert tick.status is TickStatus.SUCCESS and tick.run_ids == (created.run_id,)
    [run] = restarted.get_runs()
    assert run.run_id == created.run_id and run.status is dg.RunStatus.QUEUED
    assert [t.status for t in restarted.get_ticks("loc:hourly")] == [TickStatus.SUCCESS]
    assert run_schedules(restarted, [location(defs)], now=utc(2024, 1, 1, 1, 30)) == []
