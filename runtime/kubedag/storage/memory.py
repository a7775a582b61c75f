"""In-memory storages, for ephemeral instances (tests, `materialize()` without an instance).

They answer every query the SQL storages answer, with the same semantics, so code written
against an ephemeral instance behaves the same on SQLite or PostgreSQL. Storage ids only grow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from kubedag.definitions.asset_key import AssetKey
from kubedag.records.events import EventLogEntry, EventType
from kubedag.records.run import Run, RunStatus
from kubedag.records.transitions import IN_PROGRESS_STATUSES, checked_predecessors
from kubedag.storage.base import (
    BackfillStorage,
    ChooseRunsToLaunch,
    EventLogStorage,
    RunStorage,
    ScheduleStorage,
)
from kubedag.storage.records import (
    AssetEntry,
    AssetRecord,
    Backfill,
    BackfillStatus,
    DaemonHeartbeat,
    EventLogRecord,
    EventRecordsFilter,
    InstigatorState,
    InstigatorType,
    RunRecord,
    RunsFilter,
    Tick,
    TickStatus,
    to_timestamp,
)


def run_matches(record: RunRecord, filters: RunsFilter) -> bool:
    run = record.run
    if filters.run_ids is not None and run.run_id not in filters.run_ids:
        return False
    if filters.job_name is not None and run.job_name != filters.job_name:
        return False
    if filters.statuses is not None and run.status not in filters.statuses:
        return False
    for key, values in filters.tag_values().items():
        if run.tags.get(key) not in values:
            return False
    bounds = (
        (to_timestamp(filters.created_before), record.create_timestamp, False),
        (to_timestamp(filters.created_after), record.create_timestamp, True),
        (to_timestamp(filters.updated_before), record.update_timestamp, False),
        (to_timestamp(filters.updated_after), record.update_timestamp, True),
    )
    for bound, value, after in bounds:
        if bound is not None and (value <= bound if after else value >= bound):
            return False
    return True


def event_matches(record: EventLogRecord, flt: EventRecordsFilter) -> bool:
    entry = record.event_log_entry
    event = entry.event
    if flt.event_type is not None and (event is None or event.event_type is not flt.event_type):
        return False
    if flt.asset_key is not None and record.asset_key != flt.asset_key:
        return False
    if flt.asset_partitions is not None and record.partition_key not in flt.asset_partitions:
        return False
    if flt.after_cursor is not None and record.storage_id <= flt.after_cursor:
        return False
    if flt.before_cursor is not None and record.storage_id >= flt.before_cursor:
        return False
    if flt.after_timestamp is not None and entry.timestamp <= flt.after_timestamp:
        return False
    if flt.before_timestamp is not None and entry.timestamp >= flt.before_timestamp:
        return False
    if flt.storage_ids is not None and record.storage_id not in flt.storage_ids:
        return False
    return flt.run_id is None or entry.run_id == flt.run_id


def _types(of_type: EventType | Iterable[EventType] | None) -> frozenset[EventType] | None:
    if of_type is None:
        return None
    if isinstance(of_type, EventType):
        return frozenset({of_type})
    return frozenset(of_type)


class InMemoryRunStorage(RunStorage):
    def __init__(self) -> None:
        self._records: dict[str, RunRecord] = {}
        self._by_idempotency_key: dict[str, str] = {}
        self._next_id = 1
        self._kvs: dict[str, str] = {}
        self._heartbeats: dict[str, DaemonHeartbeat] = {}
        self._lock = threading.Lock()

    def add_run(self, run: Run, idempotency_key: str | None = None) -> Run:
        with self._lock:
            if idempotency_key is not None:
                existing = self._by_idempotency_key.get(idempotency_key)
                if existing is not None and existing in self._records:
                    return self._records[existing].run
            if run.run_id in self._records:
                raise ValueError(f"A run with id {run.run_id} already exists.")
            now = time.time()
            self._records[run.run_id] = RunRecord(self._next_id, run, now, now)
            self._next_id += 1
            if idempotency_key is not None:
                self._by_idempotency_key[idempotency_key] = run.run_id
        return run

    def get_run_by_idempotency_key(self, idempotency_key: str) -> Run | None:
        run_id = self._by_idempotency_key.get(idempotency_key)
        record = self._records.get(run_id) if run_id is not None else None
        return record.run if record is not None else None

    def try_update_run_status(
        self,
        run_id: str,
        to_status: RunStatus,
        from_statuses: Iterable[RunStatus] | None = None,
        timestamp: float | None = None,
    ) -> Run | None:
        allowed = checked_predecessors(to_status, from_statuses)
        with self._lock:
            record = self._records.get(run_id)
            if record is None:
                raise KeyError(f"No run with id {run_id}.")
            if record.run.status not in allowed:
                return None
            return self._set_status(record, to_status, timestamp)

    def _set_status(self, record: RunRecord, status: RunStatus, timestamp: float | None) -> Run:
        now = timestamp or time.time()
        start = record.start_time or (now if status is RunStatus.STARTED else None)
        end = now if status.is_finished else record.end_time
        run = record.run.with_status(status)
        self._records[run.run_id] = replace(
            record, run=run, update_timestamp=now, start_time=start, end_time=end
        )
        return run

    def claim_queued_runs(self, choose: ChooseRunsToLaunch) -> list[Run]:
        with self._lock:
            ordered = sorted(self._records.values(), key=lambda r: r.storage_id)
            queued = [r.run for r in ordered if r.run.status is RunStatus.QUEUED]
            in_progress = [r.run for r in ordered if r.run.status in IN_PROGRESS_STATUSES]
            chosen = set(choose(queued, in_progress))
            return [
                self._set_status(self._records[run.run_id], RunStatus.STARTING, None)
                for run in queued
                if run.run_id in chosen
            ]

    def get_run_records(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        records = sorted(self._records.values(), key=lambda r: r.storage_id, reverse=not ascending)
        if cursor is not None and cursor in self._records:
            cursor_id = self._records[cursor].storage_id
            records = [
                r
                for r in records
                if (r.storage_id > cursor_id if ascending else r.storage_id < cursor_id)
            ]
        if filters is not None:
            records = [r for r in records if run_matches(r, filters)]
        return records[:limit] if limit is not None else records

    def get_run_record_by_id(self, run_id: str) -> RunRecord | None:
        return self._records.get(run_id)

    def get_runs_count(self, filters: RunsFilter | None = None) -> int:
        return len(self.get_run_records(filters))

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> Run:
        with self._lock:
            record = self._records[run_id]
            run = replace(record.run, tags={**record.run.tags, **tags})
            self._records[run_id] = replace(record, run=run, update_timestamp=time.time())
        return run

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self._records.pop(run_id, None)
            for key in [k for k, v in self._by_idempotency_key.items() if v == run_id]:
                del self._by_idempotency_key[key]

    def kvs_get(self, keys: Iterable[str]) -> dict[str, str]:
        return {k: self._kvs[k] for k in keys if k in self._kvs}

    def kvs_set(self, pairs: Mapping[str, str]) -> None:
        with self._lock:
            self._kvs.update(pairs)

    def kvs_delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._kvs.pop(key, None)

    def add_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        with self._lock:
            self._heartbeats[heartbeat.daemon_type] = heartbeat

    def get_daemon_heartbeats(self) -> dict[str, DaemonHeartbeat]:
        return dict(self._heartbeats)


class InMemoryEventLogStorage(EventLogStorage):
    def __init__(self) -> None:
        self._records: list[EventLogRecord] = []
        self._by_run: dict[str, list[EventLogRecord]] = {}
        self._latest: dict[AssetKey, EventLogRecord] = {}
        self._asset_ids: dict[AssetKey, int] = {}
        self._dynamic: dict[str, list[str]] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def store_events(self, entries: Sequence[EventLogEntry]) -> list[int]:
        ids = []
        with self._lock:
            for entry in entries:
                record = EventLogRecord(self._next_id, entry)
                self._next_id += 1
                self._records.append(record)
                self._by_run.setdefault(entry.run_id, []).append(record)
                event = entry.event
                if event is not None and event.event_type is EventType.ASSET_MATERIALIZATION:
                    key = event.asset_key
                    if key is not None:
                        self._latest[key] = record
                        self._asset_ids.setdefault(key, len(self._asset_ids) + 1)
                ids.append(record.storage_id)
        return ids

    def get_records_for_run(
        self,
        run_id: str,
        cursor: int | None = None,
        of_type: EventType | Iterable[EventType] | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[EventLogRecord]:
        types = _types(of_type)
        records = [
            r
            for r in self._by_run.get(run_id, [])
            if (cursor is None or r.storage_id > cursor)
            and (
                types is None
                or (
                    r.event_log_entry.event is not None
                    and r.event_log_entry.event.event_type in types
                )
            )
        ]
        if not ascending:
            records.reverse()
        return records[:limit] if limit is not None else records

    def get_event_records(
        self,
        event_records_filter: EventRecordsFilter | None = None,
        limit: int | None = None,
        ascending: bool = False,
    ) -> list[EventLogRecord]:
        flt = event_records_filter or EventRecordsFilter()
        records = [r for r in self._records if event_matches(r, flt)]
        if not ascending:
            records.reverse()
        return records[:limit] if limit is not None else records

    def get_latest_materialization_records(
        self, asset_keys: Iterable[AssetKey]
    ) -> dict[AssetKey, EventLogRecord]:
        return {k: self._latest[k] for k in asset_keys if k in self._latest}

    def get_asset_records(self, asset_keys: Iterable[AssetKey] | None = None) -> list[AssetRecord]:
        keys = (
            list(self._latest)
            if asset_keys is None
            else [k for k in asset_keys if k in self._latest]
        )
        return [
            AssetRecord(
                self._asset_ids[k],
                AssetEntry(k, self._latest[k], self._latest[k].event_log_entry.run_id),
            )
            for k in keys
        ]

    def get_latest_materialization_records_by_partition(
        self, asset_key: AssetKey, partitions: Iterable[str] | None = None
    ) -> dict[str, EventLogRecord]:
        wanted = set(partitions) if partitions is not None else None
        latest: dict[str, EventLogRecord] = {}
        for record in self._records:
            event = record.event_log_entry.event
            if event is None or event.event_type is not EventType.ASSET_MATERIALIZATION:
                continue
            partition = record.partition_key
            if record.asset_key != asset_key or partition is None:
                continue
            if wanted is None or partition in wanted:
                latest[partition] = record
        return latest

    def delete_events(self, run_id: str) -> None:
        with self._lock:
            removed = {r.storage_id for r in self._by_run.pop(run_id, [])}
            self._records = [r for r in self._records if r.storage_id not in removed]
            self._latest = {}
            for record in self._records:
                event = record.event_log_entry.event
                if event is not None and event.event_type is EventType.ASSET_MATERIALIZATION:
                    key = event.asset_key
                    if key is not None:
                        self._latest[key] = record

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        with self._lock:
            keys = self._dynamic.setdefault(partitions_def_name, [])
            for key in partition_keys:
                if key not in keys:
                    keys.append(key)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        return list(self._dynamic.get(partitions_def_name, []))

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        with self._lock:
            keys = self._dynamic.get(partitions_def_name, [])
            if partition_key in keys:
                keys.remove(partition_key)


class InMemoryScheduleStorage(ScheduleStorage):
    def __init__(self) -> None:
        self._states: dict[str, InstigatorState] = {}
        self._ticks: dict[int, Tick] = {}
        self._next_tick = 1
        self._lock = threading.Lock()

    def all_instigator_state(
        self, instigator_type: InstigatorType | None = None
    ) -> list[InstigatorState]:
        return [
            s
            for s in self._states.values()
            if instigator_type is None or s.instigator_type is instigator_type
        ]

    def get_instigator_state(self, selector_id: str) -> InstigatorState | None:
        return self._states.get(selector_id)

    def add_instigator_state(self, state: InstigatorState) -> InstigatorState:
        with self._lock:
            if state.selector_id in self._states:
                raise ValueError(f"An instigator state for {state.selector_id} already exists.")
            state = replace(state, update_timestamp=time.time())
            self._states[state.selector_id] = state
        return state

    def update_instigator_state(self, state: InstigatorState) -> InstigatorState:
        with self._lock:
            state = replace(state, update_timestamp=time.time())
            self._states[state.selector_id] = state
        return state

    def delete_instigator_state(self, selector_id: str) -> None:
        with self._lock:
            self._states.pop(selector_id, None)

    def create_tick(self, tick: Tick) -> Tick:
        with self._lock:
            tick = replace(tick, tick_id=self._next_tick)
            self._next_tick += 1
            self._ticks[tick.tick_id] = tick
        return tick

    def update_tick(self, tick: Tick) -> Tick:
        with self._lock:
            if tick.tick_id not in self._ticks:
                raise KeyError(f"No tick with id {tick.tick_id}.")
            self._ticks[tick.tick_id] = tick
        return tick

    def get_ticks(
        self,
        selector_id: str,
        before: float | None = None,
        after: float | None = None,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
    ) -> list[Tick]:
        ticks = [
            t
            for t in self._ticks.values()
            if t.selector_id == selector_id
            and (before is None or t.timestamp < before)
            and (after is None or t.timestamp > after)
            and (statuses is None or t.status in statuses)
        ]
        ticks.sort(key=lambda t: (t.timestamp, t.tick_id), reverse=True)
        return ticks[:limit] if limit is not None else ticks

    def purge_ticks(
        self, selector_id: str, before: float, statuses: Sequence[TickStatus] | None = None
    ) -> int:
        with self._lock:
            doomed = [
                t.tick_id
                for t in self._ticks.values()
                if t.selector_id == selector_id
                and t.timestamp < before
                and (statuses is None or t.status in statuses)
            ]
            for tick_id in doomed:
                del self._ticks[tick_id]
        return len(doomed)


class InMemoryBackfillStorage(BackfillStorage):
    """Backfills of an ephemeral instance, in a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backfills: dict[str, Backfill] = {}

    def add_backfill(self, backfill: Backfill) -> None:
        with self._lock:
            if backfill.backfill_id in self._backfills:
                raise KeyError(f"backfill {backfill.backfill_id} exists already")
            self._backfills[backfill.backfill_id] = backfill

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        return self._backfills.get(backfill_id)

    def get_backfills(
        self, status: BackfillStatus | None = None, limit: int | None = None
    ) -> list[Backfill]:
        found = sorted(
            (b for b in self._backfills.values() if status is None or b.status is status),
            key=lambda b: b.create_timestamp,
            reverse=True,
        )
        return found[:limit] if limit is not None else found

    def update_backfill(self, backfill: Backfill) -> None:
        with self._lock:
            if backfill.backfill_id not in self._backfills:
                raise KeyError(f"backfill {backfill.backfill_id} is not stored")
            self._backfills[backfill.backfill_id] = backfill
