"""What a `Schedule` does now: which ticks get a Run, which are skipped, which Runs go.

A tick is an instant of the schedule's cron expressions in its time zone, computed by kubedag's
automation logic (`kubedag.clock.cron`, with its daylight-saving rules) so that the
operator and the local daemon agree on every tick. The operator remembers the last tick it
handled (its cursor) and, at each evaluation, asks `decide_ticks` what to do between that
cursor and now:

- `suspend`: nothing is created, and the cursor moves to now: ticks missed while suspended never
  run.
- Missed ticks (the operator was down): only the latest runs, unless the schedule catches up
  partitions (`partitionSelection.mode: LatestComplete`), which runs up to `maxCatchupTicks` of
  the most recent ones, each for its own partition.
- `startingDeadlineSeconds`: a tick older than that at evaluation time is skipped.
- `concurrencyPolicy`, while a Run of this schedule is unfinished: `Allow` creates the tick's
  Run too; `Forbid` skips the tick; `Replace` deletes the unfinished Runs, then creates it.
  `Forbid` and `Replace` never create several Runs at once (only the latest due tick).

`latest_complete_partition` picks the partition of a `LatestComplete` tick from the job's
partitions as the code server's snapshot describes them; `runs_to_delete` applies the history
limits. All functions here are pure: the handler
(`kubedag_operator.handlers.schedule`) reads the cluster, calls them and acts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubedag.automation.schedules import due_ticks
from kubedag.clock.cron import check_cron, next_tick, zone

ALLOW, FORBID, REPLACE = "Allow", "Forbid", "Replace"
SUCCEEDED = "Succeeded"
FAILED_PHASES = frozenset({"Failed", "Canceled"})
TERMINAL_PHASES = frozenset({SUCCEEDED, *FAILED_PHASES})


class InvalidScheduleError(ValueError):
    """The schedule's cron or time zone cannot be used; `reason` is the condition's reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ScheduleRunInfo:
    """A Run the schedule created, as the handler observed it."""

    name: str
    tick: datetime
    phase: str | None = None  # None: not picked up yet (unfinished)

    @property
    def finished(self) -> bool:
        return self.phase in TERMINAL_PHASES


@dataclass(frozen=True)
class TickPolicy:
    """The parts of a Schedule's spec that decide ticks."""

    cron: Sequence[str]
    time_zone: str = "UTC"
    suspend: bool = False
    concurrency_policy: str = ALLOW
    starting_deadline_seconds: int | None = None
    max_catchup_ticks: int = 1  # 1 unless partitions are caught up


@dataclass(frozen=True)
class TickDecision:
    create: list[datetime] = field(default_factory=list)
    """Ticks that get a Run, oldest first."""
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    """Due ticks that get none, with the reason (`StartingDeadlineExceeded`, `Forbidden`,
    `Superseded`)."""
    delete: list[str] = field(default_factory=list)
    """Unfinished Runs to delete first (`Replace`)."""
    cursor: datetime | None = None
    """The last tick handled after acting (created or skipped), the next evaluation's start."""
    next_schedule_time: datetime | None = None
    """The next tick after now; None while suspended."""


def check_policy(policy: TickPolicy) -> None:
    """Raise `InvalidScheduleError` (`InvalidCron`, `UnknownTimeZone`) naming the field."""
    for index, expression in enumerate(policy.cron):
        try:
            check_cron(expression)
        except ValueError as exc:
            raise InvalidScheduleError("InvalidCron", f"spec.cron[{index}]: {exc}") from None
    try:
        zone(policy.time_zone)
    except ValueError as exc:
        raise InvalidScheduleError("UnknownTimeZone", f"spec.timeZone: {exc}") from None


def decide_ticks(
    policy: TickPolicy,
    *,
    cursor: datetime,
    now: datetime,
    runs: Sequence[ScheduleRunInfo] = (),
) -> TickDecision:
    """What to do at `now` for the ticks after `cursor` (the last tick handled, or the
    schedule's creation time). `runs` are the schedule's Runs; the unfinished ones decide
    `Forbid` and `Replace`."""
    check_policy(policy)
    cron, tz = list(policy.cron), policy.time_zone
    if policy.suspend:
        return TickDecision(cursor=max(cursor, now))
    upcoming = next_tick(cron, tz, now)
    due = due_ticks(cron, tz, cursor, now, max(policy.max_catchup_ticks, 1))
    if not due:
        return TickDecision(cursor=cursor, next_schedule_time=upcoming)
    skipped: list[tuple[datetime, str]] = []
    if policy.starting_deadline_seconds is not None:
        deadline = timedelta(seconds=policy.starting_deadline_seconds)
        skipped += [(tick, "StartingDeadlineExceeded") for tick in due if now - tick > deadline]
        due = [tick for tick in due if now - tick <= deadline]
    # A Run already created for a due tick (the cursor was not saved) is that tick's, not an
    # earlier one that blocks it.
    due_stamps = {tick.timestamp() for tick in due}
    unfinished = [
        run.name for run in runs if not run.finished and run.tick.timestamp() not in due_stamps
    ]
    delete: list[str] = []
    if policy.concurrency_policy in (FORBID, REPLACE) and len(due) > 1:
        skipped += [(tick, "Superseded") for tick in due[:-1]]
        due = due[-1:]
    if due and unfinished:
        if policy.concurrency_policy == FORBID:
            skipped += [(tick, "Forbidden") for tick in due]
            due = []
        elif policy.concurrency_policy == REPLACE:
            delete = unfinished
    handled = [tick for tick, _ in skipped] + due
    return TickDecision(
        create=due,
        skipped=sorted(skipped, key=lambda item: item[0].timestamp()),
        delete=delete,
        cursor=max(handled, key=lambda tick: tick.timestamp()) if handled else cursor,
        next_schedule_time=upcoming,
    )


def runs_to_delete(
    runs: Sequence[ScheduleRunInfo], successful_limit: int, failed_limit: int
) -> list[str]:
    """The finished Runs beyond the history limits, oldest first (unfinished ones are kept)."""
    doomed: list[ScheduleRunInfo] = []
    for phases, limit in (
        (frozenset({SUCCEEDED}), successful_limit),
        (FAILED_PHASES, failed_limit),
    ):
        finished = sorted(
            (run for run in runs if run.phase in phases), key=lambda run: run.tick.timestamp()
        )
        doomed += finished[: max(len(finished) - limit, 0)]
    return [run.name for run in sorted(doomed, key=lambda run: run.tick.timestamp())]


class PartitionSelectionError(ValueError):
    """The job's partitions do not allow `LatestComplete` (not time windows)."""


def latest_complete_partition(partitions: Mapping[str, Any] | None, tick: datetime) -> str | None:
    """The key of the last time window complete at `tick` (a daily job ticking at 00:00 runs
    yesterday), from the job's partitions as the snapshot summarizes them
    (`jobs[].partitions`); None when no window is complete yet. Raises
    `PartitionSelectionError` when the job is not partitioned by time."""
    from kubedag.definitions.partitions import TimeWindowPartitionsDefinition

    if not partitions:
        raise PartitionSelectionError(
            "spec.partitionSelection: the job is not partitioned; remove partitionSelection."
        )
    if partitions.get("type") != "time_window":
        raise PartitionSelectionError(
            f"spec.partitionSelection: mode LatestComplete needs time-window partitions, the "
            f"job's are {partitions.get('type')!r}; use mode Key with the partition to run."
        )
    definition = TimeWindowPartitionsDefinition(
        start=partitions["start"],
        fmt=partitions["fmt"],
        end=partitions.get("end"),
        timezone=partitions.get("timezone"),
        end_offset=int(partitions.get("end_offset") or 0),
        cron_schedule=partitions["cron_schedule"],
    )
    return definition.get_last_partition_key(current_time=tick)


def run_name(schedule_name: str, tick: datetime) -> str:
    """`<schedule>-<unix seconds of the tick>`: the same tick always names the same Run, so
    "already exists" means the tick was done. Cut to fit the 253 characters of a name."""
    suffix = f"-{int(tick.timestamp())}"
    return schedule_name[: 253 - len(suffix)] + suffix


def utc_text(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as Kubernetes writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
