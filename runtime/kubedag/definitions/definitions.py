"""`Definitions`: everything a code location exposes, validated as a whole when it loads.

Building a `Definitions` builds the asset graph (duplicate keys, inputs read from undefined
assets, cycles; a `deps=` key nothing defines becomes an external asset), resolves every job
against it and checks that each job's resources are bound — so a broken code location fails
when it is loaded, with the definition named, not halfway through a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubedag.definitions.asset_graph import AssetGraph, split_asset_like
from kubedag.definitions.asset_key import to_asset_key
from kubedag.definitions.assets import AssetsDefinition
from kubedag.definitions.job import JobDefinition, UnresolvedAssetJobDefinition
from kubedag.definitions.schedules import ScheduleDefinition, SensorDefinition
from kubedag.definitions.selection import AssetSelection
from kubedag.errors import (
    DefinitionNotFoundError,
    InvalidDefinitionError,
    InvalidSelectionError,
    UnknownAssetSelectionError,
)

IMPLICIT_ASSET_JOB_NAME = "__ASSET_JOB"


class Definitions:
    """The assets, checks, jobs, schedules, sensors and resources of one code location."""

    def __init__(
        self,
        assets: Iterable[Any] | None = None,
        schedules: Iterable[ScheduleDefinition] | None = None,
        sensors: Iterable[SensorDefinition] | None = None,
        jobs: Iterable[Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        executor: Any = None,
        loggers: Mapping[str, Any] | None = None,
        asset_checks: Iterable[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._assets_input = list(assets or [])
        self._checks_input = list(asset_checks or [])
        self.schedules = list(schedules or [])
        self.sensors = list(sensors or [])
        self.executor = executor
        self.loggers = dict(loggers or {})
        self.metadata = dict(metadata or {})
        # Assets named by a schedule's or sensor's `target=` belong to the code location too.
        self._automations: list[Any] = [*self.schedules, *self.sensors]
        targeted = [a for item in self._automations for a in item.target_assets]
        assets_defs, specs, checks = split_asset_like(
            [*self._assets_input, *self._checks_input, *targeted]
        )
        self.asset_graph = AssetGraph(assets_defs, specs, checks)
        self.resources = {**self.asset_graph.resource_defs(), **(resources or {})}
        self._jobs = self._resolve_jobs(list(jobs or []))
        # A partitioned schedule learns its cron expression from its job's partitions.
        self.schedules = [
            schedule.resolved_for(self._jobs[schedule.job_name])
            if schedule.job_name in self._jobs
            else schedule
            for schedule in self.schedules
        ]
        self._schedules: dict[str, ScheduleDefinition] = _by_name("schedule", self.schedules)
        self._sensors: dict[str, SensorDefinition] = _by_name("sensor", self.sensors)

    def _resolve_jobs(self, jobs: list[Any]) -> dict[str, JobDefinition]:
        candidates = list(jobs)
        for item in self._automations:
            targets = item.jobs if isinstance(item, SensorDefinition) else [item.job]
            candidates.extend(t for t in targets if t is not None)
        resolved: dict[str, JobDefinition] = {}
        sources: dict[str, Any] = {}
        for candidate in candidates:
            name = candidate.name
            if name in sources:
                if sources[name] is candidate:
                    continue
                raise InvalidDefinitionError(
                    f"Two different jobs are named '{name}'; job names must be unique."
                )
            sources[name] = candidate
            resolved[name] = self._resolve_job(candidate)
        if self.asset_graph.materializable_keys and IMPLICIT_ASSET_JOB_NAME not in resolved:
            implicit = UnresolvedAssetJobDefinition(IMPLICIT_ASSET_JOB_NAME, AssetSelection.all())
            resolved[IMPLICIT_ASSET_JOB_NAME] = self._resolve_job(implicit)
        return resolved

    def _resolve_job(self, candidate: Any) -> JobDefinition:
        if isinstance(candidate, UnresolvedAssetJobDefinition):
            try:
                job = candidate.resolve(self.asset_graph, self.resources, self.executor)
            except InvalidSelectionError as exc:
                raise UnknownAssetSelectionError(f"asset job '{candidate.name}': {exc}") from exc
        elif isinstance(candidate, JobDefinition):
            job = candidate.with_resources(self.resources)
            if job.executor_def is None and self.executor is not None:
                job.executor_def = self.executor
        else:
            raise InvalidDefinitionError(
                f"{candidate!r} is not a job: expected @dg.job or dg.define_asset_job(…)."
            )
        if job.logger_defs is None and self.loggers:  # the code location's loggers, by default
            job.logger_defs = dict(self.loggers)
        job.check_resources(job.resource_defs)
        return job

    # -- stored values --------------------------------------------------------------------------
    def get_asset_value_loader(self, instance: Any = None) -> Any:
        """An `AssetValueLoader` over these assets and resources (a context manager); with no
        instance, the local one (`Instance.get()`)."""
        from kubedag.definitions.engine import engine

        return engine().asset_value_loader(self, instance)

    def load_asset_value(
        self,
        asset_key: Any,
        *,
        python_type: type | None = None,
        instance: Any = None,
        partition_key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        """The stored value of one asset, loaded by its I/O manager as a downstream asset would."""
        with self.get_asset_value_loader(instance) as loader:
            return loader.load_asset_value(
                asset_key, python_type=python_type, partition_key=partition_key, metadata=metadata
            )

    # -- lookups ------------------------------------------------------------------------------
    def get_job_def(self, name: str) -> JobDefinition:
        try:
            return self._jobs[name]
        except KeyError:
            known = ", ".join(sorted(n for n in self._jobs if n != IMPLICIT_ASSET_JOB_NAME))
            raise DefinitionNotFoundError(
                f"No job named '{name}'. Jobs: {known or 'none'}."
            ) from None

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        return self.get_job_def(IMPLICIT_ASSET_JOB_NAME)

    def get_schedule_def(self, name: str) -> ScheduleDefinition:
        try:
            return self._schedules[name]
        except KeyError:
            raise DefinitionNotFoundError(
                f"No schedule named '{name}'. Schedules: {', '.join(sorted(self._schedules)) or 'none'}."
            ) from None

    def get_sensor_def(self, name: str) -> SensorDefinition:
        try:
            return self._sensors[name]
        except KeyError:
            raise DefinitionNotFoundError(
                f"No sensor named '{name}'. Sensors: {', '.join(sorted(self._sensors)) or 'none'}."
            ) from None

    def get_assets_def(self, key: Any) -> AssetsDefinition:
        asset_key = to_asset_key(key)
        producer = self.asset_graph.producer.get(asset_key)
        if producer is None:
            raise DefinitionNotFoundError(
                f"No asset '{asset_key.to_user_string()}' is computed here."
            )
        return producer

    @property
    def jobs(self) -> list[JobDefinition]:
        return [job for name, job in self._jobs.items() if name != IMPLICIT_ASSET_JOB_NAME]

    @property
    def assets(self) -> list[Any]:
        return list(self._assets_input)

    @property
    def asset_checks(self) -> list[Any]:
        return list(self._checks_input)

    def get_all_job_defs(self) -> list[JobDefinition]:
        return list(self._jobs.values())

    @staticmethod
    def merge(*defs: Definitions) -> Definitions:
        resources: dict[str, Any] = {}
        for item in defs:
            for key, value in item.resources.items():
                if key in resources and resources[key] is not value:
                    raise InvalidDefinitionError(
                        f"Definitions.merge: resource '{key}' is bound differently in two of them."
                    )
                resources[key] = value
        return Definitions(
            assets=[a for d in defs for a in d.assets],
            asset_checks=[c for d in defs for c in d.asset_checks],
            schedules=[s for d in defs for s in d.schedules],
            sensors=[s for d in defs for s in d.sensors],
            jobs=[j for d in defs for j in d._jobs_input_for_merge()],
            resources=resources,
            executor=next((d.executor for d in defs if d.executor is not None), None),
        )

    def _jobs_input_for_merge(self) -> list[JobDefinition]:
        return self.jobs

    @staticmethod
    def validate_loadable(defs: Definitions) -> None:
        """Raise if `defs` is not usable; building it already validated everything."""
        if not isinstance(defs, Definitions):
            raise InvalidDefinitionError(f"{defs!r} is not a dg.Definitions.")


def _by_name(kind: str, items: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in items:
        if item.name in result and result[item.name] is not item:
            raise InvalidDefinitionError(
                f"Two {kind}s are named '{item.name}'; names must be unique."
            )
        result[item.name] = item
    return result
