"""Cron ticks in time zones with daylight saving, matching the reference's schedules.

Every expected value below was read from the reference's own schedule iterator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest

from kubedag.clock.cron import check_cron, cron_ticks, is_hourly_cron, next_tick, previous_tick

NY = "America/New_York"
BERLIN = "Europe/Berlin"
SYDNEY = "Australia/Sydney"


def at(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def iso(ticks: object) -> list[str]:
    return [tick.isoformat() for tick in ticks]  # type: ignore[attr-defined]


def first(cron: str | list[str], zone: str, start: datetime, count: int) -> list[str]:
    return iso(islice(cron_ticks(cron, zone, start), count))


# --- daily -----------------------------------------------------------------------------------


def test_daily_time_that_does_not_exist_fires_once_when_the_clock_jumps() -> None:
    assert first("30 2 * * *", NY, at(NY, 2024, 3, 9), 3) == [
        "2024-03-09T02:30:00-05:00",
        "2024-03-10T03:00:00-04:00",
        "2024-03-11T02:30:00-04:00",
    ]
    assert first("30 2 * * *", BERLIN, at(BERLIN, 2024, 3, 30), 3) == [
        "2024-03-30T02:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
    ]


def test_daily_time_that_happens_twice_fires_once_at_its_second_occurrence() -> None:
    assert first("30 1 * * *", NY, at(NY, 2024, 11, 2), 3) == [
        "2024-11-02T01:30:00-04:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-04T01:30:00-05:00",
    ]
    assert first("0 2 * * *", BERLIN, at(BERLIN, 2024, 10, 26, 12), 2) == [
        "2024-10-27T02:00:00+01:00",
        "2024-10-28T02:00:00+01:00",
    ]


def hours_between(ticks: list[datetime]) -> list[float]:
    # Aware datetimes of one tzinfo subtract as wall clocks; UTC gives elapsed time.
    return [
        (b.astimezone(UTC) - a.astimezone(UTC)) / timedelta(hours=1) for a, b in pairwise(ticks)
    ]


def test_daily_midnight_is_24_or_23_or_25_hours_apart_around_transitions() -> None:
    ticks = list(
        cron_ticks("0 0 * * *", NY, at(NY, 2024, 3, 9), at(NY, 2024, 3, 12), inclusive=True)
    )
    assert hours_between(ticks) == [24, 23]
    ticks = list(
        cron_ticks("0 0 * * *", NY, at(NY, 2024, 11, 2), at(NY, 2024, 11, 5), inclusive=True)
    )
    assert hours_between(ticks) == [24, 25]


def test_sydney_transitions_follow_the_same_rules() -> None:
    # Sydney goes back on the first Sunday of April, forward on the first Sunday of October.
    assert first("30 2 * * *", SYDNEY, at(SYDNEY, 2024, 4, 6, 20), 1) == [
        "2024-04-07T02:30:00+10:00"
    ]
    assert first("30 2 * * *", SYDNEY, at(SYDNEY, 2024, 10, 5, 20), 1) == [
        "2024-10-06T03:00:00+11:00"
    ]


# --- hourly ----------------------------------------------------------------------------------


def test_hourly_never_skips_or_doubles_an_absolute_hour() -> None:
    fall_back = list(
        cron_ticks("0 * * * *", NY, at(NY, 2024, 11, 3), at(NY, 2024, 11, 4), inclusive=True)
    )
    assert len(fall_back) == 25
    assert iso(fall_back[:4]) == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]
    spring = list(
        cron_ticks("0 * * * *", NY, at(NY, 2024, 3, 10), at(NY, 2024, 3, 11), inclusive=True)
    )
    assert len(spring) == 23
    assert iso(spring[1:3]) == ["2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00"]
    for ticks in (fall_back, spring):
        assert set(hours_between(ticks)) == {1.0}


def test_several_minutes_an_hour_interleave_both_occurrences_of_the_repeated_hour() -> None:
    assert first("*/30 * * * *", NY, at(NY, 2024, 11, 3, 0, 15), 7) == [
        "2024-11-03T00:30:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:30:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-03T02:00:00-05:00",
        "2024-11-03T02:30:00-05:00",
    ]


def test_every_two_hours_is_not_hourly() -> None:
    assert not is_hourly_cron("0 */2 * * *")
    assert is_hourly_cron("15 * * * *")
    assert first("0 */2 * * *", NY, at(NY, 2024, 11, 2, 23), 3) == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T02:00:00-05:00",
        "2024-11-03T04:00:00-05:00",
    ]


# --- weekly, monthly, lists --------------------------------------------------------------------


def test_weekly_on_transition_sunday() -> None:
    assert first("0 2 * * 0", NY, at(NY, 2024, 3, 3, 12), 2) == [
        "2024-03-10T03:00:00-04:00",
        "2024-03-17T02:00:00-04:00",
    ]
    assert first("30 1 * * sun", NY, at(NY, 2024, 10, 28), 2) == [
        "2024-11-03T01:30:00-05:00",
        "2024-11-10T01:30:00-05:00",
    ]


def test_monthly() -> None:
    assert first("0 0 1 * *", BERLIN, at(BERLIN, 2024, 1, 15), 3) == [
        "2024-02-01T00:00:00+01:00",
        "2024-03-01T00:00:00+01:00",
        "2024-04-01T00:00:00+02:00",
    ]
    assert first("0 2 31 3 *", BERLIN, at(BERLIN, 2024, 1, 1), 1) == ["2024-03-31T03:00:00+02:00"]


def test_a_list_of_crons_is_the_union_without_duplicates() -> None:
    ticks = first(["0 9 * * 1-5", "0 9 * * *", "30 17 * * 5"], NY, at(NY, 2024, 3, 8), 4)
    assert ticks == [
        "2024-03-08T09:00:00-05:00",
        "2024-03-08T17:30:00-05:00",
        "2024-03-09T09:00:00-05:00",
        "2024-03-10T09:00:00-04:00",
    ]


# --- bounds, next and previous -----------------------------------------------------------------


def test_start_is_exclusive_unless_inclusive_and_end_is_exclusive() -> None:
    start, end = at("UTC", 2024, 1, 1), at("UTC", 2024, 1, 1, 3)
    assert len(list(cron_ticks("0 * * * *", "UTC", start, end))) == 2
    assert len(list(cron_ticks("0 * * * *", "UTC", start, end, inclusive=True))) == 3


def test_ticks_are_in_the_schedule_timezone_whatever_the_start_timezone() -> None:
    tick = next_tick("0 0 * * *", NY, at("UTC", 2024, 6, 1, 12))
    assert tick.isoformat() == "2024-06-02T00:00:00-04:00"
    assert str(tick.tzinfo) == NY


def test_next_and_previous_tick() -> None:
    assert next_tick("30 1 * * *", NY, at(NY, 2024, 11, 3, 1, 30)).isoformat() == (
        "2024-11-03T01:30:00-05:00"
    )
    before = at(NY, 2024, 11, 3, 12)
    assert iso([previous_tick("30 1 * * *", NY, before)]) == ["2024-11-03T01:30:00-05:00"]
    assert iso([previous_tick("30 2 * * *", NY, at(NY, 2024, 3, 10, 12))]) == [
        "2024-03-10T03:00:00-04:00"
    ]
    # Strictly before: a tick at `before` itself is not returned.
    assert iso([previous_tick("0 0 * * *", "UTC", at("UTC", 2024, 1, 2))]) == [
        "2024-01-01T00:00:00+00:00"
    ]
    assert iso([previous_tick(["0 0 * * *", "0 12 * * *"], "UTC", at("UTC", 2024, 1, 2))]) == [
        "2024-01-01T12:00:00+00:00"
    ]


def test_previous_tick_in_the_repeated_hour_of_an_hourly_cron() -> None:
    second_one = datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo(NY), fold=1)
    assert iso([previous_tick("0 * * * *", NY, second_one)]) == ["2024-11-03T01:00:00-05:00"]
    first_one = datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo(NY), fold=0)
    assert iso([previous_tick("0 * * * *", NY, first_one)]) == ["2024-11-03T01:00:00-04:00"]


def test_previous_and_next_agree_over_a_year_of_daily_ticks() -> None:
    ticks = list(cron_ticks("30 2 * * *", BERLIN, at(BERLIN, 2024, 1, 1), at(BERLIN, 2025, 1, 1)))
    assert len(ticks) == 366
    for earlier, later in pairwise(ticks):
        assert previous_tick("30 2 * * *", BERLIN, later) == earlier


def test_aliases() -> None:
    assert first("@daily", "UTC", at("UTC", 2024, 1, 1), 1) == ["2024-01-02T00:00:00+00:00"]
    assert first("@hourly", "UTC", at("UTC", 2024, 1, 1), 1) == ["2024-01-01T01:00:00+00:00"]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("0 0 * *", "has 4 fields"),
        ("0 0 0 * * *", "has 6 fields"),
        ("61 * * * *", "not a valid cron expression"),
        ("0 0 30 2 *", "February 30"),
        ("every day at noon ok", "not a valid cron expression"),
    ],
)
def test_check_cron_names_the_problem_and_gives_an_example(expression: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as info:
        check_cron(expression)
    assert "for example '0 6 * * 1-5'" in str(info.value)


def test_valid_expressions_pass() -> None:
    for expression in ("0 6 * * 1-5", "*/5 * * * *", "0 0 L * *", "0 9 * JAN-MAR MON#1", "@weekly"):
        check_cron(expression)


def test_naive_start_and_unknown_timezone_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        next_tick("0 0 * * *", "UTC", datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="IANA time zone"):
        next_tick("0 0 * * *", "Mars/Olympus", at("UTC", 2024, 1, 1))
    with pytest.raises(ValueError, match="empty list"):
        next_tick([], "UTC", at("UTC", 2024, 1, 1))
