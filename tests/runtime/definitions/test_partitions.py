"""Partitions definitions: keys, windows and checks, matching the reference.

Expected values around daylight-saving transitions were read from the reference's own
definitions (same arguments, same `current_time`)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import kubedag as dg
from kubedag.clock.cron import cron_ticks
from kubedag.definitions.partitions.ticks import CronTicks, tick_source

NY = "America/New_York"
BERLIN = "Europe/Berlin"


def at(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def window(partitions_def: dg.TimeWindowPartitionsDefinition, key: str) -> tuple[str, str]:
    start, end = partitions_def.time_window_for_partition_key(key)
    return start.isoformat(), end.isoformat()


# -- complete windows, offsets -------------------------------------------------------------------


def test_only_complete_windows_exist() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")
    assert daily.get_partition_keys(current_time=at("UTC", 2024, 1, 4, 12)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    assert daily.get_partition_keys(current_time=at("UTC", 2024, 1, 1, 23, 59)) == []
    assert daily.get_last_partition_key(current_time=at("UTC", 2024, 1, 4)) == "2024-01-03"
    assert not daily.has_partition_key("2024-01-04", current_time=at("UTC", 2024, 1, 4, 12))


@pytest.mark.parametrize(
    ("end_offset", "last"),
    [(0, "2024-01-03"), (1, "2024-01-04"), (2, "2024-01-05"), (-1, "2024-01-02")],
)
def test_end_offset_moves_the_last_partition(end_offset: int, last: str) -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=end_offset)
    keys = daily.get_partition_keys(current_time=at("UTC", 2024, 1, 4, 12))
    assert keys[0] == "2024-01-01"
    assert keys[-1] == last


def test_end_date_bounds_the_partitions() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")
    assert daily.get_partition_keys(current_time=at("UTC", 2025, 1, 1)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]


def test_hour_and_minute_offsets() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=6, minute_offset=30)
    assert daily.cron_schedule == "30 6 * * *"
    assert window(daily, "2024-01-02") == (
        "2024-01-02T06:30:00+00:00",
        "2024-01-03T06:30:00+00:00",
    )
    hourly = dg.HourlyPartitionsDefinition(start_date="2024-01-01-00:00", minute_offset=15)
    assert hourly.get_partition_keys(current_time=at("UTC", 2024, 1, 1, 3)) == [
        "2024-01-01-00:15",
        "2024-01-01-01:15",
    ]


def test_weekly_and_monthly_start_at_their_first_tick() -> None:
    weekly = dg.WeeklyPartitionsDefinition(start_date="2024-01-03")
    assert weekly.get_partition_keys(current_time=at("UTC", 2024, 2, 1)) == [
        "2024-01-07",
        "2024-01-14",
        "2024-01-21",
    ]
    monthly = dg.MonthlyPartitionsDefinition(start_date="2024-01-03")
    assert monthly.get_partition_keys(current_time=at("UTC", 2024, 5, 1)) == [
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    monday = dg.WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1)
    assert window(monday, "2024-01-01") == (
        "2024-01-01T00:00:00+00:00",
        "2024-01-08T00:00:00+00:00",
    )


def test_exclusions_remove_windows_by_cron_and_by_datetime() -> None:
    weekdays = dg.DailyPartitionsDefinition(
        start_date="2024-01-01", exclusions=["0 0 * * 6,0", datetime(2024, 1, 3)]
    )
    keys = weekdays.get_partition_keys(current_time=at("UTC", 2024, 1, 14, 12))
    assert keys == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
    ]
    assert not weekdays.has_partition_key("2024-01-06")
    # A key inside an excluded stretch names the next window that exists, as in the reference.
    assert window(weekdays, "2024-01-06")[0] == "2024-01-08T00:00:00+00:00"


def test_a_cron_schedule_of_weekdays() -> None:
    weekdays = dg.TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * 1-5"
    )
    keys = weekdays.get_partition_keys(current_time=at("UTC", 2024, 1, 14))
    assert keys == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
    ]
    # Friday's window runs to Monday.
    assert window(weekdays, "2024-01-05") == (
        "2024-01-05T00:00:00+00:00",
        "2024-01-08T00:00:00+00:00",
    )


# -- daylight saving -----------------------------------------------------------------------------


def test_daily_windows_are_23_and_25_hours_long_on_transition_days() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-03-01", timezone=NY)
    assert window(daily, "2024-03-10") == ("2024-03-10T00:00:00-05:00", "2024-03-11T00:00:00-04:00")
    assert window(daily, "2024-11-03") == ("2024-11-03T00:00:00-04:00", "2024-11-04T00:00:00-05:00")
    berlin = dg.DailyPartitionsDefinition(start_date="2024-03-01", timezone=BERLIN)
    assert window(berlin, "2024-03-31") == (
        "2024-03-31T00:00:00+01:00",
        "2024-04-01T00:00:00+02:00",
    )
    assert window(berlin, "2024-10-27") == (
        "2024-10-27T00:00:00+02:00",
        "2024-10-28T00:00:00+01:00",
    )


def test_daily_at_a_time_that_does_not_exist_starts_when_the_clock_jumps() -> None:
    daily = dg.DailyPartitionsDefinition(
        start_date="2024-03-08", timezone=NY, hour_offset=2, minute_offset=30
    )
    keys = daily.get_partition_keys(current_time=at(NY, 2024, 3, 12, 3))
    assert keys == ["2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11"]
    assert window(daily, "2024-03-09") == ("2024-03-09T02:30:00-05:00", "2024-03-10T03:00:00-04:00")
    assert window(daily, "2024-03-10") == ("2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00")


def test_hourly_keys_on_the_fall_back_day_name_the_repeated_hour_twice() -> None:
    hourly = dg.HourlyPartitionsDefinition(start_date="2024-11-03-00:00", timezone=NY)
    keys = hourly.get_partition_keys(current_time=at("UTC", 2024, 11, 3, 9, 30))  # 04:30 EST
    assert keys == [
        "2024-11-03-00:00",
        "2024-11-03-01:00",
        "2024-11-03-01:00-0500",
        "2024-11-03-02:00",
        "2024-11-03-03:00",
    ]
    assert window(hourly, "2024-11-03-01:00") == (
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
    )
    assert window(hourly, "2024-11-03-01:00-0500") == (
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    )
    assert hourly.has_partition_key("2024-11-03-01:00-0500", current_time=at("UTC", 2024, 11, 4))


def test_hourly_keys_on_the_spring_forward_day_skip_the_missing_hour() -> None:
    for zone, day, missing in ((NY, 10, "02:00"), (BERLIN, 31, "02:00")):
        hourly = dg.HourlyPartitionsDefinition(start_date=f"2024-03-{day}-00:00", timezone=zone)
        keys = hourly.get_partition_keys(current_time=at(zone, 2024, 3, day, 5))
        assert keys == [
            f"2024-03-{day}-00:00",
            f"2024-03-{day}-01:00",
            f"2024-03-{day}-03:00",
            f"2024-03-{day}-04:00",
        ]
        assert f"2024-03-{day}-{missing}" not in keys


def test_berlin_fall_back_hourly() -> None:
    hourly = dg.HourlyPartitionsDefinition(start_date="2024-10-27-01:00", timezone=BERLIN)
    keys = hourly.get_partition_keys(current_time=at("UTC", 2024, 10, 27, 3))
    assert keys == [
        "2024-10-27-01:00",
        "2024-10-27-02:00",
        "2024-10-27-02:00+0100",
        "2024-10-27-03:00",
    ]


# -- 100,000 keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", NY])
def test_100000_hourly_keys_are_the_cron_ticks(zone: str) -> None:
    hourly = dg.HourlyPartitionsDefinition(start_date="2010-01-01-00:00", timezone=zone)
    start = hourly.start
    now = start.astimezone(UTC) + timedelta(hours=100_000)  # elapsed time, not wall-clock
    keys = hourly.get_partition_keys(current_time=now)
    assert len(keys) == 100_000  # hourly windows are one hour long, daylight saving or not
    for index in (0, 1, 7_000, 55_555, 99_999):
        moment = start.astimezone(UTC) + timedelta(hours=index)
        tick = next(cron_ticks("0 * * * *", zone, moment, inclusive=True))
        assert keys[index] == hourly.format_key(tick)
    assert len(set(keys)) == len(keys)
    assert hourly.get_partition_keys(current_time=now) == keys  # cached: the same list again


FAST_CASES = [
    (zone, cron, start)
    for zone, starts in (
        (NY, ((2024, 3, 9), (2024, 11, 2))),
        (BERLIN, ((2024, 3, 30), (2024, 10, 26))),
        ("Australia/Sydney", ((2024, 4, 6), (2024, 10, 5))),
        ("Asia/Kolkata", ((2024, 1, 1),)),
        ("Australia/Lord_Howe", ((2024, 4, 6),)),
    )
    for start in starts
    for cron in (
        "0 * * * *",
        "30 * * * *",
        "*/15 * * * *",
        "0 0 * * *",
        "30 2 * * *",
        "0 3 * * 0",
        "15 1 5 * *",
    )
]


@pytest.mark.parametrize(("zone", "cron", "start"), FAST_CASES)
def test_fast_tick_sources_agree_with_cron(
    zone: str, cron: str, start: tuple[int, int, int]
) -> None:
    moment = at(zone, *start).timestamp()
    fast = list(itertools.islice(tick_source(cron, zone).ascending(moment, True), 60))
    slow = list(itertools.islice(CronTicks(cron, zone).ascending(moment, True), 60))
    assert [t.isoformat() for t in fast] == [t.isoformat() for t in slow]
    before = fast[-1].timestamp()
    fast_back = list(itertools.islice(tick_source(cron, zone).descending(before, False), 59))
    slow_back = list(itertools.islice(CronTicks(cron, zone).descending(before, False), 59))
    assert [t.isoformat() for t in fast_back] == [t.isoformat() for t in slow_back]


# -- key checks and ranges ---------------------------------------------------------------------


def test_keys_in_a_range_and_errors_that_name_the_key() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")
    assert daily.get_partition_keys_in_range(dg.PartitionKeyRange("2024-01-02", "2024-01-04")) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    with pytest.raises(dg.UnknownPartitionError, match="'2023-12-01' is before the first"):
        daily.get_partition_keys_in_range(dg.PartitionKeyRange("2023-12-01", "2024-01-04"))
    assert not daily.has_partition_key("01/02/2024")
    with pytest.raises(dg.UnknownPartitionError, match="key format '%Y-%m-%d'"):
        daily.time_window_for_partition_key("01/02/2024")


def test_a_format_coarser_than_the_cron_is_refused() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="same key to two windows"):
        dg.TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 * * * *"
        )


def test_invalid_cron_and_timezone_name_the_field() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="cron_schedule '0 0 \\* \\*'"):
        dg.TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * *"
        )
    with pytest.raises(dg.InvalidDefinitionError, match="timezone 'Mars/Base'"):
        dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="Mars/Base")
    with pytest.raises(dg.InvalidDefinitionError, match="start: cannot read 'yesterday'"):
        dg.DailyPartitionsDefinition(start_date="yesterday")


def test_cadence_properties_and_schedule_crons() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=1)
    assert daily.schedule_type is dg.ScheduleType.DAILY
    assert (daily.minute_offset, daily.hour_offset) == (0, 1)
    assert daily.get_cron_schedule(hour_of_day=3) == "0 3 * * *"
    monthly = dg.MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=5)
    assert monthly.day_offset == 5
    assert str(daily) == "Daily, starting 2024-01-01 UTC."


# -- static, dynamic, multi ----------------------------------------------------------------------


def test_static_partitions() -> None:
    regions = dg.StaticPartitionsDefinition(["us", "eu", "jp"])
    assert regions.get_partition_keys() == ["us", "eu", "jp"]
    assert regions.get_partition_keys_in_range(dg.PartitionKeyRange("eu", "jp")) == ["eu", "jp"]
    with pytest.raises(dg.InvalidDefinitionError, match="'us' appears twice"):
        dg.StaticPartitionsDefinition(["us", "us"])
    with pytest.raises(dg.InvalidDefinitionError, match="reserved"):
        dg.StaticPartitionsDefinition(["a...b"])
    with pytest.raises(dg.UnknownPartitionError, match="'mx' is not a partition"):
        regions.get_partition_keys_in_range(dg.PartitionKeyRange("us", "mx"))


def test_dynamic_partitions_live_in_the_instance() -> None:
    files = dg.DynamicPartitionsDefinition(name="files")
    with dg.Instance.ephemeral() as instance:
        instance.add_dynamic_partitions("files", ["a.csv", "b.csv"])
        assert files.get_partition_keys(dynamic_partitions_store=instance) == ["a.csv", "b.csv"]
        assert files.has_partition_key("a.csv", dynamic_partitions_store=instance)
        instance.delete_dynamic_partition("files", "a.csv")
        assert not files.has_partition_key("a.csv", dynamic_partitions_store=instance)
    with pytest.raises(dg.InvalidDefinitionError, match="dynamic_partitions_store=instance"):
        files.get_partition_keys()
    request = files.build_add_request(["c.csv"])
    assert isinstance(request, dg.AddDynamicPartitionsRequest)
    assert (request.partitions_def_name, list(request.partition_keys)) == ("files", ["c.csv"])
    delete = files.build_delete_request(["c.csv"])
    assert isinstance(delete, dg.DeleteDynamicPartitionsRequest)


def test_multi_partitions_cross_product_ordered_by_dimension_name() -> None:
    multi = dg.MultiPartitionsDefinition(
        {
            "region": dg.StaticPartitionsDefinition(["us", "eu"]),
            "date": dg.DailyPartitionsDefinition(start_date="2024-01-01"),
        }
    )
    keys = multi.get_partition_keys(current_time=at("UTC", 2024, 1, 3))
    assert keys == ["2024-01-01|us", "2024-01-01|eu", "2024-01-02|us", "2024-01-02|eu"]
    key = keys[1]
    assert isinstance(key, dg.MultiPartitionKey)
    assert key.keys_by_dimension == {"date": "2024-01-01", "region": "eu"}
    assert dg.MultiPartitionKey({"region": "eu", "date": "2024-01-01"}) == "2024-01-01|eu"
    assert multi.has_partition_key("2024-01-02|us", current_time=at("UTC", 2024, 1, 3))
    assert not multi.has_partition_key("2024-01-02|mx", current_time=at("UTC", 2024, 1, 3))
    with pytest.raises(dg.InvalidDefinitionError, match="exactly two dimensions"):
        dg.MultiPartitionsDefinition({"a": dg.StaticPartitionsDefinition(["x"])})


def test_current_time_default_is_now() -> None:
    daily = dg.DailyPartitionsDefinition(start_date=datetime.now(UTC) - timedelta(days=3))
    assert len(daily.get_partition_keys()) in (2, 3)
