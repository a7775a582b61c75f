"""Schedule and sensor declarations: what to run, and when to ask.

A schedule names a job and a cron expression in a time zone; each cron tick is one evaluation
(a "tick") that asks for runs. A sensor names jobs and a minimum interval; each evaluation looks
at the world (files, an API, the event log) and asks for runs, keeping its place in a cursor.
This module only declares them: evaluating a tick (calling the user's function, turning what it
returns into run requests) is `kubedag.automation`'s job, and the daemon acts on the result.

`build_schedule_from_partitioned_job` derives the cron expression from a time-partitioned job
(a daily job ticks daily, just after each day ends) and asks, at each tick, for the partition
that has just completed. Its job is often an unresolved asset job whose partitions are only
known once `Definitions` resolves it, so such a schedule is finished there (`resolved_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kubedag.errors import InvalidDefinitionError


class DefaultScheduleStatus(Enum):
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class DefaultSensorStatus(Enum):
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


_CRON_ALIASES = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
DEFAULT_SENSOR_INTERVAL_SECONDS = 30


def check_cron(expression: str, owner: str) -> None:
    """Raise `InvalidDefinitionError` naming `owner` if `expression` is not a usable cron."""
    from kubedag.clock.cron import check_cron as check_expression

    if not isinstance(expression, str):
        raise InvalidDefinitionError(
            f"{owner}: cron_schedule must be a string such as '0 6 * * *', got {expression!r}."
        )
    if expression.strip() not in _CRON_ALIASES and len(expression.split()) != 5:
        raise InvalidDefinitionError(
            f"{owner}: cron_schedule {expression!r} must have 5 fields (minute hour day month "
            "weekday) or be one of " + ", ".join(sorted(_CRON_ALIASES)) + "."
        )
    try:
        check_expression(expression)
    except ValueError as exc:
        raise InvalidDefinitionError(f"{owner}: {exc}") from None


def check_timezone(timezone: str, owner: str, field_name: str = "execution_timezone") -> None:
    """Raise `InvalidDefinitionError` naming `owner` and the field if `timezone` is not an IANA
    time zone name."""
    from kubedag.clock.cron import zone

    try:
        zone(timezone)
    except ValueError as exc:
        detail = str(exc).removeprefix("timezone ")
        raise InvalidDefinitionError(f"{owner}: {field_name} {detail}") from None


def _job_for_target(owner_name: str, job: Any, target: Any) -> Any:
    if job is not None and target is not None:
        raise InvalidDefinitionError(f"{owner_name}: give job=… or target=…, not both.")
    if target is None:
        return job
    if hasattr(target, "steps") or hasattr(target, "selection"):
        return target
    from kubedag.definitions.job import define_asset_job

    return define_asset_job(f"__anonymous_asset_job_{owner_name}", selection=target)


def target_assets(target: Any) -> tuple[Any, ...]:
    """The asset and check definitions named by `target=`. `Definitions` includes them, so
    `Definitions(schedules=[ScheduleDefinition(target=[a, b], …)])` works without repeating
    `assets=[a, b]`, as in the reference."""
    from kubedag.definitions.assets import AssetsDefinition, AssetSpec
    from kubedag.definitions.checks import AssetChecksDefinition

    asset_like = (AssetsDefinition, AssetSpec, AssetChecksDefinition)
    if isinstance(target, asset_like):
        return (target,)
    if isinstance(target, list | tuple | set | frozenset):
        return tuple(item for item in target if isinstance(item, asset_like))
    return ()


# -- partitioned schedules ---------------------------------------------------------------------
@dataclass(frozen=True)
class PartitionedScheduleOptions:
    """The reference's overrides of when a partitioned schedule ticks within its period."""

    minute_of_hour: int | None = None
    hour_of_day: int | None = None
    day_of_week: int | None = None
    day_of_month: int | None = None


_OPTIONS_BY_CADENCE = {
    "HOURLY": {"minute_of_hour"},
    "DAILY": {"minute_of_hour", "hour_of_day"},
    "WEEKLY": {"minute_of_hour", "hour_of_day", "day_of_week"},
    "MONTHLY": {"minute_of_hour", "hour_of_day", "day_of_month"},
}
_OPTION_RANGES = {
    "minute_of_hour": (0, 59),
    "hour_of_day": (0, 23),
    "day_of_week": (0, 6),
    "day_of_month": (1, 31),
}


def time_window_dimension(partitions_def: Any) -> tuple[str | None, Any] | None:
    """The time-window partitions of `partitions_def`: `(None, itself)`, or `(dimension name,
    its time dimension)` for a multi-partitions definition; None when it is not partitioned by
    time."""
    from kubedag.definitions.partitions import (
        MultiPartitionsDefinition,
        TimeWindowPartitionsDefinition,
    )

    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return None, partitions_def
    if isinstance(partitions_def, MultiPartitionsDefinition):
        for name, dimension in partitions_def.partitions_defs:
            if isinstance(dimension, TimeWindowPartitionsDefinition):
                return name, dimension
    return None


def cron_for_partitions(
    partitions_def: Any, options: PartitionedScheduleOptions, owner: str
) -> tuple[str, str]:
    """(cron expression, time zone) of a schedule that ticks once per time window of
    `partitions_def`, when the window ends, moved by `options`; a pure function."""
    found = time_window_dimension(partitions_def)
    if found is None:
        raise InvalidDefinitionError(
            f"{owner}: build_schedule_from_partitioned_job needs a job partitioned by time "
            f"(Hourly/Daily/Weekly/MonthlyPartitionsDefinition), got {partitions_def!r}. For "
            "other partitions, write a @dg.schedule that returns RunRequest(partition_key=…)."
        )
    window = found[1]
    given = {name: value for name, value in vars(options).items() if value is not None}
    for name, value in given.items():
        low, high = _OPTION_RANGES[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidDefinitionError(
                f"{owner}: {name} must be a whole number from {low} to {high}, got {value!r}."
            )
    cadence = window.schedule_type
    allowed = _OPTIONS_BY_CADENCE[cadence.value] if cadence is not None else set()
    unusable = sorted(set(given) - allowed)
    if unusable:
        what = f"{cadence.value.lower()} partitions" if cadence else "partitions on a custom cron"
        takes = f"it takes {', '.join(sorted(allowed))}" if allowed else "write cron_schedule=…"
        raise InvalidDefinitionError(f"{owner}: {unusable[0]} does not apply to {what}; {takes}.")
    return str(window.get_cron_schedule(**given)), str(window.timezone)


class ScheduleDefinition:
    """Run a job on a cron schedule.

    Without `execution_fn` every tick requests one run with `run_config` and `tags`; with one
    (`@dg.schedule`), the function decides: it returns or yields `RunRequest`s, a `SkipReason`,
    a run config dict, or nothing."""

    def __init__(
        self,
        name: str | None = None,
        *,
        cron_schedule: str | Sequence[str] | None = None,
        job: Any = None,
        target: Any = None,
        run_config: Any = None,
        tags: Mapping[str, str] | None = None,
        execution_fn: Callable[..., Any] | None = None,
        execution_timezone: str | None = None,
        description: str | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        metadata: Mapping[str, Any] | None = None,
        job_name: str | None = None,
        partitioned: PartitionedScheduleOptions | None = None,
    ) -> None:
        if job is None and target is None and job_name is None:
            raise InvalidDefinitionError("ScheduleDefinition needs job=… or target=….")
        base = name or (job.name if job is not None else None) or job_name
        self.name = name or f"{base}_schedule"
        owner = f"schedule '{self.name}'"
        if cron_schedule is None and partitioned is None:
            raise InvalidDefinitionError(
                f"{owner}: needs cron_schedule=… (for example '0 6 * * *', or '@daily')."
            )
        crons = [cron_schedule] if isinstance(cron_schedule, str) else list(cron_schedule or [])
        if cron_schedule is not None and not crons:
            raise InvalidDefinitionError(f"{owner}: cron_schedule is an empty list.")
        for cron in crons:
            check_cron(cron, owner)
        if execution_timezone is not None:
            check_timezone(execution_timezone, owner)
        if execution_fn is not None and run_config is not None:
            raise InvalidDefinitionError(
                f"{owner}: give run_config=… or a schedule function, not both; the function "
                "returns the run config (or RunRequest(run_config=…))."
            )
        if not isinstance(default_status, DefaultScheduleStatus):
            raise InvalidDefinitionError(
                f"{owner}: default_status must be dg.DefaultScheduleStatus.RUNNING or STOPPED, "
                f"got {default_status!r}."
            )
        self.cron_schedule: Any = (
            cron_schedule if cron_schedule is None or isinstance(cron_schedule, str) else crons
        )
        self.job = _job_for_target(self.name, job, target)
        self.target_assets = target_assets(target)
        self.job_name = self.job.name if self.job is not None else job_name
        self.run_config = run_config
        self.tags = dict(tags or {})
        self.execution_fn = execution_fn
        self.execution_timezone = execution_timezone
        self.description = description
        self.default_status = default_status
        self.metadata = dict(metadata or {})
        self.partitioned = partitioned
        self.partitions_def: Any = None
        if partitioned is not None:
            known = getattr(self.job, "partitions_def", None)
            if known is not None:
                self._finish_partitioned(known)

    # -- partitioned schedules --------------------------------------------------------------
    def _finish_partitioned(self, partitions_def: Any) -> None:
        assert self.partitioned is not None
        owner = f"schedule '{self.name}'"
        cron, timezone = cron_for_partitions(partitions_def, self.partitioned, owner)
        if self.cron_schedule is None:
            self.cron_schedule = cron
        if self.execution_timezone is None:
            self.execution_timezone = timezone
        self.partitions_def = partitions_def

    @property
    def is_resolved(self) -> bool:
        """Whether its cron expression is known (a partitioned schedule's is known once its
        job's partitions are)."""
        return self.cron_schedule is not None

    def resolved_for(self, job: Any) -> ScheduleDefinition:
        """This schedule with what only the resolved `job` knows filled in (`Definitions`
        calls it); the schedule itself when nothing was missing."""
        if self.partitioned is None or self.partitions_def is not None:
            return self
        partitions_def = getattr(job, "partitions_def", None)
        if partitions_def is None:
            raise InvalidDefinitionError(
                f"schedule '{self.name}': build_schedule_from_partitioned_job needs a "
                f"partitioned job, and job '{job.name}' has no partitions. Select partitioned "
                "assets, or give the job partitions_def=…."
            )
        resolved = ScheduleDefinition(
            self.name,
            cron_schedule=self.cron_schedule,
            job=self.job,
            run_config=self.run_config,
            tags=self.tags,
            execution_fn=self.execution_fn,
            execution_timezone=self.execution_timezone,
            description=self.description,
            default_status=self.default_status,
            metadata=self.metadata,
            partitioned=self.partitioned,
        )
        resolved.target_assets = self.target_assets
        resolved._finish_partitioned(partitions_def)
        return resolved

    # -- evaluation -------------------------------------------------------------------------
    @property
    def timezone(self) -> str:
        """The time zone its cron expression is read in (`execution_timezone`, default UTC)."""
        return self.execution_timezone or "UTC"

    @property
    def cron_schedules(self) -> list[str]:
        if self.cron_schedule is None:
            raise InvalidDefinitionError(
                f"schedule '{self.name}': its cron schedule comes from its job's partitions, "
                "which are known once the schedule is in a dg.Definitions; use "
                "defs.get_schedule_def(name)."
            )
        return [self.cron_schedule] if isinstance(self.cron_schedule, str) else self.cron_schedule

    def evaluate_tick(self, context: Any) -> Any:
        """What this schedule asks for at `context.scheduled_execution_time` (the reference's
        `evaluate_tick`): `.run_requests` and `.skip_message`."""
        from kubedag.definitions.engine import engine

        return engine().evaluate_schedule(self, context)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the schedule function directly (in tests): `my_schedule(context)`."""
        if self.execution_fn is None:
            raise InvalidDefinitionError(
                f"schedule '{self.name}' has no function to call; use "
                "evaluate_tick(dg.build_schedule_context(...)) to see what it requests."
            )
        return self.execution_fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<ScheduleDefinition {self.name} {self.cron_schedule!r}>"


def schedule(
    cron_schedule: str | Sequence[str] | None = None,
    *,
    job: Any = None,
    target: Any = None,
    name: str | None = None,
    execution_timezone: str | None = None,
    description: str | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    job_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], ScheduleDefinition]:
    """Declare a schedule whose function decides what to run at each tick. The function takes
    a `ScheduleEvaluationContext` (or nothing) and returns or yields `RunRequest`s, a
    `SkipReason`, a run config dict, or nothing."""
    if cron_schedule is None:
        raise InvalidDefinitionError("@schedule needs cron_schedule=….")

    def decorate(fn: Callable[..., Any]) -> ScheduleDefinition:
        return ScheduleDefinition(
            name or fn.__name__,
            cron_schedule=cron_schedule,
            job=job,
            target=target,
            execution_fn=fn,
            execution_timezone=execution_timezone,
            description=description or (fn.__doc__ or "").strip() or None,
            default_status=default_status,
            tags=tags,
            job_name=job_name,
            metadata=metadata,
        )

    return decorate


def build_schedule_from_partitioned_job(
    job: Any,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScheduleDefinition:
    """A schedule for a time-partitioned job: one tick per partition window, just after it
    ends (shifted by `minute_of_hour`, `hour_of_day`, `day_of_week`, `day_of_month`), each
    requesting the partition that has just completed. Named `<job>_schedule`; its time zone is
    the partitions' unless `execution_timezone` says otherwise."""
    if job is None or not hasattr(job, "name"):
        raise InvalidDefinitionError(
            f"build_schedule_from_partitioned_job: expected a partitioned job, got {job!r}."
        )
    return ScheduleDefinition(
        name or f"{job.name}_schedule",
        cron_schedule=cron_schedule,
        job=job,
        tags=tags,
        execution_timezone=execution_timezone,
        description=description,
        default_status=default_status,
        metadata=metadata,
        partitioned=PartitionedScheduleOptions(
            minute_of_hour, hour_of_day, day_of_week, day_of_month
        ),
    )


# -- sensors ----------------------------------------------------------------------------------
class SensorDefinition:
    """Poll a condition and request runs when it holds.

    The function takes a `SensorEvaluationContext` (or nothing) and returns or yields
    `RunRequest`s, a `SkipReason`, a `SensorResult`, or nothing. An asset sensor
    (`@dg.asset_sensor`) has `asset_key` set, and its function also gets the newest
    materialization of that asset since the last one it saw."""

    def __init__(
        self,
        name: str,
        evaluation_fn: Callable[..., Any],
        *,
        job: Any = None,
        jobs: Sequence[Any] | None = None,
        target: Any = None,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        asset_key: Any = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        owner = f"sensor '{name}'"
        if not callable(evaluation_fn):
            raise InvalidDefinitionError(f"{owner}: its evaluation function is not callable.")
        if job is not None and jobs:
            raise InvalidDefinitionError(f"{owner}: give job=… or jobs=[…], not both.")
        interval = (
            DEFAULT_SENSOR_INTERVAL_SECONDS
            if minimum_interval_seconds is None
            else minimum_interval_seconds
        )
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
            raise InvalidDefinitionError(
                f"{owner}: minimum_interval_seconds must be a number of seconds (0 or more), "
                f"got {minimum_interval_seconds!r}."
            )
        if not isinstance(default_status, DefaultSensorStatus):
            raise InvalidDefinitionError(
                f"{owner}: default_status must be dg.DefaultSensorStatus.RUNNING or STOPPED, "
                f"got {default_status!r}."
            )
        self.name = name
        self.evaluation_fn = evaluation_fn
        self.job = _job_for_target(name, job, target)
        self.target_assets = target_assets(target)
        self.jobs = [self.job] if self.job is not None else list(jobs or [])
        self.minimum_interval_seconds = interval
        self.description = description
        self.default_status = default_status
        self.tags = dict(tags or {})
        self.metadata = dict(metadata or {})
        if asset_key is not None:
            from kubedag.definitions.asset_key import to_asset_key

            asset_key = to_asset_key(asset_key)
        self.asset_key = asset_key

    @property
    def job_name(self) -> str | None:
        return self.job.name if self.job is not None else None

    @property
    def job_names(self) -> list[str]:
        return [job.name for job in self.jobs]

    def evaluate_tick(self, context: Any) -> Any:
        """What this sensor asks for now (the reference's `evaluate_tick`): `.run_requests`,
        `.skip_message`, `.cursor`, `.dynamic_partitions_requests`. The cursor is not saved."""
        from kubedag.definitions.engine import engine

        return engine().evaluate_sensor(self, context)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the sensor function directly (in tests): `my_sensor(context)`."""
        return self.evaluation_fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<SensorDefinition {self.name}>"


def sensor(
    job: Any = None,
    *,
    jobs: Sequence[Any] | None = None,
    target: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """Declare a sensor: the function gets a context and returns RunRequests, a SkipReason or a
    SensorResult. It is evaluated at most every `minimum_interval_seconds` (default 30)."""

    def decorate(fn: Callable[..., Any]) -> SensorDefinition:
        return SensorDefinition(
            name or fn.__name__,
            fn,
            job=job,
            jobs=jobs,
            target=target,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or (fn.__doc__ or "").strip() or None,
            default_status=default_status,
            tags=tags,
            metadata=metadata,
        )

    return decorate


def asset_sensor(
    asset_key: Any,
    *,
    job: Any = None,
    jobs: Sequence[Any] | None = None,
    target: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """Declare a sensor that fires on new materializations of `asset_key`: the function gets
    `(context, asset_event)`, the newest materialization (an `EventLogEntry`) since the last
    one it was given; the cursor is that event's storage id."""
    if asset_key is None:
        raise InvalidDefinitionError("@asset_sensor needs asset_key=dg.AssetKey(…).")

    def decorate(fn: Callable[..., Any]) -> SensorDefinition:
        return SensorDefinition(
            name or fn.__name__,
            fn,
            job=job,
            jobs=jobs,
            target=target,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or (fn.__doc__ or "").strip() or None,
            default_status=default_status,
            asset_key=asset_key,
            tags=tags,
            metadata=metadata,
        )

    return decorate
