"""The three storages an instance is made of, as abstract interfaces.

- run storage: runs and their status, tags, a key-value table and daemon heartbeats;
- event-log storage: every event of every run, the latest materialization of each asset, and
  dynamic partitions;
- schedule storage: whether each schedule and sensor is on, its cursor, and its ticks.

There are two implementations of each: in memory (`kubedag.storage.memory`, for ephemeral
instances) and SQL (`kubedag.storage.sql`, SQLite or PostgreSQL). A third party can plug in its
own through the instance configuration's `{module, class, config}` form by subclassing these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence

from kubedag.definitions.asset_key import AssetKey
from kubedag.errors import RunStatusTransitionError
from kubedag.records.events import EventLogEntry, EventType
from kubedag.records.run import Run, RunStatus
from kubedag.records.transitions import next_status
from kubedag.storage.records import (
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
)

# (queued runs oldest first, runs in progress) -> ids of the queued runs to launch now.
ChooseRunsToLaunch = Callable[[Sequence[Run], Sequence[Run]], Sequence[str]]

_STATUS_RACE_ATTEMPTS = 5


class RunStorage(ABC):
    """Runs, their status and tags; plus the instance's key-value table and daemon heartbeats."""

    @abstractmethod
    def add_run(self, run: Run, idempotency_key: str | None = None) -> Run:
        """Store a new run; a run id that exists already is an error.

        With an `idempotency_key` (the deterministic name automation gives the run of a
        schedule tick or a sensor's run key), a run stored earlier with the same key is
        returned instead and nothing is inserted: creating the same run twice, from two
        daemons or after a crash, is a no-op. The check and the insert are one atomic step."""

    def get_run_by_idempotency_key(self, idempotency_key: str) -> Run | None:
        """The run stored with `idempotency_key`, if any."""
        raise NotImplementedError(
            f"{type(self).__name__} does not store idempotency keys; implement "
            "add_run(run, idempotency_key) and get_run_by_idempotency_key to use it with "
            "schedules and sensors."
        )

    @abstractmethod
    def try_update_run_status(
        self,
        run_id: str,
        to_status: RunStatus,
        from_statuses: Iterable[RunStatus] | None = None,
        timestamp: float | None = None,
    ) -> Run | None:
        """Compare-and-set: move the run to `to_status` only if its status is one of
        `from_statuses` (default: every status the transitions table allows before
        `to_status`), atomically. Returns the changed run, or None when its status was another
        one (someone else changed it first). A missing run is a `KeyError`; asking for a change
        the table forbids is a `RunStatusTransitionError`.

        The first STARTED sets the run's start time, a finished status its end time."""

    def update_run_status(
        self, run_id: str, status: RunStatus, timestamp: float | None = None
    ) -> Run:
        """Move a run to `status` from whatever it is now, if the transitions table allows it;
        a forbidden change raises `RunStatusTransitionError` naming both statuses."""
        for _ in range(_STATUS_RACE_ATTEMPTS):
            updated = self.try_update_run_status(run_id, status, None, timestamp)
            if updated is not None:
                return updated
            current = self.get_run_by_id(run_id)
            if current is None:
                raise KeyError(f"No run with id {run_id}.")
            next_status(current.status, status)  # raises: the change is forbidden from there
            # Allowed from the status we read now: it changed between the two statements.
        raise RunStatusTransitionError(
            f"Run {run_id}: its status kept changing while it was being set to {status.value}.",
            requested=status,
        )

    @abstractmethod
    def claim_queued_runs(self, choose: ChooseRunsToLaunch) -> list[Run]:
        """Move the queued runs that `choose` picks to STARTING, as one exclusive step.

        `choose(queued, in_progress)` gets every QUEUED run (oldest first) and every run in
        progress (STARTING, STARTED, CANCELING) and returns the ids of the queued runs to launch.
        Reading both, choosing and moving the chosen runs QUEUED → STARTING happen while holding
        a lock that every other caller of this method waits for (a database lock for SQL
        storages), so two dequeuers running at once can neither launch a run twice nor exceed
        a limit that `choose` enforces. Returns the runs it moved."""

    @abstractmethod
    def get_run_records(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        """Matching runs, newest first unless `ascending`; `cursor` is the run id of the last run
        of the previous page."""

    @abstractmethod
    def get_runs_count(self, filters: RunsFilter | None = None) -> int: ...

    @abstractmethod
    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> Run: ...

    @abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    def kvs_get(self, keys: Iterable[str]) -> dict[str, str]: ...

    @abstractmethod
    def kvs_set(self, pairs: Mapping[str, str]) -> None: ...

    @abstractmethod
    def kvs_delete(self, keys: Iterable[str]) -> None:
        """Remove keys (missing ones are ignored)."""

    @abstractmethod
    def add_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None: ...

    @abstractmethod
    def get_daemon_heartbeats(self) -> dict[str, DaemonHeartbeat]: ...

    def get_runs(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> list[Run]:
        return [r.run for r in self.get_run_records(filters, limit, cursor, ascending)]

    def get_run_record_by_id(self, run_id: str) -> RunRecord | None:
        records = self.get_run_records(RunsFilter(run_ids=[run_id]), limit=1)
        return records[0] if records else None

    def get_run_by_id(self, run_id: str) -> Run | None:
        record = self.get_run_record_by_id(run_id)
        return record.run if record is not None else None

    def dispose(self) -> None:  # noqa: B027 - optional hook, most storages hold nothing
        """Release connections; the default has none."""


class EventLogStorage(ABC):
    """Events of every run, asset materialization history and dynamic partitions."""

    @abstractmethod
    def store_events(self, entries: Sequence[EventLogEntry]) -> list[int]:
        """Store entries in one transaction, in order; returns their storage ids."""

    @abstractmethod
    def get_records_for_run(
        self,
        run_id: str,
        cursor: int | None = None,
        of_type: EventType | Iterable[EventType] | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[EventLogRecord]:
        """A run's events after storage id `cursor` (exclusive), oldest first by default."""

    @abstractmethod
    def get_event_records(
        self,
        event_records_filter: EventRecordsFilter | None = None,
        limit: int | None = None,
        ascending: bool = False,
    ) -> list[EventLogRecord]: ...

    @abstractmethod
    def get_latest_materialization_records(
        self, asset_keys: Iterable[AssetKey]
    ) -> dict[AssetKey, EventLogRecord]:
        """The latest materialization of each key that has one, in one query."""

    @abstractmethod
    def get_asset_records(self, asset_keys: Iterable[AssetKey] | None = None) -> list[AssetRecord]:
        """Every asset ever materialized (or just `asset_keys`), with its latest
        materialization."""

    @abstractmethod
    def get_latest_materialization_records_by_partition(
        self, asset_key: AssetKey, partitions: Iterable[str] | None = None
    ) -> dict[str, EventLogRecord]: ...

    @abstractmethod
    def delete_events(self, run_id: str) -> None: ...

    @abstractmethod
    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Add keys (existing ones are kept once, in their first position)."""

    @abstractmethod
    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """Keys in the order they were added."""

    @abstractmethod
    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None: ...

    def store_event(self, entry: EventLogEntry) -> int:
        return self.store_events([entry])[0]

    def get_asset_keys(self) -> list[AssetKey]:
        return sorted(r.asset_entry.asset_key for r in self.get_asset_records())

    def get_materialized_partitions(self, asset_key: AssetKey) -> set[str]:
        return set(self.get_latest_materialization_records_by_partition(asset_key))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in self.get_dynamic_partitions(partitions_def_name)

    def dispose(self) -> None:  # noqa: B027 - optional hook, most storages hold nothing
        """Release connections; the default has none."""


class ScheduleStorage(ABC):
    """Schedule and sensor state (on/off, cursor) and their ticks."""

    @abstractmethod
    def all_instigator_state(
        self, instigator_type: InstigatorType | None = None
    ) -> list[InstigatorState]: ...

    @abstractmethod
    def get_instigator_state(self, selector_id: str) -> InstigatorState | None: ...

    @abstractmethod
    def add_instigator_state(self, state: InstigatorState) -> InstigatorState:
        """Store a new state; one that exists already is an error."""

    @abstractmethod
    def update_instigator_state(self, state: InstigatorState) -> InstigatorState:
        """Replace the state (it is created when missing)."""

    @abstractmethod
    def delete_instigator_state(self, selector_id: str) -> None: ...

    @abstractmethod
    def create_tick(self, tick: Tick) -> Tick:
        """Store a new tick; returns it with its `tick_id`."""

    @abstractmethod
    def update_tick(self, tick: Tick) -> Tick: ...

    @abstractmethod
    def get_ticks(
        self,
        selector_id: str,
        before: float | None = None,
        after: float | None = None,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
    ) -> list[Tick]:
        """Ticks newest first; `before`/`after` are exclusive timestamps."""

    @abstractmethod
    def purge_ticks(
        self, selector_id: str, before: float, statuses: Sequence[TickStatus] | None = None
    ) -> int:
        """Delete ticks older than `before` (optionally only with `statuses`); returns how many."""

    def dispose(self) -> None:  # noqa: B027 - optional hook, most storages hold nothing
        """Release connections; the default has none."""


class BackfillStorage(ABC):
    """Backfills: one record each, its status and a JSON body (what it runs, its runs)."""

    @abstractmethod
    def add_backfill(self, backfill: Backfill) -> None:
        """Store a new backfill; an id that exists already is a `KeyError`."""

    @abstractmethod
    def get_backfill(self, backfill_id: str) -> Backfill | None: ...

    @abstractmethod
    def get_backfills(
        self, status: BackfillStatus | None = None, limit: int | None = None
    ) -> list[Backfill]:
        """Backfills newest first, optionally only those with `status`."""

    @abstractmethod
    def update_backfill(self, backfill: Backfill) -> None:
        """Replace a stored backfill (found by id); a missing one is a `KeyError`."""

    def dispose(self) -> None:  # noqa: B027 - optional hook, most storages hold nothing
        """Release connections; the default has none."""
