"""The definition snapshot: what a code location defines, as plain data that crosses HTTP.

The operator cannot import user code: it only sees the code server's answers. The snapshot is
what it needs to fill a `CodeLocation`'s status and to validate `Job` and `Schedule` objects
against the code: jobs, assets, checks, schedules and sensors, each reduced to names, keys and
settings, never to code.

It is stable: every list is sorted and every mapping is written with sorted keys, so the same
definitions give the same JSON in every process. `content_hash` is the SHA-256 of that JSON
(without the header fields), so the operator can tell that the definitions changed by comparing
one string. It covers what the definitions declare, not the bodies of functions: a change that
only touches a function's body shows in the image digest, not in the hash.

`build_snapshot` is a pure function of a loaded `Definitions`; `snapshot_to_dict` and
`snapshot_from_dict` are the JSON form, used by the server and the client.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kubedag.definitions.definitions import IMPLICIT_ASSET_JOB_NAME, Definitions
from kubedag.version import __version__

SNAPSHOT_VERSION = 1
DEFAULT_EXECUTOR_NAME = "multi_or_in_process_executor"


@dataclass(frozen=True)
class JobSnapshot:
    name: str
    description: str | None
    asset_selection: list[str] | None  # asset keys (`a/b`); None for a job of ops
    step_keys: list[str]
    partitions: dict[str, Any] | None
    tags: dict[str, Any]
    executor: str
    implicit: bool  # the implicit asset job (`__ASSET_JOB`) automation conditions run
    run_tags: dict[str, Any] = field(default_factory=dict)  # what each run of it is tagged with


@dataclass(frozen=True)
class AssetSnapshot:
    key: str
    group: str
    deps: list[str]
    partitions: dict[str, Any] | None
    automation_condition: str | None  # its label: `eager`, `on_cron(0 * * * *, UTC)`, …
    description: str | None
    is_external: bool
    code_version: str | None
    owners: list[str]
    tags: dict[str, Any]
    kinds: list[str]


@dataclass(frozen=True)
class AssetCheckSnapshot:
    key: str  # `asset/key:check_name`
    asset_key: str
    name: str
    description: str | None
    blocking: bool


@dataclass(frozen=True)
class ScheduleSnapshot:
    name: str
    cron_schedules: list[str]
    timezone: str
    job_name: str | None
    default_status: str
    description: str | None
    tags: dict[str, Any]
    partitioned: bool  # built by build_schedule_from_partitioned_job


@dataclass(frozen=True)
class SensorSnapshot:
    name: str
    type: str  # "standard" or "asset"
    job_names: list[str]
    minimum_interval_seconds: float
    default_status: str
    description: str | None
    asset_key: str | None  # an asset sensor's asset
    tags: dict[str, Any]


@dataclass(frozen=True)
class CodeLocationSnapshot:
    """Everything the operator learns about a code location without importing it."""

    code_location: str
    kubedag_version: str
    content_hash: str
    snapshot_version: int = SNAPSHOT_VERSION
    jobs: list[JobSnapshot] = field(default_factory=list)
    assets: list[AssetSnapshot] = field(default_factory=list)
    asset_checks: list[AssetCheckSnapshot] = field(default_factory=list)
    schedules: list[ScheduleSnapshot] = field(default_factory=list)
    sensors: list[SensorSnapshot] = field(default_factory=list)

    @property
    def job_names(self) -> list[str]:
        return [job.name for job in self.jobs]

    @property
    def schedule_names(self) -> list[str]:
        return [schedule.name for schedule in self.schedules]

    @property
    def sensor_names(self) -> list[str]:
        return [sensor.name for sensor in self.sensors]


# -- building ----------------------------------------------------------------------------------
def build_snapshot(defs: Definitions, location_name: str) -> CodeLocationSnapshot:
    """The snapshot of loaded definitions; the same definitions always give the same one."""
    graph = defs.asset_graph
    jobs = [
        JobSnapshot(
            name=job.name,
            description=job.description,
            asset_selection=(
                sorted(key.to_user_string() for key in job.selection.asset_keys)
                if job.selection is not None
                else None
            ),
            step_keys=list(job.step_keys),
            partitions=partitions_summary(job.partitions_def),
            tags=json_safe(job.tags),
            executor=job.executor_def.name
            if job.executor_def is not None
            else DEFAULT_EXECUTOR_NAME,
            implicit=job.name == IMPLICIT_ASSET_JOB_NAME,
            run_tags=json_safe(job.run_tags),
        )
        for job in defs.get_all_job_defs()
    ]
    assets = [
        AssetSnapshot(
            key=key.to_user_string(),
            group=spec.effective_group,
            deps=sorted(parent.to_user_string() for parent in graph.parents[key]),
            partitions=partitions_summary(spec.partitions_def),
            automation_condition=(
                spec.automation_condition.label if spec.automation_condition is not None else None
            ),
            description=spec.description,
            is_external=key in graph.external_keys,
            code_version=spec.code_version,
            owners=list(spec.owners),
            tags=json_safe(spec.tags),
            kinds=sorted(spec.kinds),
        )
        for key, spec in graph.specs.items()
    ]
    checks = [
        AssetCheckSnapshot(
            key=key.to_user_string(),
            asset_key=key.asset_key.to_user_string(),
            name=key.name,
            description=spec.description,
            blocking=spec.blocking,
        )
        for key, spec in graph.check_specs.items()
    ]
    schedules = [
        ScheduleSnapshot(
            name=schedule.name,
            cron_schedules=list(schedule.cron_schedules) if schedule.is_resolved else [],
            timezone=schedule.timezone,
            job_name=schedule.job_name,
            default_status=schedule.default_status.value,
            description=schedule.description,
            tags=json_safe(schedule.tags),
            partitioned=schedule.partitioned is not None,
        )
        for schedule in defs.schedules
    ]
    sensors = [
        SensorSnapshot(
            name=sensor.name,
            type="asset" if sensor.asset_key is not None else "standard",
            job_names=list(sensor.job_names),
            minimum_interval_seconds=sensor.minimum_interval_seconds,
            default_status=sensor.default_status.value,
            description=sensor.description,
            asset_key=sensor.asset_key.to_user_string() if sensor.asset_key is not None else None,
            tags=json_safe(sensor.tags),
        )
        for sensor in defs.sensors
    ]
    content: dict[str, Any] = {
        "jobs": sorted(jobs, key=lambda item: item.name),
        "assets": sorted(assets, key=lambda item: item.key),
        "asset_checks": sorted(checks, key=lambda item: item.key),
        "schedules": sorted(schedules, key=lambda item: item.name),
        "sensors": sorted(sensors, key=lambda item: item.name),
    }
    return CodeLocationSnapshot(
        code_location=location_name,
        kubedag_version=__version__,
        content_hash=content_hash({name: [asdict(i) for i in v] for name, v in content.items()}),
        **content,
    )


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of `content`, as hex."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def partitions_summary(partitions_def: Any) -> dict[str, Any] | None:
    """What a partitions definition is, as data: its kind and the settings that define its keys
    (static keys are listed; dynamic keys live in the instance, so only the name is)."""
    from kubedag.definitions.partitions import (
        DynamicPartitionsDefinition,
        MultiPartitionsDefinition,
        StaticPartitionsDefinition,
        TimeWindowPartitionsDefinition,
    )

    if partitions_def is None:
        return None
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        cadence = partitions_def.schedule_type
        return {
            "type": "time_window",
            "schedule_type": cadence.value if cadence is not None else None,
            "cron_schedule": partitions_def.cron_schedule,
            "timezone": partitions_def.timezone,
            "fmt": partitions_def.fmt,
            "start": partitions_def.format_key(partitions_def.start),
            "end": (
                partitions_def.format_key(partitions_def.end)
                if partitions_def.end is not None
                else None
            ),
            "end_offset": partitions_def.end_offset,
            "description": str(partitions_def),
        }
    if isinstance(partitions_def, StaticPartitionsDefinition):
        keys = partitions_def.get_partition_keys()
        return {"type": "static", "partition_keys": keys, "description": str(partitions_def)}
    if isinstance(partitions_def, DynamicPartitionsDefinition):
        return {"type": "dynamic", "name": partitions_def.name, "description": str(partitions_def)}
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return {
            "type": "multi",
            "dimensions": [
                {"name": dim.name, "partitions": partitions_summary(dim.partitions_def)}
                for dim in partitions_def.partitions_defs
            ],
            "description": str(partitions_def),
        }
    return {"type": type(partitions_def).__name__, "description": str(partitions_def)}


def json_safe(value: Any) -> Any:
    """`value` with anything JSON cannot hold written as its `str` (tags are strings, but
    nothing checks job tags)."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# -- JSON --------------------------------------------------------------------------------------
def snapshot_to_dict(snapshot: CodeLocationSnapshot) -> dict[str, Any]:
    return asdict(snapshot)


def snapshot_from_dict(data: Mapping[str, Any]) -> CodeLocationSnapshot:
    """The snapshot a server sent; fields a newer server adds are ignored."""
    return CodeLocationSnapshot(
        code_location=data["code_location"],
        kubedag_version=data["kubedag_version"],
        content_hash=data["content_hash"],
        snapshot_version=data["snapshot_version"],
        jobs=[_known(JobSnapshot, item) for item in data.get("jobs", [])],
        assets=[_known(AssetSnapshot, item) for item in data.get("assets", [])],
        asset_checks=[_known(AssetCheckSnapshot, item) for item in data.get("asset_checks", [])],
        schedules=[_known(ScheduleSnapshot, item) for item in data.get("schedules", [])],
        sensors=[_known(SensorSnapshot, item) for item in data.get("sensors", [])],
    )


def _known(cls: Any, item: Mapping[str, Any]) -> Any:
    names = cls.__dataclass_fields__
    return cls(**{key: value for key, value in item.items() if key in names})
