"""`Instance`: where runs, events, schedule state, stored values and step logs live.

- `Instance.ephemeral()`: everything in memory, values in a temporary directory removed on
  `dispose()`; `materialize()` makes one when given none.
- `Instance.get()`: the local instance in `$KUBEDAG_HOME` (default `~/.kubedag`), configured by
  `$KUBEDAG_HOME/kubedag.yaml`; with no file, SQLite (`kubedag.db`) and local files there.
- `Instance.from_config(document)`: the same document from elsewhere (the operator passes the
  `Instance` custom resource's spec).

An instance can be handed to another process as `instance.get_ref()` (the unresolved document
plus its home): environment references travel by name, so secrets never leave the environment.
The methods below are the vocabulary the rest of kubedag uses; each delegates to one storage.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.errors import InstanceConfigError
from kubedag.instance.config import InstanceConfig, parse_instance_config
from kubedag.records.events import EventLogEntry, EventType
from kubedag.records.instance_ref import INSTANCE_REF_ENV, InstanceRef
from kubedag.records.run import Run, RunStatus, new_run_id
from kubedag.storage.base import EventLogStorage, RunStorage, ScheduleStorage
from kubedag.storage.records import (
    AssetRecord,
    DaemonHeartbeat,
    EventLogRecord,
    EventRecordsFilter,
    InstigatorState,
    InstigatorType,
    RunRecord,
    RunsFilter,
    Tick,
    TickStatus,
)

if TYPE_CHECKING:
    from kubedag.compute_logs.manager import ComputeLogManager
    from kubedag.runs.coordinators import RunCoordinator
    from kubedag.runs.launchers.base import RunLauncher
    from kubedag.runs.monitoring_settings import RunMonitoringSettings
    from kubedag.storage.event_writer import BufferedEventWriter
    from kubedag.storage.sql.database import Database
    from kubedag.storage.sql.migration import MigrationResult

KUBEDAG_HOME_ENV = "KUBEDAG_HOME"
CONFIG_FILENAME = "kubedag.yaml"


def kubedag_home() -> Path:
    return Path(os.environ.get(KUBEDAG_HOME_ENV) or Path.home() / ".kubedag").expanduser()


def _read_config_file(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InstanceConfigError(f"{path}: not valid YAML{where}: {problem}.") from None
    except OSError as exc:
        raise InstanceConfigError(f"{path}: cannot read the instance config: {exc}.") from None


def _describe_compute_logs(manager: ComputeLogManager) -> str:
    """Where step logs go, for people: the class and its location, never credentials."""
    where = [
        f"{name}={value}"
        for name in ("base_dir", "bucket", "prefix", "endpoint_url")
        if (value := getattr(manager, name, None))
    ]
    return f"{type(manager).__name__}({', '.join(where)})"


class Instance:
    """Runs, events, schedule state, stored values and step logs, held together."""

    def __init__(
        self,
        *,
        run_storage: RunStorage,
        event_log_storage: EventLogStorage,
        root_directory: str,
        is_ephemeral: bool,
        schedule_storage: ScheduleStorage | None = None,
        compute_log_manager: ComputeLogManager | None = None,
        config: InstanceConfig | None = None,
        databases: Sequence[Database] = (),
        storage_description: str | None = None,
        run_coordinator: RunCoordinator | None = None,
        run_launcher: RunLauncher | None = None,
        run_monitoring: RunMonitoringSettings | None = None,
    ) -> None:
        from kubedag.storage.memory import InMemoryScheduleStorage

        self.run_storage = run_storage
        self.event_log_storage = event_log_storage
        self.schedule_storage = schedule_storage or InMemoryScheduleStorage()
        self._compute_log_manager = compute_log_manager
        self.root_directory = root_directory
        self.is_ephemeral = is_ephemeral
        self.config = config
        self.databases = list(databases)
        self.storage_description = storage_description or "in memory"
        self._disposed = False
        self._owns_directory = False
        self._storage_directory: str | None = None
        self.home = root_directory
        self._run_coordinator = run_coordinator
        self._run_launcher = run_launcher
        self._run_monitoring = run_monitoring
        for part in (run_coordinator, run_launcher):
            if part is not None:
                part.register_instance(self)

    # -- construction ---------------------------------------------------------------------------
    @staticmethod
    def ephemeral(tempdir: str | None = None) -> Instance:
        from kubedag.storage.memory import (
            InMemoryEventLogStorage,
            InMemoryRunStorage,
            InMemoryScheduleStorage,
        )

        return Instance(
            run_storage=InMemoryRunStorage(),
            event_log_storage=InMemoryEventLogStorage(),
            schedule_storage=InMemoryScheduleStorage(),
            root_directory=tempdir or "",
            is_ephemeral=True,
        )

    @staticmethod
    def get(*, check_schema: bool = True) -> Instance:
        """The local instance: `$KUBEDAG_HOME/kubedag.yaml`, or SQLite in `$KUBEDAG_HOME`.

        In a run worker launched with `KUBEDAG_INSTANCE_REF` set, that reference wins."""
        ref = os.environ.get(INSTANCE_REF_ENV)
        if ref:
            return Instance.from_ref(InstanceRef.from_json(ref), check_schema=check_schema)
        home = kubedag_home()
        path = home / CONFIG_FILENAME
        document = _read_config_file(path) if path.exists() else {}
        return Instance.from_config(
            document, home=str(home), source=str(path), check_schema=check_schema
        )

    @staticmethod
    def from_config(
        document: Mapping[str, Any] | None,
        *,
        home: str | None = None,
        source: str = "instance config",
        check_schema: bool = True,
    ) -> Instance:
        """Build an instance from a configuration document (see `kubedag.instance.config`).

        The schema of each database is checked (or created, when empty) right away, so a
        wrong or unreachable database fails here; `check_schema=False` skips that, for
        `kubedag instance migrate`, which exists to fix an out-of-date schema."""
        from kubedag.instance.components import (
            build_compute_log_manager,
            build_run_coordinator,
            build_run_launcher,
            build_run_monitoring,
            build_storages,
            local_artifact_directory,
        )

        config = parse_instance_config(dict(document or {}), source)
        root = os.path.abspath(os.path.expanduser(home or str(kubedag_home())))
        os.makedirs(root, exist_ok=True)
        storages = build_storages(config, root)
        try:
            for database in storages.databases:
                if check_schema:
                    database.ensure_schema()
                else:
                    database.skip_schema_check()
            instance = Instance(
                run_storage=storages.run_storage,
                event_log_storage=storages.event_log_storage,
                schedule_storage=storages.schedule_storage,
                compute_log_manager=build_compute_log_manager(config, root),
                root_directory=local_artifact_directory(config, root),
                is_ephemeral=False,
                config=config,
                databases=storages.databases,
                storage_description=storages.describe(),
                run_coordinator=build_run_coordinator(config),
                run_launcher=build_run_launcher(config),
                run_monitoring=build_run_monitoring(config),
            )
        except BaseException:
            for database in storages.databases:
                database.dispose()
            raise
        instance.home = root
        return instance

    @staticmethod
    def from_ref(ref: InstanceRef, *, check_schema: bool = True) -> Instance:
        return Instance.from_config(
            ref.document, home=ref.home, source="instance reference", check_schema=check_schema
        )

    def get_ref(self) -> InstanceRef:
        """A serializable reference for another process (a run worker) to open this instance."""
        if self.is_ephemeral or self.config is None:
            raise InstanceConfigError(
                "An ephemeral instance lives in one process and cannot be handed to another. "
                "Use Instance.get() (kubedag.yaml) or Instance.from_config(...) to launch runs "
                "in other processes."
            )
        return InstanceRef(self.home or self.root_directory, dict(self.config.document))

    # -- parts ----------------------------------------------------------------------------------
    @property
    def compute_log_manager(self) -> ComputeLogManager:
        if self._compute_log_manager is None:
            from kubedag.compute_logs.noop import NoOpComputeLogManager

            self._compute_log_manager = NoOpComputeLogManager()
        return self._compute_log_manager

    def storage_directory(self) -> str:
        """Where the default I/O manager stores values (created on first use, then remembered:
        every stored or loaded value asks for it)."""
        if self._storage_directory is None:
            if not self.root_directory:
                import tempfile

                self.root_directory = tempfile.mkdtemp(prefix="kubedag-")
                self._owns_directory = True
            path = os.path.join(self.root_directory, "storage")
            os.makedirs(path, exist_ok=True)
            self._storage_directory = path
        return self._storage_directory

    @property
    def run_coordinator(self) -> RunCoordinator:
        """Decides when a submitted run launches (`run_coordinator`; default: at once)."""
        if self._run_coordinator is None:
            from kubedag.runs.coordinators import DefaultRunCoordinator

            self._run_coordinator = DefaultRunCoordinator()
            self._run_coordinator.register_instance(self)
        return self._run_coordinator

    @property
    def run_launcher(self) -> RunLauncher:
        """Starts run workers (`run_launcher`; default: local processes)."""
        if self._run_launcher is None:
            from kubedag.runs.launchers.local_process import LocalProcessRunLauncher

            self._run_launcher = LocalProcessRunLauncher()
            self._run_launcher.register_instance(self)
        return self._run_launcher

    @property
    def managed_python_loggers(self) -> list[str]:
        """Logger names whose records runs capture into the event log (`python_logs`)."""
        return (
            list(self.config.python_logs.get("managed_python_loggers", [])) if self.config else []
        )

    @property
    def python_log_level(self) -> str | None:
        """The level runs set on the managed loggers (`python_logs.python_log_level`)."""
        return self.config.python_logs.get("python_log_level") if self.config else None

    @property
    def run_monitoring(self) -> RunMonitoringSettings:
        """The `run_monitoring` settings (defaults when not configured)."""
        if self._run_monitoring is None:
            from kubedag.runs.monitoring_settings import RunMonitoringSettings

            self._run_monitoring = RunMonitoringSettings()
        return self._run_monitoring

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        for part in (self._run_coordinator, self._run_launcher):
            if part is not None:
                part.dispose()
        if self._compute_log_manager is not None:
            self._compute_log_manager.dispose()
        for database in self.databases:
            database.dispose()
        if self._owns_directory:
            shutil.rmtree(self.root_directory, ignore_errors=True)

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # -- schema ---------------------------------------------------------------------------------
    def migrate(self) -> list[MigrationResult]:
        """Bring every SQL database of this instance to the current schema."""
        from kubedag.storage.sql.migration import upgrade

        return [upgrade(database) for database in self.databases]

    def check_storage(self, retry_seconds: float | None = 5.0) -> dict[str, str | None]:
        """The schema revision of each SQL database, read now: a cheap round trip that says
        the storage is still reachable (raises `StorageUnavailableError`, naming host, port and
        database, when it is not — after retrying for `retry_seconds`, by default shorter than a
        storage call's budget, which None keeps: a health check should answer soon)."""
        from kubedag.storage.sql.migration import current_revision

        return {
            database.description: database.with_retries(
                current_revision, write=False, retry_seconds=retry_seconds
            )
            for database in self.databases
        }

    def info(self) -> dict[str, Any]:
        """What this instance is made of, for `kubedag instance info` (no secrets)."""
        from kubedag.storage.sql.migration import HEAD

        schemas = self.check_storage(retry_seconds=None)
        return {
            "home": self.home or self.root_directory,
            "config_source": self.config.source if self.config else None,
            "ephemeral": self.is_ephemeral,
            "storage": self.storage_description,
            "run_storage": type(self.run_storage).__name__,
            "event_log_storage": type(self.event_log_storage).__name__,
            "schedule_storage": type(self.schedule_storage).__name__,
            "schema_revisions": schemas,
            "expected_schema_revision": HEAD if self.databases else None,
            "compute_logs": _describe_compute_logs(self.compute_log_manager),
            "local_artifact_storage": self.root_directory,
        }

    # -- runs -----------------------------------------------------------------------------------
    def create_run(
        self,
        *,
        job_name: str,
        run_id: str | None = None,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        status: RunStatus = RunStatus.NOT_STARTED,
        parent_run_id: str | None = None,
        root_run_id: str | None = None,
        asset_selection: Iterable[AssetKey] | None = None,
        step_keys_to_execute: tuple[str, ...] | None = None,
        partition: str | None = None,
        code_location: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Store a new run (NOT_STARTED unless `status` says otherwise). With `idempotency_key`
        (automation names each run it creates deterministically: `schedule:…`, `sensor:…`), a
        run stored earlier under the same key is returned instead, so creating it twice is
        harmless."""
        run = Run(
            job_name=job_name,
            run_id=run_id or new_run_id(),
            run_config=dict(run_config or {}),
            status=status,
            tags=dict(tags or {}),
            parent_run_id=parent_run_id,
            root_run_id=root_run_id,
            asset_selection=frozenset(asset_selection) if asset_selection is not None else None,
            step_keys_to_execute=step_keys_to_execute,
            partition=partition,
            code_location=dict(code_location) if code_location is not None else None,
        )
        if idempotency_key is None:
            return self.run_storage.add_run(run)
        return self.run_storage.add_run(run, idempotency_key=idempotency_key)

    def get_run_by_idempotency_key(self, idempotency_key: str) -> Run | None:
        """The run created with `idempotency_key`, if any."""
        return self.run_storage.get_run_by_idempotency_key(idempotency_key)

    def update_run_status(self, run_id: str, status: RunStatus) -> Run:
        """Move a run to `status`; a change the transitions table forbids raises
        `RunStatusTransitionError` (`kubedag.records.transitions`)."""
        return self.run_storage.update_run_status(run_id, status)

    # -- launching and stopping runs (see docs/run-lifecycle.md) --------------------------------
    def submit_run(self, run_id: str) -> Run:
        """Hand a NOT_STARTED run to the run coordinator: launched at once (default) or queued
        for `kubedag daemon` (queued). Returns the run as it is now."""
        from kubedag.runs.coordinators import SubmitRunContext
        from kubedag.runs.lifecycle import get_run

        return self.run_coordinator.submit_run(SubmitRunContext(get_run(self, run_id), self))

    def launch_run(self, run_id: str) -> Run:
        """Move a NOT_STARTED or QUEUED run to STARTING and start its worker through the run
        launcher; if the launcher fails, the run ends FAILURE and `RunLaunchError` is raised."""
        from kubedag.runs.lifecycle import launch_run

        return launch_run(self, run_id)

    def resume_run(self, run_id: str, reason: str = "its worker died") -> Run:
        """Start a new worker for a STARTED run whose worker is gone (the run monitor does this
        up to `run_monitoring.max_resume_run_attempts` times)."""
        from kubedag.runs.lifecycle import resume_run

        return resume_run(self, run_id, reason)

    def terminate_run(self, run_id: str) -> bool:
        """Cancel a run: CANCELED at once if it has no worker yet (NOT_STARTED, QUEUED),
        otherwise CANCELING while its worker stops, then CANCELED. False if it had finished."""
        return self.run_coordinator.cancel_run(run_id)

    def get_run_by_id(self, run_id: str) -> Run | None:
        return self.run_storage.get_run_by_id(run_id)

    def get_run_record_by_id(self, run_id: str) -> RunRecord | None:
        return self.run_storage.get_run_record_by_id(run_id)

    def get_runs(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> list[Run]:
        return self.run_storage.get_runs(filters, limit, cursor, ascending)

    def get_run_records(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        return self.run_storage.get_run_records(filters, limit, cursor, ascending)

    def get_runs_count(self, filters: RunsFilter | None = None) -> int:
        return self.run_storage.get_runs_count(filters)

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> Run:
        return self.run_storage.add_run_tags(run_id, tags)

    def delete_run(self, run_id: str) -> None:
        """Forget a run: its record, its events and its step logs."""
        self.run_storage.delete_run(run_id)
        self.event_log_storage.delete_events(run_id)
        self.compute_log_manager.delete_logs(run_id)

    # -- events ---------------------------------------------------------------------------------
    def store_event_entry(self, entry: EventLogEntry) -> None:
        self.event_log_storage.store_event(entry)

    def store_event_entries(self, entries: Sequence[EventLogEntry]) -> list[int]:
        return self.event_log_storage.store_events(entries)

    def event_writer(self) -> BufferedEventWriter | None:
        """A batching writer for a run's events, or None when each write is already cheap
        (in memory)."""
        if self.is_ephemeral:
            return None
        from kubedag.storage.event_writer import BufferedEventWriter

        return BufferedEventWriter(self.event_log_storage)

    def all_logs(
        self, run_id: str, of_type: EventType | Iterable[EventType] | None = None
    ) -> list[EventLogEntry]:
        records = self.event_log_storage.get_records_for_run(run_id, of_type=of_type)
        return [r.event_log_entry for r in records]

    def get_records_for_run(
        self,
        run_id: str,
        cursor: int | None = None,
        of_type: EventType | Iterable[EventType] | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[EventLogRecord]:
        return self.event_log_storage.get_records_for_run(run_id, cursor, of_type, limit, ascending)

    def get_event_records(
        self,
        event_records_filter: EventRecordsFilter | None = None,
        limit: int | None = None,
        ascending: bool = False,
    ) -> list[EventLogRecord]:
        return self.event_log_storage.get_event_records(event_records_filter, limit, ascending)

    def watch_run_events(
        self,
        run_id: str,
        cursor: int | None = None,
        *,
        poll_interval: float = 0.2,
        timeout: float | None = None,
    ) -> Iterator[EventLogRecord]:
        """Every event of a run after storage id `cursor`, as it is stored, until the run has
        finished and its last event has been read (or `timeout` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get_run_by_id(run_id)
            finished = run is None or run.is_finished
            records = self.get_records_for_run(run_id, cursor)
            for record in records:
                cursor = record.storage_id
                yield record
            if finished and not records:
                return
            if finished:
                continue  # read once more: events may trail the status change
            if deadline is not None and time.monotonic() >= deadline:
                return
            if not records:
                time.sleep(poll_interval)  # polling the database: nothing to wake us

    # -- assets ---------------------------------------------------------------------------------
    def get_latest_materialization_event(self, asset_key: Any) -> EventLogEntry | None:
        key = to_asset_key(asset_key)
        record = self.event_log_storage.get_latest_materialization_records([key]).get(key)
        return record.event_log_entry if record else None

    def get_latest_materialization_events(
        self, asset_keys: Iterable[Any]
    ) -> dict[AssetKey, EventLogEntry | None]:
        keys = [to_asset_key(k) for k in asset_keys]
        found = self.event_log_storage.get_latest_materialization_records(keys)
        return {k: (r.event_log_entry if (r := found.get(k)) is not None else None) for k in keys}

    def get_asset_records(self, asset_keys: Iterable[Any] | None = None) -> list[AssetRecord]:
        keys = None if asset_keys is None else [to_asset_key(k) for k in asset_keys]
        return self.event_log_storage.get_asset_records(keys)

    def get_asset_keys(self) -> list[AssetKey]:
        return self.event_log_storage.get_asset_keys()

    def get_materialized_partitions(self, asset_key: Any) -> set[str]:
        return self.event_log_storage.get_materialized_partitions(to_asset_key(asset_key))

    def get_latest_materialization_records_by_partition(
        self, asset_key: Any, partitions: Iterable[str] | None = None
    ) -> dict[str, EventLogRecord]:
        return self.event_log_storage.get_latest_materialization_records_by_partition(
            to_asset_key(asset_key), partitions
        )

    # -- dynamic partitions ---------------------------------------------------------------------
    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        if isinstance(partition_keys, str):
            raise TypeError("partition_keys must be a list of keys, not one string.")
        self.event_log_storage.add_dynamic_partitions(partitions_def_name, list(partition_keys))

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        return self.event_log_storage.get_dynamic_partitions(partitions_def_name)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return self.event_log_storage.has_dynamic_partition(partitions_def_name, partition_key)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        self.event_log_storage.delete_dynamic_partition(partitions_def_name, partition_key)

    # -- backfills (see kubedag.backfills) ------------------------------------------------------
    @property
    def backfill_storage(self) -> Any:
        """Where backfills are stored: the run storage's database, or memory (ephemeral)."""
        storage = getattr(self, "_backfill_storage", None)
        if storage is None:
            from kubedag.backfills.storage import backfill_storage_for

            storage = backfill_storage_for(self.run_storage)
            self._backfill_storage = storage
        return storage

    def add_backfill(self, backfill: Any) -> None:
        self.backfill_storage.add_backfill(backfill)

    def get_backfill(self, backfill_id: str) -> Any:
        """The `Backfill` with this id, or None."""
        return self.backfill_storage.get_backfill(backfill_id)

    def get_backfills(self, status: Any = None, limit: int | None = None) -> list[Any]:
        """Backfills newest first, optionally only those with `status` (a `BackfillStatus`)."""
        return list(self.backfill_storage.get_backfills(status=status, limit=limit))

    def update_backfill(self, backfill: Any) -> None:
        self.backfill_storage.update_backfill(backfill)

    # -- schedules and sensors ------------------------------------------------------------------
    def all_instigator_state(
        self, instigator_type: InstigatorType | None = None
    ) -> list[InstigatorState]:
        return self.schedule_storage.all_instigator_state(instigator_type)

    def get_instigator_state(self, selector_id: str) -> InstigatorState | None:
        return self.schedule_storage.get_instigator_state(selector_id)

    def add_instigator_state(self, state: InstigatorState) -> InstigatorState:
        return self.schedule_storage.add_instigator_state(state)

    def update_instigator_state(self, state: InstigatorState) -> InstigatorState:
        return self.schedule_storage.update_instigator_state(state)

    def delete_instigator_state(self, selector_id: str) -> None:
        self.schedule_storage.delete_instigator_state(selector_id)

    def create_tick(self, tick: Tick) -> Tick:
        return self.schedule_storage.create_tick(tick)

    def update_tick(self, tick: Tick) -> Tick:
        return self.schedule_storage.update_tick(tick)

    def get_ticks(
        self,
        selector_id: str,
        before: float | None = None,
        after: float | None = None,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
    ) -> list[Tick]:
        return self.schedule_storage.get_ticks(selector_id, before, after, limit, statuses)

    def purge_ticks(
        self, selector_id: str, before: float, statuses: Sequence[TickStatus] | None = None
    ) -> int:
        return self.schedule_storage.purge_ticks(selector_id, before, statuses)

    # -- key-value table and daemon heartbeats ----------------------------------------------------
    def kvs_get(self, keys: Iterable[str]) -> dict[str, str]:
        return self.run_storage.kvs_get(keys)

    def kvs_set(self, pairs: Mapping[str, str]) -> None:
        self.run_storage.kvs_set(pairs)

    def add_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        self.run_storage.add_daemon_heartbeat(heartbeat)

    def get_daemon_heartbeats(self) -> dict[str, DaemonHeartbeat]:
        return self.run_storage.get_daemon_heartbeats()
