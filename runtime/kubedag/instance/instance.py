"""`Instance`: run storage, event log and a storage directory, held together.

`Instance.ephemeral()` keeps runs and events in memory and values in a temporary directory that
is removed when the instance is disposed; `materialize()` uses one when none is given.
`Instance.get()` is the local default: `$KUBEDAG_HOME` (default `~/.kubedag`) as the storage
directory. Persistent SQL storages plug in behind the same methods.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.execution.events import EventLogEntry
from kubedag.runs.run import Run, RunStatus, new_run_id
from kubedag.storage.memory import (
    EventLogRecord,
    InMemoryEventLogStorage,
    InMemoryRunStorage,
    RunRecord,
)

KUBEDAG_HOME_ENV = "KUBEDAG_HOME"


def kubedag_home() -> Path:
    return Path(os.environ.get(KUBEDAG_HOME_ENV) or Path.home() / ".kubedag")


class Instance:
    """Where runs, events and stored values live."""

    def __init__(
        self,
        *,
        run_storage: InMemoryRunStorage,
        event_log_storage: InMemoryEventLogStorage,
        root_directory: str,
        is_ephemeral: bool,
    ) -> None:
        self.run_storage = run_storage
        self.event_log_storage = event_log_storage
        self.root_directory = root_directory
        self.is_ephemeral = is_ephemeral
        self._disposed = False
        self._owns_directory = False
        self._storage_directory: str | None = None

    @staticmethod
    def ephemeral(tempdir: str | None = None) -> Instance:
        return Instance(
            run_storage=InMemoryRunStorage(),
            event_log_storage=InMemoryEventLogStorage(),
            root_directory=tempdir or "",
            is_ephemeral=True,
        )

    @staticmethod
    def get() -> Instance:
        home = kubedag_home()
        home.mkdir(parents=True, exist_ok=True)
        return Instance(
            run_storage=InMemoryRunStorage(),
            event_log_storage=InMemoryEventLogStorage(),
            root_directory=str(home),
            is_ephemeral=False,
        )

    # -- directories --------------------------------------------------------------------------
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

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        if self._owns_directory:
            shutil.rmtree(self.root_directory, ignore_errors=True)

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # -- runs ---------------------------------------------------------------------------------
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
    ) -> Run:
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
        )
        return self.run_storage.add_run(run)

    def update_run_status(self, run_id: str, status: RunStatus) -> Run:
        return self.run_storage.update_status(run_id, status)

    def get_run_by_id(self, run_id: str) -> Run | None:
        return self.run_storage.get_run_by_id(run_id)

    def get_run_record_by_id(self, run_id: str) -> RunRecord | None:
        return self.run_storage.get_run_record(run_id)

    def get_runs(self) -> list[Run]:
        return self.run_storage.get_runs()

    def delete_run(self, run_id: str) -> None:
        self.run_storage.delete_run(run_id)
        self.event_log_storage.delete_events(run_id)

    # -- events -------------------------------------------------------------------------------
    def store_event_entry(self, entry: EventLogEntry) -> None:
        self.event_log_storage.store_event(entry)

    def all_logs(self, run_id: str) -> list[EventLogEntry]:
        return [r.event_log_entry for r in self.event_log_storage.get_records_for_run(run_id)]

    def get_latest_materialization_event(self, asset_key: Any) -> EventLogEntry | None:
        key = to_asset_key(asset_key)
        records = self.event_log_storage.get_latest_materialization_records([key])
        record: EventLogRecord | None = records.get(key)
        return record.event_log_entry if record else None
