"""Schedule and sensor declarations (what to run and when). Evaluating them is automation's job."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def check_cron(expression: str, owner: str) -> None:
    if expression.strip() in _CRON_ALIASES:
        return
    if len(expression.split()) != 5:
        raise InvalidDefinitionError(
            f"{owner}: cron_schedule {expression!r} must have 5 fields (minute hour day month "
            "weekday) or be one of " + ", ".join(sorted(_CRON_ALIASES)) + "."
        )


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


class ScheduleDefinition:
    """Run a job on a cron schedule."""

    def __init__(
        self,
        name: str | None = None,
        *,
        cron_schedule: str | list[str],
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
    ) -> None:
        crons = [cron_schedule] if isinstance(cron_schedule, str) else list(cron_schedule)
        if job is None and target is None and job_name is None:
            raise InvalidDefinitionError("ScheduleDefinition needs job=… or target=….")
        base = name or (job.name if job is not None else None) or job_name
        self.name = name or f"{base}_schedule"
        for cron in crons:
            check_cron(cron, f"schedule '{self.name}'")
        self.cron_schedule: str | list[str] = cron_schedule
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

    def __repr__(self) -> str:
        return f"<ScheduleDefinition {self.name} {self.cron_schedule!r}>"


def schedule(
    cron_schedule: str | list[str] | None = None,
    *,
    job: Any = None,
    target: Any = None,
    name: str | None = None,
    execution_timezone: str | None = None,
    description: str | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    job_name: str | None = None,
) -> Callable[[Callable[..., Any]], ScheduleDefinition]:
    """Declare a schedule whose function decides what to run at each tick."""
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
        )

    return decorate


class SensorDefinition:
    """Poll a condition and request runs when it holds."""

    def __init__(
        self,
        name: str,
        evaluation_fn: Callable[..., Any],
        *,
        job: Any = None,
        jobs: list[Any] | None = None,
        target: Any = None,
        minimum_interval_seconds: int = 30,
        description: str | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        asset_key: Any = None,
    ) -> None:
        self.name = name
        self.evaluation_fn = evaluation_fn
        self.job = _job_for_target(name, job, target)
        self.target_assets = target_assets(target)
        self.jobs = [self.job] if self.job is not None else list(jobs or [])
        self.minimum_interval_seconds = minimum_interval_seconds
        self.description = description
        self.default_status = default_status
        self.asset_key = asset_key

    @property
    def job_name(self) -> str | None:
        return self.job.name if self.job is not None else None

    def __repr__(self) -> str:
        return f"<SensorDefinition {self.name}>"


def sensor(
    job: Any = None,
    *,
    jobs: list[Any] | None = None,
    target: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int = 30,
    description: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """Declare a sensor: the function gets a context and returns RunRequests or a SkipReason."""

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
        )

    return decorate
