"""Driving schedules, sensors and the automation sensor: state, runs, ticks.

An instigator is a schedule or a sensor of a code location, known by its selector
`location:name`. Its stored state (`InstigatorState`) says whether it is on and where it
stands: `last_tick_timestamp` (a schedule's last evaluated tick, a sensor's last evaluation),
a sensor's `cursor`, and `data` (`start_timestamp`: when it was last started, so ticks from
before are never run; a sensor's `last_run_key`). With no stored state, or the status
DECLARED_IN_CODE, the definition's `default_status` decides; `kubedag schedule start|stop`
stores RUNNING or STOPPED, which wins.

Each evaluation is recorded as a tick, and every run it creates is named by an idempotency key:

    schedule:{selector}:{tick timestamp}:{run_key or index}
    sensor:{selector}:{run_key}                  (a run key starts one run per sensor, ever)
    sensor:{selector}:tick:{tick id}:{index}     (requests without a run key)
    automation:{location}:{evaluation id}:{digest of partition and assets}

The order of work for one tick is: open the tick (STARTED), evaluate, create and submit the
runs, record the tick's outcome, then advance the state. A crash anywhere before the last step
leaves the state where it was, so the next iteration evaluates the same tick again (reusing the
tick left STARTED) and the idempotency keys find the runs already created: no duplicate, and no
lost run. Level-triggered, so several daemons may run at once.

`run_schedules`, `run_sensors` and `run_automation` are the daemon's loop iterations; each takes
`now`, so tests drive them through time without sleeping.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from kubedag.automation.conditions import (
    AUTOMATION_INTERVAL_SECONDS,
    AUTOMATION_SENSOR_NAME,
    AutomationCursor,
    asset_nodes,
    evaluate_conditions,
    gather_inputs,
    group_requests,
)
from kubedag.automation.evaluation_timeout import TimedEvaluations
from kubedag.automation.schedules import (
    ScheduleEvaluationContext,
    ScheduleEvaluationError,
    evaluate_schedule,
    ticks_due_for,
)
from kubedag.automation.sensors import (
    SensorEvaluation,
    SensorEvaluationContext,
    SensorEvaluationError,
    evaluate_sensor,
    resolve_job_name,
    sensor_is_due,
)
from kubedag.automation.workspace import CodeLocation
from kubedag.definitions.run_request import AddDynamicPartitionsRequest, RunRequest
from kubedag.definitions.schedules import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    ScheduleDefinition,
    SensorDefinition,
)
from kubedag.errors import KubedagError, RunLaunchError, RunStatusTransitionError
from kubedag.records.events import ErrorInfo
from kubedag.records.run import Run, RunStatus
from kubedag.storage.records import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    Tick,
    TickStatus,
)

if TYPE_CHECKING:
    from kubedag.definitions.job import JobDefinition
    from kubedag.instance.instance import Instance

_log = logging.getLogger("kubedag.automation")
T = TypeVar("T")
TICK_TAG = "kubedag/tick_id"  # the tick that requested a run


class AutomationLoopError(KubedagError):
    """Some instigators of an iteration failed; the others were evaluated. The message lists
    each failure (the daemon records it in its heartbeat)."""


def selector_id(location_name: str, name: str) -> str:
    return f"{location_name}:{name}"


# -- on or off ----------------------------------------------------------------------------------
def is_running(state: InstigatorState | None, default_running: bool) -> bool:
    """Whether an instigator is on: a stored RUNNING or STOPPED wins; otherwise (no state, or
    DECLARED_IN_CODE) its definition's default status."""
    if state is None or state.status is InstigatorStatus.DECLARED_IN_CODE:
        return default_running
    return state.status is InstigatorStatus.RUNNING


def default_running(definition: ScheduleDefinition | SensorDefinition | None) -> bool:
    if definition is None:  # the automation sensor: on unless stopped
        return True
    return definition.default_status in (DefaultScheduleStatus.RUNNING, DefaultSensorStatus.RUNNING)


def set_running(
    instance: Instance,
    location_name: str,
    name: str,
    instigator_type: InstigatorType,
    running: bool,
    now: float | None = None,
) -> InstigatorState:
    """Store RUNNING (remembering when, so earlier ticks never run) or STOPPED."""
    selector = selector_id(location_name, name)
    state = instance.get_instigator_state(selector)
    data = dict(state.data) if state is not None else {}
    if running:
        data["start_timestamp"] = time.time() if now is None else now
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    if state is None:
        state = InstigatorState(selector, name, instigator_type, status, data=data)
    else:
        state = replace(state, status=status, data=data)
    return instance.update_instigator_state(state)


def _running_state(
    instance: Instance, selector: str, name: str, kind: InstigatorType, default: bool, now: float
) -> InstigatorState | None:
    """The state of an instigator that is on (created on first sight when it is on by
    default), or None when it is off."""
    state = instance.get_instigator_state(selector)
    if not is_running(state, default):
        return None
    if state is None:
        state = InstigatorState(
            selector, name, kind, InstigatorStatus.DECLARED_IN_CODE, data={"start_timestamp": now}
        )
        return instance.update_instigator_state(state)
    if "start_timestamp" not in state.data:
        state = replace(state, data={**state.data, "start_timestamp": now})
        return instance.update_instigator_state(state)
    return state


def _advance(instance: Instance, selector: str, **changes: Any) -> None:
    """Write the evaluation's progress onto the state as it is now (its status may have been
    changed meanwhile by `kubedag schedule stop`, which must not be undone)."""
    state = instance.get_instigator_state(selector)
    if state is None:
        return
    data = {**state.data, **changes.pop("data", {})}
    instance.update_instigator_state(replace(state, data=data, **changes))


# -- ticks -------------------------------------------------------------------------------------
def tick_left_for(latest: Tick | None, scheduled_execution_time: float | None) -> Tick | None:
    """The latest tick, if a daemon that died left it for this evaluation to take over: still
    STARTED (a sensor's, or a schedule's at this tick time: same tick, so its run keys come out
    the same) or, for a schedule, this tick time's tick already finished (the daemon died before
    saving the schedule's state; it is not evaluated again). None: open a new tick."""
    if latest is None:
        return None
    if scheduled_execution_time is None:
        return latest if latest.status is TickStatus.STARTED else None
    return latest if latest.timestamp == scheduled_execution_time else None


def _open_tick(
    instance: Instance,
    selector: str,
    kind: InstigatorType,
    timestamp: float,
    scheduled_execution_time: float | None = None,
) -> Tick:
    """The tick of this evaluation: the one a crashed daemon left (`tick_left_for`; it may be
    finished already), or a new STARTED one."""
    latest = instance.get_ticks(selector, limit=1)
    left = tick_left_for(latest[0] if latest else None, scheduled_execution_time)
    if left is not None:
        return left
    if latest and latest[0].status is TickStatus.STARTED:  # a schedule's, at an earlier time
        _finish_tick(
            instance,
            latest[0],
            TickStatus.FAILURE,
            error=ErrorInfo("The evaluation of this tick was interrupted.", (), None),
        )
    tick = Tick(
        selector,
        kind,
        TickStatus.STARTED,
        timestamp,
        scheduled_execution_time=scheduled_execution_time,
    )
    return instance.create_tick(tick)


def _finish_tick(instance: Instance, tick: Tick, status: TickStatus, **fields: Any) -> Tick:
    return instance.update_tick(replace(tick, status=status, end_timestamp=time.time(), **fields))


def _error(exc: BaseException) -> ErrorInfo:
    return ErrorInfo.from_exception(exc)


# -- runs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubmittedRun:
    """A requested run, and whether this tick created it (now, or in an attempt that crashed)
    rather than an earlier tick (a sensor's run key requested again)."""

    run: Run
    created: bool


def submit_requested_run(
    instance: Instance,
    location: CodeLocation,
    job: JobDefinition,
    request: RunRequest,
    idempotency_key: str,
    tick: Tick,
) -> SubmittedRun:
    """Create the run a request asks for (checked first: bad run config is an error here, not
    a failed run) and submit it, unless its idempotency key names a run already: then that run
    is the answer, submitted if a crash left it NOT_STARTED."""
    from kubedag.definitions.selection import AssetSelection
    from kubedag.runs.submission import create_run_for_job

    tick_id = str(tick.tick_id)
    existing = instance.get_run_by_idempotency_key(idempotency_key)
    if existing is not None:
        _submit(instance, existing)
        return SubmittedRun(existing, existing.tags.get(TICK_TAG) == tick_id)
    if request.asset_selection is not None:
        job = job.with_asset_selection(AssetSelection.keys(*request.asset_selection))
    run = create_run_for_job(
        instance,
        job,
        code_location=location.code_location,
        run_config=request.run_config,
        tags={**request.tags, TICK_TAG: tick_id},
        partition_key=request.partition_key,
        idempotency_key=idempotency_key,
    )
    _submit(instance, run)
    return SubmittedRun(run, run.tags.get(TICK_TAG) == tick_id)


def _submit(instance: Instance, run: Run) -> None:
    if run.status is not RunStatus.NOT_STARTED:
        return
    try:
        instance.submit_run(run.run_id)
    except RunStatusTransitionError:
        pass  # another daemon submitted it first
    except RunLaunchError:
        # The run is now FAILURE with the launcher's error as its reason; the tick did its part.
        _log.exception("Run %s could not be launched.", run.run_id)


@dataclass(frozen=True)
class PlannedRun:
    """A run a tick asks for: its job, the request, and the key that names it."""

    job_name: str
    request: RunRequest
    idempotency_key: str


@dataclass
class RequestOutcome:
    """What became of a tick's requests: the runs (created now or found by key), and the
    requests that could not become runs (bad run config, an unknown job, …)."""

    submitted: list[tuple[PlannedRun, SubmittedRun]] = field(default_factory=list)
    errors: list[KubedagError] = field(default_factory=list)

    def failure(self) -> ErrorInfo | None:
        if not self.errors:
            return None
        total = len(self.errors) + len(self.submitted)
        first = _error(self.errors[0])
        if len(self.errors) == 1 and total == 1:
            return first
        note = f"{len(self.errors)} of {total} run requests failed; the first: "
        return replace(first, message=note + first.message)


def request_runs(
    instance: Instance, location: CodeLocation, tick: Tick, planned: Sequence[PlannedRun]
) -> RequestOutcome:
    """Create and submit each planned run. A request that cannot become a run is recorded and
    the others go on; a storage outage is raised (the tick is then evaluated again)."""
    outcome = RequestOutcome()
    defs = location.load()
    for item in planned:
        try:
            job = defs.get_job_def(item.job_name)
            submitted = submit_requested_run(
                instance, location, job, item.request, item.idempotency_key, tick
            )
        except KubedagError as exc:
            if _is_storage_error(exc):
                raise
            _log.warning("%s: a run request failed: %s", tick.selector_id, exc)
            outcome.errors.append(exc)
            continue
        outcome.submitted.append((item, submitted))
    return outcome


def _is_storage_error(exc: BaseException) -> bool:
    from kubedag.errors import StorageUnavailableError

    return isinstance(exc, StorageUnavailableError)


def _now(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- schedules ---------------------------------------------------------------------------------
def tick_schedule(
    instance: Instance, location: CodeLocation, schedule: ScheduleDefinition, now: datetime
) -> list[Tick]:
    """Evaluate the ticks of one schedule that are due at `now` (the latest missed one, or up
    to the catch-up limit for a partitioned schedule)."""
    selector = selector_id(location.name, schedule.name)
    stamp = now.timestamp()
    state = _running_state(
        instance, selector, schedule.name, InstigatorType.SCHEDULE, default_running(schedule), stamp
    )
    if state is None:
        return []
    after = max(state.data["start_timestamp"], state.last_tick_timestamp or 0.0)
    done = []
    for tick_time in ticks_due_for(schedule, datetime.fromtimestamp(after, UTC), now):
        done.append(_schedule_tick(instance, location, schedule, selector, tick_time))
        _advance(instance, selector, last_tick_timestamp=tick_time.timestamp())
    return done


def _schedule_tick(
    instance: Instance,
    location: CodeLocation,
    schedule: ScheduleDefinition,
    selector: str,
    tick_time: datetime,
) -> Tick:
    stamp = tick_time.timestamp()
    tick = _open_tick(instance, selector, InstigatorType.SCHEDULE, stamp, stamp)
    if tick.is_finished:
        return tick  # finished by a daemon that died before saving the schedule's state
    context = ScheduleEvaluationContext(tick_time, instance, schedule.name)
    try:
        result = evaluate_schedule(schedule, context)
    except (ScheduleEvaluationError, KubedagError) as exc:
        _log.warning("schedule %s: tick %s failed: %s", selector, tick_time.isoformat(), exc)
        return _finish_tick(instance, tick, TickStatus.FAILURE, error=_error(exc))
    if not result.run_requests:
        return _finish_tick(instance, tick, TickStatus.SKIPPED, skip_reason=result.skip_message)
    owner = f"schedule '{schedule.name}'"
    planned: list[PlannedRun] = []
    errors: list[KubedagError] = []
    for index, request in enumerate(result.run_requests):
        try:
            job_name = resolve_job_name([str(schedule.job_name)], request, owner)
        except KubedagError as exc:
            errors.append(exc)
            continue
        name = request.run_key if request.run_key is not None else str(index)
        planned.append(PlannedRun(job_name, request, f"schedule:{selector}:{int(stamp)}:{name}"))
    outcome = request_runs(instance, location, tick, planned)
    outcome.errors[:0] = errors
    failure = outcome.failure()
    return _finish_tick(
        instance,
        tick,
        TickStatus.FAILURE if failure else TickStatus.SUCCESS,
        error=failure,
        run_ids=tuple(submitted.run.run_id for _, submitted in outcome.submitted),
        run_keys=tuple(p.request.run_key for p, _ in outcome.submitted if p.request.run_key),
    )


# -- sensors -----------------------------------------------------------------------------------
def unsaved_sensor_tick(state: InstigatorState, latest: Tick | None) -> Tick | None:
    """The sensor's latest tick if it finished but never reached the sensor's state (the daemon
    died in between): its cursor must be saved before the sensor is evaluated again, or the
    same requests would be made (and, without run keys, run) twice. Ticks from before the
    sensor was last started do not count."""
    if latest is None or not latest.is_finished:
        return None
    if latest.timestamp < state.data.get("start_timestamp", 0.0):
        return None
    saved = state.last_tick_timestamp
    return latest if saved is None or latest.timestamp > saved else None


def sensor_progress(tick: Tick) -> dict[str, Any]:
    """What a finished sensor tick saves on the sensor's state (`_advance`'s changes): the
    cursor, the tick time, and in `data` when it completed and its last run key — or, when
    the evaluation itself failed (no cursor recorded), only the tick time."""
    if tick.status is TickStatus.FAILURE and tick.cursor is None and not tick.run_ids:
        return {"last_tick_timestamp": tick.timestamp}
    data: dict[str, Any] = {"last_tick_completion_time": tick.end_timestamp or time.time()}
    if tick.run_keys:
        data["last_run_key"] = tick.run_keys[-1]
    return {"cursor": tick.cursor, "last_tick_timestamp": tick.timestamp, "data": data}


def _evaluate(
    sensor: SensorDefinition,
    context: SensorEvaluationContext,
    selector: str,
    evaluations: TimedEvaluations | None,
) -> SensorEvaluation:
    if evaluations is None:
        return evaluate_sensor(sensor, context)
    return evaluations.call(
        selector, f"sensor '{sensor.name}'", lambda: evaluate_sensor(sensor, context)
    )


def tick_sensor(
    instance: Instance,
    location: CodeLocation,
    sensor: SensorDefinition,
    now: datetime,
    evaluations: TimedEvaluations | None = None,
) -> Tick | None:
    """Evaluate one sensor if it is on and its interval has passed; None otherwise. With
    `evaluations` (the daemon's), the evaluation has its time limit."""
    selector = selector_id(location.name, sensor.name)
    stamp = now.timestamp()
    state = _running_state(
        instance, selector, sensor.name, InstigatorType.SENSOR, default_running(sensor), stamp
    )
    if state is None or not sensor_is_due(
        state.last_tick_timestamp, sensor.minimum_interval_seconds, stamp
    ):
        return None
    latest = instance.get_ticks(selector, limit=1)
    unsaved = unsaved_sensor_tick(state, latest[0] if latest else None)
    if unsaved is not None:  # save it; the next evaluation starts from its cursor
        _advance(instance, selector, **sensor_progress(unsaved))
        return None
    tick = _open_tick(instance, selector, InstigatorType.SENSOR, stamp)
    context = SensorEvaluationContext(
        cursor=state.cursor,
        instance=instance,
        sensor_name=sensor.name,
        last_tick_completion_time=state.data.get("last_tick_completion_time"),
        last_run_key=state.data.get("last_run_key"),
        definitions=location.load(),
    )
    try:
        evaluation = _evaluate(sensor, context, selector, evaluations)
    except (SensorEvaluationError, KubedagError) as exc:
        if _is_storage_error(exc):
            raise
        _log.warning("sensor %s: evaluation failed: %s", selector, exc)
        finished = _finish_tick(instance, tick, TickStatus.FAILURE, error=_error(exc))
        _advance(instance, selector, **sensor_progress(finished))
        return finished
    for item in evaluation.dynamic_partitions_requests:
        if isinstance(item, AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(item.partitions_def_name, list(item.partition_keys))
        else:
            for key in item.partition_keys:
                instance.delete_dynamic_partition(item.partitions_def_name, key)
    owner = f"sensor '{sensor.name}'"
    planned: list[PlannedRun] = []
    errors: list[KubedagError] = []
    for index, request in enumerate(evaluation.run_requests):
        try:
            job_name = resolve_job_name(sensor.job_names, request, owner)
        except KubedagError as exc:
            errors.append(exc)
            continue
        if request.run_key is not None:
            key = f"sensor:{selector}:{request.run_key}"
        else:
            key = f"sensor:{selector}:tick:{tick.tick_id}:{index}"
        planned.append(PlannedRun(job_name, request, key))
    outcome = request_runs(instance, location, tick, planned)
    outcome.errors[:0] = errors
    run_ids = [s.run.run_id for _, s in outcome.submitted if s.created]
    run_keys = [p.request.run_key for p, _ in outcome.submitted if p.request.run_key]
    already = [
        p.request.run_key or p.idempotency_key for p, s in outcome.submitted if not s.created
    ]
    failure = outcome.failure()
    if failure is not None:
        status, skip = TickStatus.FAILURE, None
    elif run_ids:
        status, skip = TickStatus.SUCCESS, None
    elif already:
        status = TickStatus.SKIPPED
        skip = f"Run keys already requested by this sensor: {', '.join(already)}."
    else:
        status, skip = TickStatus.SKIPPED, evaluation.skip_message
    finished = _finish_tick(
        instance,
        tick,
        status,
        error=failure,
        run_ids=tuple(run_ids),
        run_keys=tuple(run_keys),
        skip_reason=skip,
        cursor=evaluation.cursor,
    )
    _advance(instance, selector, **sensor_progress(finished))
    return finished


# -- declarative automation --------------------------------------------------------------------
def tick_automation(instance: Instance, location: CodeLocation, now: datetime) -> Tick | None:
    """Evaluate the location's automation conditions (its `default_automation_condition_sensor`,
    on unless stopped) if any asset has one and the interval has passed; request the runs."""
    defs = location.load()
    nodes = asset_nodes(defs)
    if not any(node.condition is not None for node in nodes):
        return None
    selector = selector_id(location.name, AUTOMATION_SENSOR_NAME)
    stamp = now.timestamp()
    state = _running_state(
        instance, selector, AUTOMATION_SENSOR_NAME, InstigatorType.SENSOR, True, stamp
    )
    if state is None or not sensor_is_due(
        state.last_tick_timestamp, AUTOMATION_INTERVAL_SECONDS, stamp
    ):
        return None
    tick = _open_tick(instance, selector, InstigatorType.SENSOR, stamp)
    cursor = AutomationCursor.from_json(state.cursor)
    evaluation = evaluate_conditions(gather_inputs(nodes, instance, now), cursor)
    groups = group_requests(
        evaluation.requests, {n.key: n for n in nodes}, evaluation.evaluation_id
    )
    record = json.dumps(
        {
            "evaluation_id": evaluation.evaluation_id,
            "requests": [
                {
                    "asset_key": item.asset_key.to_user_string(),
                    "partition": item.partition_key,
                    "reason": item.reason,
                }
                for item in evaluation.requests
            ],
        }
    )
    job_name = defs.get_implicit_global_asset_job_def().name
    planned = [
        PlannedRun(
            job_name,
            group.request,
            f"automation:{location.name}:{evaluation.evaluation_id}:{group.digest}",
        )
        for group in groups
    ]
    outcome = request_runs(instance, location, tick, planned)
    run_ids = tuple(submitted.run.run_id for _, submitted in outcome.submitted)
    failure = outcome.failure()
    if failure is not None:
        status, skip = TickStatus.FAILURE, None
    elif run_ids:
        status, skip = TickStatus.SUCCESS, None
    else:
        status, skip = TickStatus.SKIPPED, "No asset needs materializing."
    finished = _finish_tick(
        instance, tick, status, error=failure, run_ids=run_ids, skip_reason=skip, cursor=record
    )
    _advance(instance, selector, cursor=evaluation.cursor.to_json(), last_tick_timestamp=stamp)
    return finished


def automation_tick_requests(tick: Tick) -> list[dict[str, Any]]:
    """What an automation tick requested and why: `[{asset_key, partition, reason}]`."""
    if not tick.cursor:
        return []
    requests: list[dict[str, Any]] = json.loads(tick.cursor).get("requests", [])
    return requests


# -- the daemon's iterations -------------------------------------------------------------------
def _for_each(
    locations: Sequence[CodeLocation],
    items: Callable[[CodeLocation], Sequence[Any]],
    work: Callable[[CodeLocation, Any], T],
    what: str,
) -> list[T]:
    """Apply `work` to every instigator of every location; one failure does not stop the
    others, and all failures are raised together at the end."""
    results: list[T] = []
    failures: list[str] = []
    for location in locations:
        try:
            found = items(location)
        except Exception as exc:
            _log.exception("code location %s could not be loaded", location.name)
            failures.append(f"{location.name}: {exc}")
            continue
        for item in found:
            try:
                results.append(work(location, item))
            except Exception as exc:
                name = getattr(item, "name", what)
                _log.exception("%s %s:%s failed", what, location.name, name)
                failures.append(f"{what} {location.name}:{name}: {type(exc).__name__}: {exc}")
    if failures:
        raise AutomationLoopError("; ".join(failures))
    return results


def run_schedules(
    instance: Instance, locations: Sequence[CodeLocation], now: datetime | None = None
) -> list[Tick]:
    """One scheduler iteration: every due tick of every running schedule."""
    moment = _now(now)
    batches = _for_each(
        locations,
        lambda location: location.load().schedules,
        lambda location, schedule: tick_schedule(instance, location, schedule, moment),
        "schedule",
    )
    return [tick for batch in batches for tick in batch]


def run_sensors(
    instance: Instance,
    locations: Sequence[CodeLocation],
    now: datetime | None = None,
    evaluations: TimedEvaluations | None = None,
) -> list[Tick]:
    """One sensor iteration: every running sensor whose interval has passed (each evaluation
    within `evaluations`' time limit, when given)."""
    moment = _now(now)
    ticks = _for_each(
        locations,
        lambda location: location.load().sensors,
        lambda location, sensor: tick_sensor(instance, location, sensor, moment, evaluations),
        "sensor",
    )
    return [tick for tick in ticks if tick is not None]


def run_automation(
    instance: Instance, locations: Sequence[CodeLocation], now: datetime | None = None
) -> list[Tick]:
    """One automation iteration: each location's automation conditions, when due."""
    moment = _now(now)
    ticks = _for_each(
        locations,
        lambda location: [location],
        lambda location, _item: tick_automation(instance, location, moment),
        "automation",
    )
    return [tick for tick in ticks if tick is not None]
