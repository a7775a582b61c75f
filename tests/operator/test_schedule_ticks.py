"""Which ticks of a Schedule get a Run: pure decisions (`kubedag_operator.schedule_ticks`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubedag_operator.schedule_ticks import (
    InvalidScheduleError,
    PartitionSelectionError,
    ScheduleRunInfo,
    TickPolicy,
    decide_ticks,
    latest_complete_partition,
    run_name,
    runs_to_delete,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


HOURLY = TickPolicy(cron=("0 * * * *",))


def stamps(ticks: list[datetime]) -> list[str]:
    return [tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for tick in ticks]


def test_a_due_tick_gets_a_run_and_the_next_one_is_announced() -> None:
    decision = decide_ticks(HOURLY, cursor=utc("2026-01-01T10:30"), now=utc("2026-01-01T11:00:05"))
    assert stamps(decision.create) == ["2026-01-01T11:00"]
    assert decision.cursor == utc("2026-01-01T11:00")
    assert decision.next_schedule_time == utc("2026-01-01T12:00")


def test_nothing_is_due_between_ticks() -> None:
    decision = decide_ticks(HOURLY, cursor=utc("2026-01-01T11:00"), now=utc("2026-01-01T11:59"))
    assert decision.create == [] and decision.cursor == utc("2026-01-01T11:00")


def test_after_downtime_only_the_latest_missed_tick_runs() -> None:
    decision = decide_ticks(HOURLY, cursor=utc("2026-01-01T07:00"), now=utc("2026-01-01T11:30"))
    assert stamps(decision.create) == ["2026-01-01T11:00"]
    assert decision.cursor == utc("2026-01-01T11:00")


def test_partition_catch_up_runs_the_most_recent_missed_ticks_oldest_first() -> None:
    policy = TickPolicy(cron=("0 * * * *",), max_catchup_ticks=3)
    decision = decide_ticks(policy, cursor=utc("2026-01-01T07:00"), now=utc("2026-01-01T11:30"))
    assert stamps(decision.create) == ["2026-01-01T09:00", "2026-01-01T10:00", "2026-01-01T11:00"]


def test_a_tick_later_than_the_starting_deadline_is_skipped() -> None:
    policy = TickPolicy(cron=("0 * * * *",), starting_deadline_seconds=600)
    late = decide_ticks(policy, cursor=utc("2026-01-01T10:30"), now=utc("2026-01-01T11:20"))
    assert late.create == []
    assert [(stamps([t])[0], why) for t, why in late.skipped] == [
        ("2026-01-01T11:00", "StartingDeadlineExceeded")
    ]
    assert late.cursor == utc("2026-01-01T11:00")  # never comes back
    in_time = decide_ticks(policy, cursor=utc("2026-01-01T10:30"), now=utc("2026-01-01T11:09"))
    assert stamps(in_time.create) == ["2026-01-01T11:00"]


def test_forbid_skips_while_a_run_is_unfinished() -> None:
    policy = TickPolicy(cron=("0 * * * *",), concurrency_policy="Forbid")
    running = [ScheduleRunInfo("s-1", utc("2026-01-01T10:00"), "Running")]
    decision = decide_ticks(
        policy, cursor=utc("2026-01-01T10:00"), now=utc("2026-01-01T11:00:01"), runs=running
    )
    assert decision.create == [] and decision.skipped[0][1] == "Forbidden"
    assert decision.cursor == utc("2026-01-01T11:00")
    finished = [ScheduleRunInfo("s-1", utc("2026-01-01T10:00"), "Succeeded")]
    decision = decide_ticks(
        policy, cursor=utc("2026-01-01T10:00"), now=utc("2026-01-01T11:00:01"), runs=finished
    )
    assert stamps(decision.create) == ["2026-01-01T11:00"]


def test_forbid_does_not_count_the_run_of_the_due_tick_itself() -> None:
    """The Run exists but the cursor was not saved (a crash): the tick is simply done again,
    and creating its Run finds it already there."""
    policy = TickPolicy(cron=("0 * * * *",), concurrency_policy="Forbid")
    own = [ScheduleRunInfo("s-11", utc("2026-01-01T11:00"), None)]
    decision = decide_ticks(
        policy, cursor=utc("2026-01-01T10:00"), now=utc("2026-01-01T11:00:01"), runs=own
    )
    assert stamps(decision.create) == ["2026-01-01T11:00"]


def test_replace_deletes_unfinished_runs_then_creates() -> None:
    policy = TickPolicy(cron=("0 * * * *",), concurrency_policy="Replace")
    runs = [
        ScheduleRunInfo("s-9", utc("2026-01-01T09:00"), "Succeeded"),
        ScheduleRunInfo("s-10", utc("2026-01-01T10:00"), "Running"),
    ]
    decision = decide_ticks(
        policy, cursor=utc("2026-01-01T10:00"), now=utc("2026-01-01T11:00:01"), runs=runs
    )
    assert decision.delete == ["s-10"]
    assert stamps(decision.create) == ["2026-01-01T11:00"]


def test_forbid_and_replace_never_create_several_runs_at_once() -> None:
    policy = TickPolicy(cron=("0 * * * *",), concurrency_policy="Forbid", max_catchup_ticks=3)
    decision = decide_ticks(policy, cursor=utc("2026-01-01T07:00"), now=utc("2026-01-01T11:30"))
    assert stamps(decision.create) == ["2026-01-01T11:00"]
    assert [why for _, why in decision.skipped] == ["Superseded", "Superseded"]


def test_suspended_schedules_create_nothing_and_forget_the_ticks_they_miss() -> None:
    policy = TickPolicy(cron=("0 * * * *",), suspend=True)
    decision = decide_ticks(policy, cursor=utc("2026-01-01T07:00"), now=utc("2026-01-01T11:30"))
    assert decision.create == [] and decision.next_schedule_time is None
    assert decision.cursor == utc("2026-01-01T11:30")


def test_a_skipped_wall_time_fires_when_the_clock_jumps() -> None:
    # 02:30 does not exist in New York on 2024-03-10: the tick is at 03:00 EDT (07:00Z).
    policy = TickPolicy(cron=("30 2 * * *",), time_zone="America/New_York")
    decision = decide_ticks(policy, cursor=utc("2024-03-09T12:00"), now=utc("2024-03-10T08:00"))
    assert stamps(decision.create) == ["2024-03-10T07:00"]
    assert decision.next_schedule_time == utc("2024-03-11T06:30")


def test_a_repeated_wall_time_fires_once() -> None:
    # 01:30 happens twice in New York on 2024-11-03: one tick, at the second (EST, 06:30Z).
    policy = TickPolicy(cron=("30 1 * * *",), time_zone="America/New_York", max_catchup_ticks=5)
    decision = decide_ticks(policy, cursor=utc("2024-11-02T12:00"), now=utc("2024-11-03T12:00"))
    assert stamps(decision.create) == ["2024-11-03T06:30"]


def test_several_expressions_tick_at_each_of_their_instants_in_the_zone() -> None:
    policy = TickPolicy(cron=("0 6 * * *", "0 18 * * *"), time_zone="Europe/Paris")
    decision = decide_ticks(
        TickPolicy(cron=policy.cron, time_zone=policy.time_zone, max_catchup_ticks=5),
        cursor=utc("2026-07-01T00:00"),
        now=utc("2026-07-02T00:00"),
    )
    assert stamps(decision.create) == ["2026-07-01T04:00", "2026-07-01T16:00"]


@pytest.mark.parametrize(
    ("policy", "reason", "field"),
    [
        (TickPolicy(cron=("0 6 * *",)), "InvalidCron", "spec.cron[0]"),
        (TickPolicy(cron=("0 25 * * *",)), "InvalidCron", "spec.cron[0]"),
        (
            TickPolicy(cron=("@daily",), time_zone="Mars/Olympus"),
            "UnknownTimeZone",
            "spec.timeZone",
        ),
    ],
)
def test_unusable_cron_or_zone_names_the_field(policy: TickPolicy, reason: str, field: str) -> None:
    with pytest.raises(InvalidScheduleError) as raised:
        decide_ticks(policy, cursor=utc("2026-01-01T00:00"), now=utc("2026-01-02T00:00"))
    assert raised.value.reason == reason and str(raised.value).startswith(field)


def test_history_limits_delete_the_oldest_finished_runs_only() -> None:
    runs = [
        ScheduleRunInfo(f"s-{hour}", utc(f"2026-01-01T{hour:02d}:00"), phase)
        for hour, phase in [
            (1, "Succeeded"),
            (2, "Failed"),
            (3, "Succeeded"),
            (4, "Canceled"),
            (5, "Succeeded"),
            (6, "Running"),
            (7, None),
        ]
    ]
    assert runs_to_delete(runs, successful_limit=2, failed_limit=1) == ["s-1", "s-2"]
    assert runs_to_delete(runs, successful_limit=0, failed_limit=0) == [
        "s-1",
        "s-2",
        "s-3",
        "s-4",
        "s-5",
    ]


def test_run_names_come_from_the_schedule_and_the_tick() -> None:
    tick = utc("2026-01-01T06:00")
    assert run_name("daily-sales", tick) == f"daily-sales-{int(tick.timestamp())}"
    assert len(run_name("x" * 300, tick)) == 253


DAILY = {
    "type": "time_window",
    "cron_schedule": "0 0 * * *",
    "timezone": "UTC",
    "fmt": "%Y-%m-%d",
    "start": "2024-01-01",
    "end": None,
    "end_offset": 0,
}


def test_latest_complete_is_the_window_that_ended_at_the_tick() -> None:
    assert latest_complete_partition(DAILY, utc("2024-03-05T00:00")) == "2024-03-04"
    assert latest_complete_partition(DAILY, utc("2024-03-05T13:00")) == "2024-03-04"
    assert latest_complete_partition(DAILY, utc("2023-12-31T00:00")) is None
    hourly_paris = DAILY | {
        "cron_schedule": "0 * * * *",
        "timezone": "Europe/Paris",
        "fmt": "%Y-%m-%d-%H:%M",
        "start": "2024-01-01-00:00",
    }
    # 10:00 UTC is 11:00 in Paris: the window 10:00 to 11:00 (Paris) has just ended.
    assert latest_complete_partition(hourly_paris, utc("2024-03-05T10:00")) == "2024-03-05-10:00"


@pytest.mark.parametrize(
    "partitions", [None, {"type": "static", "partition_keys": ["a"]}, {"type": "dynamic"}]
)
def test_latest_complete_needs_time_windows(partitions: dict[str, object] | None) -> None:
    with pytest.raises(PartitionSelectionError, match=r"spec\.partitionSelection"):
        latest_complete_partition(partitions, utc("2024-03-05T00:00"))
