"""Sensor evaluation: calling a sensor's function and reading what it returned.

A sensor is evaluated at most once per `minimum_interval_seconds`. Each evaluation gets a
`SensorEvaluationContext` with the cursor the previous evaluation left (a string the sensor
owns: a file name, a storage id, a timestamp) and returns run requests, a skip reason, or a
`SensorResult` that may also move the cursor and add or delete dynamic partitions. A request's
`run_key` is its identity: the daemon starts at most one run per run key per sensor, ever, so a
sensor may safely request the same thing again.

An asset sensor (`@dg.asset_sensor`) looks at the event log itself: its function is called with
the newest materialization of its asset after the cursor, and the cursor becomes that event's
storage id, so each materialization is seen once.

Pure apart from the user's function and the asset sensor's one read; the daemon side (runs,
cursor, ticks) is in `kubedag.automation.instigators`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubedag.automation.schedules import takes_arguments
from kubedag.definitions.run_request import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsRequest,
    RunRequest,
    SensorResult,
    SkipReason,
)
from kubedag.definitions.schedules import SensorDefinition
from kubedag.errors import KubedagError

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance
    from kubedag.records.events import EventLogEntry

SENSOR_NAME_TAG = "kubedag/sensor_name"


class SensorEvaluationError(KubedagError):
    """A sensor function raised, or returned something that is not a run request; the user's
    exception is `__cause__`."""


def cursor_problem(cursor: object) -> str | None:
    """Why `cursor` cannot be a sensor's cursor (None: it can). A cursor is stored as text in
    every storage, so it must be a string that PostgreSQL can hold too: no NUL character, no
    lone surrogate."""
    if cursor is None:
        return None
    if not isinstance(cursor, str):
        return f"a cursor is a string, got {type(cursor).__name__} {cursor!r:.80}"
    if "\x00" in cursor:
        return (
            f"the cursor {cursor!r:.80} contains a NUL character (\\x00), which PostgreSQL "
            "cannot store"
        )
    try:
        cursor.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"the cursor {cursor!r:.80} is not valid text ({exc.reason} at {exc.start})"
    return None


class SensorEvaluationContext:
    """What a sensor function is given: its cursor, the instance, and what it did last."""

    def __init__(
        self,
        *,
        cursor: str | None = None,
        instance: Instance | None = None,
        sensor_name: str | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
        definitions: Any = None,
    ) -> None:
        self._cursor = cursor
        self._instance = instance
        self.sensor_name = sensor_name
        self.last_tick_completion_time = last_tick_completion_time
        self.last_run_key = last_run_key
        self.definitions = definitions
        self.cursor_updated = False
        self.log = logging.getLogger(f"kubedag.sensors.{sensor_name or 'sensor'}")

    @property
    def cursor(self) -> str | None:
        """Where the sensor left off: what the last evaluation set, or None the first time."""
        return self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Move the cursor; it is saved when the evaluation completes (not in a preview)."""
        problem = cursor_problem(cursor)
        if problem is not None:
            raise SensorEvaluationError(
                f"sensor '{self.sensor_name}': update_cursor: {problem}; serialize it "
                "(str(...), json.dumps(...) or base64)."
            )
        self._cursor = cursor
        self.cursor_updated = True

    @property
    def last_completion_time(self) -> float | None:
        """The reference's older name for `last_tick_completion_time`."""
        return self.last_tick_completion_time

    @property
    def instance(self) -> Instance:
        if self._instance is None:
            raise KubedagError(
                "This sensor context has no instance; build it with "
                "dg.build_sensor_context(instance=…) to use context.instance."
            )
        return self._instance


def build_sensor_context(
    instance: Instance | None = None,
    cursor: str | None = None,
    sensor_name: str | None = None,
    last_tick_completion_time: float | None = None,
    last_run_key: str | None = None,
    definitions: Any = None,
) -> SensorEvaluationContext:
    """A context for calling a sensor function or `sensor.evaluate_tick` in a test."""
    return SensorEvaluationContext(
        cursor=cursor,
        instance=instance,
        sensor_name=sensor_name,
        last_tick_completion_time=last_tick_completion_time,
        last_run_key=last_run_key,
        definitions=definitions,
    )


@dataclass(frozen=True)
class SensorEvaluation:
    """What one evaluation asked for; `cursor` is the cursor to save afterwards."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None
    cursor: str | None = None
    dynamic_partitions_requests: list[DynamicPartitionsRequest] = field(default_factory=list)


def evaluate_sensor(sensor: SensorDefinition, context: SensorEvaluationContext) -> SensorEvaluation:
    """Evaluate a sensor once. Whatever its function raises is a `SensorEvaluationError` naming
    the sensor, with the user's exception as its cause (and the daemon saves no cursor)."""
    if context.sensor_name is None:
        context.sensor_name = sensor.name
    if sensor.asset_key is not None:
        produced = _evaluate_asset_sensor(sensor, context)
    else:
        produced = _call(sensor, context, ())
    return _normalize(sensor, context, produced)


def _call(
    sensor: SensorDefinition, context: SensorEvaluationContext, extra: tuple[Any, ...]
) -> Any:
    fn = sensor.evaluation_fn
    try:
        produced = fn(context, *extra) if takes_arguments(fn) else fn()
        if inspect.isgenerator(produced):
            produced = list(produced)
    except SensorEvaluationError:
        raise
    except Exception as exc:
        raise SensorEvaluationError(
            f"sensor '{sensor.name}': its function raised {type(exc).__name__}: {exc}"
        ) from exc
    return produced


def _evaluate_asset_sensor(sensor: SensorDefinition, context: SensorEvaluationContext) -> Any:
    from kubedag.records.events import EventType
    from kubedag.storage.records import EventRecordsFilter

    after = int(context.cursor) if context.cursor else None
    records = context.instance.get_event_records(
        EventRecordsFilter(
            event_type=EventType.ASSET_MATERIALIZATION,
            asset_key=sensor.asset_key,
            after_cursor=after,
        ),
        limit=1,
        ascending=False,
    )
    if not records:
        return SkipReason(
            f"No new materialization of {sensor.asset_key.to_user_string()} since storage id "
            f"{after}."
            if after is not None
            else f"{sensor.asset_key.to_user_string()} has not been materialized yet."
        )
    record = records[0]
    event: EventLogEntry = record.event_log_entry
    produced = _call(sensor, context, (event,))
    if not context.cursor_updated:
        context.update_cursor(str(record.storage_id))
    return produced


def _normalize(
    sensor: SensorDefinition,
    context: SensorEvaluationContext,
    produced: Any,
) -> SensorEvaluation:
    dynamic: list[DynamicPartitionsRequest] = []
    cursor = context.cursor
    if isinstance(produced, SensorResult):
        if produced.cursor is not None:
            if context.cursor_updated and produced.cursor != context.cursor:
                raise SensorEvaluationError(
                    f"sensor '{sensor.name}': it called context.update_cursor() and returned "
                    "SensorResult(cursor=…); set the cursor one way only."
                )
            problem = cursor_problem(produced.cursor)
            if problem is not None:  # checked now, before any of its runs is requested
                raise SensorEvaluationError(
                    f"sensor '{sensor.name}': SensorResult(cursor=…): {problem}; serialize it "
                    "(str(...), json.dumps(...) or base64)."
                )
            cursor = produced.cursor
        dynamic = list(produced.dynamic_partitions_requests or [])
        for item in dynamic:
            if not isinstance(item, AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest):
                raise SensorEvaluationError(
                    f"sensor '{sensor.name}': dynamic_partitions_requests holds {item!r}; use "
                    "partitions_def.build_add_request([...]) or "
                    "dg.AddDynamicPartitionsRequest / dg.DeleteDynamicPartitionsRequest."
                )
        if produced.skip_reason is not None:
            skip = produced.skip_reason
            message = skip.skip_message if isinstance(skip, SkipReason) else str(skip)
            return SensorEvaluation([], message, cursor, dynamic)
        produced = list(produced.run_requests or [])
        if not produced:
            return SensorEvaluation([], None, cursor, dynamic)
    requests, skip_message = _requests(sensor, produced)
    # A sensor's own `tags` describe the sensor; its runs carry the requests' tags and its name.
    tagged = [
        RunRequest(
            run_key=r.run_key,
            run_config=r.run_config,
            tags={**r.tags, SENSOR_NAME_TAG: sensor.name},
            job_name=r.job_name,
            asset_selection=r.asset_selection,
            partition_key=r.partition_key,
        )
        for r in requests
    ]
    return SensorEvaluation(tagged, skip_message, cursor, dynamic)


def _requests(sensor: SensorDefinition, produced: Any) -> tuple[list[RunRequest], str | None]:
    if produced is None or (isinstance(produced, list | tuple) and not produced):
        return [], "Sensor function returned an empty result"
    if isinstance(produced, SkipReason):
        return [], produced.skip_message
    if isinstance(produced, RunRequest):
        return [produced], None
    if isinstance(produced, list | tuple):
        skips = [item for item in produced if isinstance(item, SkipReason)]
        requests = [item for item in produced if isinstance(item, RunRequest)]
        others = [item for item in produced if not isinstance(item, RunRequest | SkipReason)]
        if not others and not (skips and requests):
            return (requests, None) if requests else ([], skips[0].skip_message)
        bad: Any = (others or skips)[0]
    else:
        bad = produced
    raise SensorEvaluationError(
        f"sensor '{sensor.name}': its function produced {bad!r}; return or yield "
        "dg.RunRequest(...)s, a dg.SkipReason(...), a dg.SensorResult(...), or nothing."
    )


def sensor_is_due(
    last_tick_timestamp: float | None, minimum_interval_seconds: float, now: float
) -> bool:
    """Whether a sensor should be evaluated at `now`: never evaluated, or its interval passed."""
    return last_tick_timestamp is None or now - last_tick_timestamp >= minimum_interval_seconds


def resolve_job_name(sensor_jobs: Sequence[str], request: RunRequest, owner: str) -> str:
    """Which job a request runs: the one it names, or the instigator's only job."""
    if request.job_name is not None:
        if sensor_jobs and request.job_name not in sensor_jobs:
            raise SensorEvaluationError(
                f"{owner}: RunRequest(job_name={request.job_name!r}) names a job it does not "
                f"target; its jobs are {', '.join(sensor_jobs)}."
            )
        return request.job_name
    if len(sensor_jobs) == 1:
        return sensor_jobs[0]
    if not sensor_jobs:
        raise SensorEvaluationError(
            f"{owner}: it targets no job, so RunRequest needs job_name=… (or give the sensor "
            "job=…)."
        )
    raise SensorEvaluationError(
        f"{owner}: it targets several jobs ({', '.join(sensor_jobs)}); say which one each "
        "RunRequest runs with job_name=…."
    )
