"""Schedule evaluation: what a tick is, which ticks are due, and what a tick asks for.

A tick is one instant of a schedule's cron expression in its time zone (`cron_ticks`, DST-aware:
a time the clock skips fires once when it jumps, a repeated time fires once). Evaluating a tick
calls the schedule's function with a `ScheduleEvaluationContext` whose
`scheduled_execution_time` is that instant, or, for a plain `ScheduleDefinition`, requests one
run with its run config and tags. Tick times are a pure function of the schedule, so any process
computing them agrees.

Missed ticks: the scheduler remembers the last tick it evaluated. When it finds several ticks
due (the daemon was down), a schedule evaluates only the latest one: a nightly job that missed
three nights runs once, for the latest night. A partitioned schedule
(`build_schedule_from_partitioned_job`) evaluates up to its catch-up limit of the most recent
missed ticks, each requesting its own partition, so no partition is silently skipped; the limit
is the schedule tag `kubedag/max_catchup_ticks` (default 5).

Everything here is pure except calling the user's function; `kubedag.automation.instigators`
turns results into runs and ticks into stored records.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kubedag.clock.cron import cron_ticks, previous_tick, zone
from kubedag.definitions.run_request import RunRequest, SkipReason
from kubedag.definitions.schedules import ScheduleDefinition, time_window_dimension
from kubedag.errors import InvalidDefinitionError, KubedagError

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance

SCHEDULE_NAME_TAG = "kubedag/schedule_name"
MAX_CATCHUP_TICKS_TAG = "kubedag/max_catchup_ticks"
DEFAULT_MAX_CATCHUP_TICKS = 5
# A tick exactly at `now` is due: `cron_ticks` ends before `end`, so end just after it.
_JUST_AFTER = timedelta(microseconds=1)


class ScheduleEvaluationError(KubedagError):
    """A schedule function raised, or returned something that is not a run request; the
    user's exception is `__cause__`."""


# -- context ----------------------------------------------------------------------------------
class ScheduleEvaluationContext:
    """What a schedule function is given: the tick's time and the instance."""

    def __init__(
        self,
        scheduled_execution_time: datetime | None,
        instance: Instance | None = None,
        schedule_name: str | None = None,
    ) -> None:
        self.scheduled_execution_time = scheduled_execution_time
        self._instance = instance
        self.schedule_name = schedule_name

    @property
    def log(self) -> logging.Logger:
        """A logger named after the schedule (`kubedag.schedules.NAME`)."""
        return logging.getLogger(f"kubedag.schedules.{self.schedule_name or 'schedule'}")

    @property
    def instance(self) -> Instance:
        if self._instance is None:
            raise KubedagError(
                "This schedule context has no instance; build it with "
                "dg.build_schedule_context(instance=…) to use context.instance."
            )
        return self._instance


def build_schedule_context(
    instance: Instance | None = None,
    scheduled_execution_time: datetime | None = None,
) -> ScheduleEvaluationContext:
    """A context for calling a schedule function or `schedule.evaluate_tick` in a test. A naive
    `scheduled_execution_time` is read as UTC."""
    if scheduled_execution_time is not None and scheduled_execution_time.tzinfo is None:
        scheduled_execution_time = scheduled_execution_time.replace(tzinfo=UTC)
    return ScheduleEvaluationContext(scheduled_execution_time, instance)


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleEvaluationResult:
    """What one tick asked for: runs, or a message saying why none (the reference's
    `ScheduleExecutionData`)."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None


def evaluate_schedule(
    schedule: ScheduleDefinition, context: ScheduleEvaluationContext
) -> ScheduleEvaluationResult:
    """Evaluate one tick. The schedule's function (if any) is called here; whatever it raises is
    a `ScheduleEvaluationError` naming the schedule, with the user's exception as its cause."""
    if context.schedule_name is None:
        context.schedule_name = schedule.name
    if schedule.execution_fn is not None:
        produced = _call_schedule_fn(schedule, context)
    elif schedule.partitions_def is not None:
        produced = partition_run_requests(schedule, context)
    else:
        produced = RunRequest(run_config=schedule.run_config, tags=dict(schedule.tags))
    return _normalize(schedule, produced)


def _call_schedule_fn(schedule: ScheduleDefinition, context: ScheduleEvaluationContext) -> Any:
    fn = schedule.execution_fn
    assert fn is not None
    try:
        produced = fn(context) if takes_arguments(fn) else fn()
        if inspect.isgenerator(produced):
            produced = list(produced)
    except Exception as exc:
        raise ScheduleEvaluationError(
            f"schedule '{schedule.name}': its function raised {type(exc).__name__}: {exc}"
        ) from exc
    return produced


@functools.lru_cache(maxsize=4096)
def takes_arguments(fn: Callable[..., Any]) -> bool:
    """Whether a schedule or sensor function takes its context (it may take nothing). Cached:
    reading a signature costs more than evaluating most ticks."""
    return bool(inspect.signature(fn).parameters)


def _normalize(schedule: ScheduleDefinition, produced: Any) -> ScheduleEvaluationResult:
    if produced is None or (isinstance(produced, list | tuple) and not produced):
        return ScheduleEvaluationResult([], "Schedule function returned an empty result")
    if isinstance(produced, SkipReason):
        return ScheduleEvaluationResult([], produced.skip_message)
    if isinstance(produced, RunRequest):
        produced = [produced]
    elif isinstance(produced, Mapping):  # run config only: the schedule's tags go with it
        produced = [RunRequest(run_config=dict(produced), tags=dict(schedule.tags))]
    if not isinstance(produced, list | tuple):
        raise ScheduleEvaluationError(
            f"schedule '{schedule.name}': its function returned {produced!r}; return or yield "
            "dg.RunRequest(...), a dg.SkipReason(...), a run config dict, or nothing."
        )
    skips = [item for item in produced if isinstance(item, SkipReason)]
    requests = [item for item in produced if isinstance(item, RunRequest)]
    others = [item for item in produced if not isinstance(item, RunRequest | SkipReason)]
    if others or (skips and requests):
        raise ScheduleEvaluationError(
            f"schedule '{schedule.name}': its function produced {(others or skips)[0]!r} "
            "among its results; yield either dg.RunRequest(...)s or one dg.SkipReason(...)."
        )
    if skips:
        return ScheduleEvaluationResult([], skips[0].skip_message)
    return ScheduleEvaluationResult(
        [_with_name_tag(request, schedule.name, schedule.run_config) for request in requests]
    )


def _with_name_tag(request: RunRequest, name: str, run_config: Any) -> RunRequest:
    """The request as the schedule submits it: tagged with the schedule's name. The schedule's
    own `tags` are on a request only when the schedule built it (no function, a partitioned
    schedule, a function returning run config): a `RunRequest` the function returns carries
    exactly its own tags, as in the reference."""
    return RunRequest(
        run_key=request.run_key,
        run_config=request.run_config if request.run_config is not None else run_config,
        tags={**request.tags, SCHEDULE_NAME_TAG: name},
        job_name=request.job_name,
        asset_selection=request.asset_selection,
        partition_key=request.partition_key,
    )


def partition_run_requests(
    schedule: ScheduleDefinition, context: ScheduleEvaluationContext
) -> list[RunRequest] | SkipReason:
    """A partitioned schedule's request at a tick: the partition whose time window ended last
    before the tick (with a multi-partitions job, that window's partition in every other
    dimension). Each request's `run_key` is its partition key."""
    moment = context.scheduled_execution_time
    if moment is None:
        raise InvalidDefinitionError(
            f"schedule '{schedule.name}': evaluating a partitioned schedule needs "
            "scheduled_execution_time (dg.build_schedule_context(scheduled_execution_time=…))."
        )
    return [
        RunRequest(run_key=key, partition_key=key, tags=dict(schedule.tags))
        for key in latest_window_keys(schedule.partitions_def, moment, context._instance)
    ] or SkipReason("The job's partitions definition has no partitions yet.")


def latest_window_keys(partitions_def: Any, moment: datetime, store: Any) -> list[str]:
    """The keys of the latest time window complete at `moment`: one key, or with a
    multi-partitions definition that window's key combined with every key of the other
    dimension. Empty when no window is complete yet."""
    from kubedag.definitions.partitions import MultiPartitionKey

    found = time_window_dimension(partitions_def)
    if found is None:
        return []
    dimension, window = found
    last = window.get_last_partition_key(current_time=moment)
    if last is None:
        return []
    if dimension is None:
        return [str(last)]
    other_name, other = next(
        (name, d) for name, d in partitions_def.partitions_defs if name != dimension
    )
    others = other.get_partition_keys(current_time=moment, dynamic_partitions_store=store)
    return [str(MultiPartitionKey({dimension: last, other_name: key})) for key in others]


# -- which ticks --------------------------------------------------------------------------------
def schedule_ticks(
    schedule: ScheduleDefinition, start: datetime, end: datetime | None = None
) -> Iterator[datetime]:
    """The schedule's ticks strictly after `start` and before `end`, in its time zone."""
    return cron_ticks(schedule.cron_schedules, schedule.timezone, start, end)


def next_ticks(schedule: ScheduleDefinition, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks after `after` (what `kubedag schedule preview` shows)."""
    ticks = schedule_ticks(schedule, after)
    return [next(ticks) for _ in range(count)]


def max_catchup_ticks(schedule: ScheduleDefinition) -> int:
    """How many missed ticks the scheduler evaluates after downtime: 1 (the latest) for a
    plain schedule; for a partitioned one the tag `kubedag/max_catchup_ticks`, default 5."""
    if schedule.partitions_def is None:
        return 1
    text = schedule.tags.get(MAX_CATCHUP_TICKS_TAG)
    if text is None:
        return DEFAULT_MAX_CATCHUP_TICKS
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise InvalidDefinitionError(
            f"schedule '{schedule.name}': tag {MAX_CATCHUP_TICKS_TAG}={text!r} must be a whole "
            "number of ticks, 1 or more."
        )
    return limit


def due_ticks(
    cron_schedule: str | Sequence[str],
    timezone: str,
    after: datetime,
    now: datetime,
    limit: int,
) -> list[datetime]:
    """The ticks to evaluate now: of the ticks after `after` up to and including `now`, the
    latest `limit`, oldest first. Walks back from `now`, so a long downtime with a frequent cron
    costs `limit` steps, not one per missed tick."""
    found: list[datetime] = []
    before = now + _JUST_AFTER
    while len(found) < limit:
        tick = previous_tick(cron_schedule, timezone, before)
        if tick is None or tick <= after:
            break
        found.append(tick)
        before = tick
    return found[::-1]


def ticks_due_for(schedule: ScheduleDefinition, after: datetime, now: datetime) -> list[datetime]:
    """`due_ticks` for a schedule, with its catch-up limit."""
    return due_ticks(
        schedule.cron_schedules, schedule.timezone, after, now, max_catchup_ticks(schedule)
    )


def in_schedule_zone(schedule: ScheduleDefinition, moment: datetime) -> datetime:
    return moment.astimezone(zone(schedule.timezone))
