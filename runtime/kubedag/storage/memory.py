"""In-memory run and event-log storage, for ephemeral instances and tests.

Events get a storage id that only grows; it is the cursor for "what happened since".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kubedag.definitions.asset_key import AssetKey
from kubedag.execution.events import EventLogEntry, EventType
from kubedag.runs.run import Run, RunStatus


@dataclass(frozen=True)
class RunRecord:
    storage_id: int
    run: Run
    create_timestamp: float
    update_timestamp: float
    start_time: float | None = None
    end_time: float | None = None


@dataclass(frozen=True)
class EventLogRecord:
    storage_id: int
    event_log_entry: EventLogEntry


class InMemoryRunStorage:
    def __init__(self) -> None:
        self._records: dict[str, RunRecord] = {}
        self._lock = threading.Lock()

    def add_run(self, run: Run) -> Run:
        with self._lock:
            if run.run_id in self._records:
                raise ValueError(f"A run with id {run.run_id} already exists.")
            now = time.time()
            self._records[run.run_id] = RunRecord(len(self._records) + 1, run, now, now)
        return run

    def update_status(self, run_id: str, status: RunStatus) -> Run:
        with self._lock:
            record = self._records[run_id]
            now = time.time()
            start = record.start_time or (now if status is RunStatus.STARTED else None)
            end = now if status.is_finished else record.end_time
            run = record.run.with_status(status)
            self._records[run_id] = replace(
                record, run=run, update_timestamp=now, start_time=start, end_time=end
            )
        return run

    def get_run_by_id(self, run_id: str) -> Run | None:
        record = self._records.get(run_id)
        return record.run if record else None

    def get_run_record(self, run_id: str) -> RunRecord | None:
        return self._records.get(run_id)

    def get_runs(self) -> list[Run]:
        return [r.run for r in sorted(self._records.values(), key=lambda r: -r.storage_id)]

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self._records.pop(run_id, None)


class InMemoryEventLogStorage:
    def __init__(self) -> None:
        self._records: list[EventLogRecord] = []
        self._by_run: dict[str, list[EventLogRecord]] = {}
        self._latest_materialization: dict[AssetKey, EventLogRecord] = {}
        self._lock = threading.Lock()

    def store_event(self, entry: EventLogEntry) -> int:
        with self._lock:
            record = EventLogRecord(len(self._records) + 1, entry)
            self._records.append(record)
            self._by_run.setdefault(entry.run_id, []).append(record)
            event = entry.event
            if event is not None and event.event_type is EventType.ASSET_MATERIALIZATION:
                key = event.asset_key
                if key is not None:
                    self._latest_materialization[key] = record
            return record.storage_id

    def get_records_for_run(self, run_id: str, cursor: int = 0) -> list[EventLogRecord]:
        return [r for r in self._by_run.get(run_id, []) if r.storage_id > cursor]

    def get_latest_materialization_records(
        self, keys: Iterable[AssetKey]
    ) -> dict[AssetKey, EventLogRecord]:
        return {
            k: self._latest_materialization[k] for k in keys if k in self._latest_materialization
        }

    def all_records(self) -> list[EventLogRecord]:
        return list(self._records)

    def delete_events(self, run_id: str) -> None:
        with self._lock:
            removed = {r.storage_id for r in self._by_run.pop(run_id, [])}
            self._records = [r for r in self._records if r.storage_id not in removed]
            self._latest_materialization = {
                k: r for k, r in self._latest_materialization.items() if r.storage_id not in removed
            }
