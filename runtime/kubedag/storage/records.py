"""What the storages hold and how they are queried: records, filters, states and ticks.

These are plain frozen dataclasses shared by every storage implementation (in memory, SQLite,
PostgreSQL) and by their callers (the instance, the CLI, the daemon, the operator). A record
pairs a stored value with its storage id; the storage id only grows, so it is the cursor for
every "what happened since" question.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from kubedag.definitions.asset_key import AssetKey
from kubedag.records.events import ErrorInfo, EventLogEntry, EventType
from kubedag.records.run import Run, RunStatus


def to_timestamp(value: float | datetime | None) -> float | None:
    """Filters accept a datetime or a Unix timestamp; storages compare timestamps."""
    if value is None or isinstance(value, float | int):
        return value
    return value.timestamp()


# -- runs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRecord:
    """A run as stored, with when it was created, last updated, started and ended."""

    storage_id: int
    run: Run
    create_timestamp: float
    update_timestamp: float
    start_time: float | None = None
    end_time: float | None = None

    @property
    def dagster_run(self) -> Run:
        """The reference's name for `run`."""
        return self.run


@dataclass(frozen=True)
class RunsFilter:
    """Which runs to return; every field that is set must match (a logical AND).

    `tags` maps a key to a value or to a list of accepted values."""

    run_ids: Sequence[str] | None = None
    job_name: str | None = None
    statuses: Sequence[RunStatus] | None = None
    tags: Mapping[str, str | Sequence[str]] | None = None
    created_before: float | datetime | None = None
    created_after: float | datetime | None = None
    updated_before: float | datetime | None = None
    updated_after: float | datetime | None = None

    def tag_values(self) -> dict[str, list[str]]:
        return {
            key: [value] if isinstance(value, str) else list(value)
            for key, value in (self.tags or {}).items()
        }


# -- events -------------------------------------------------------------------------------------
class EventLogRecord(NamedTuple):
    """An event-log entry and its storage id (a named tuple, as in the reference: reads build
    tens of thousands of them, and a tuple is the cheapest immutable record)."""

    storage_id: int
    event_log_entry: EventLogEntry

    @property
    def timestamp(self) -> float:
        return self.event_log_entry.timestamp

    @property
    def run_id(self) -> str:
        return self.event_log_entry.run_id

    @property
    def asset_key(self) -> AssetKey | None:
        event = self.event_log_entry.event
        return event.asset_key if event is not None else None

    @property
    def partition_key(self) -> str | None:
        event = self.event_log_entry.event
        if event is None:
            return None
        return getattr(event.event_specific_data, "partition", None) or event.partition


@dataclass(frozen=True)
class EventRecordsFilter:
    """Which events to return. `after_cursor`/`before_cursor` are storage ids (exclusive)."""

    event_type: EventType | None = None
    asset_key: AssetKey | None = None
    asset_partitions: Sequence[str] | None = None
    after_cursor: int | None = None
    before_cursor: int | None = None
    after_timestamp: float | None = None
    before_timestamp: float | None = None
    storage_ids: Sequence[int] | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        if self.asset_partitions is not None and self.asset_key is None:
            raise ValueError(
                "EventRecordsFilter.asset_partitions needs asset_key: partitions belong to an "
                "asset. Set asset_key=AssetKey(...) too."
            )


@dataclass(frozen=True)
class AssetEntry:
    """What the storage knows about one asset: its latest materialization."""

    asset_key: AssetKey
    last_materialization_record: EventLogRecord | None = None
    last_run_id: str | None = None

    @property
    def last_materialization(self) -> EventLogEntry | None:
        record = self.last_materialization_record
        return record.event_log_entry if record is not None else None


@dataclass(frozen=True)
class AssetRecord:
    storage_id: int
    asset_entry: AssetEntry


# -- schedules and sensors ----------------------------------------------------------------------
class InstigatorType(Enum):
    SCHEDULE = "SCHEDULE"
    SENSOR = "SENSOR"


class InstigatorStatus(Enum):
    """Whether a schedule or sensor is on. DECLARED_IN_CODE follows the definition's default."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    DECLARED_IN_CODE = "DECLARED_IN_CODE"


@dataclass(frozen=True)
class InstigatorState:
    """The stored state of a schedule or sensor: on or off, and where its evaluation stands.

    `selector_id` names it uniquely across code locations (for example `location:name`)."""

    selector_id: str
    name: str
    instigator_type: InstigatorType
    status: InstigatorStatus
    cursor: str | None = None
    last_tick_timestamp: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    update_timestamp: float | None = None

    @property
    def is_running(self) -> bool:
        return self.status is InstigatorStatus.RUNNING


class TickStatus(Enum):
    STARTED = "STARTED"
    SKIPPED = "SKIPPED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class Tick:
    """One evaluation of a schedule or sensor, and what it did. `tick_id` is its storage id
    (0 until stored)."""

    selector_id: str
    instigator_type: InstigatorType
    status: TickStatus
    timestamp: float
    tick_id: int = 0
    end_timestamp: float | None = None
    run_ids: tuple[str, ...] = ()
    run_keys: tuple[str, ...] = ()
    error: ErrorInfo | None = None
    skip_reason: str | None = None
    cursor: str | None = None
    scheduled_execution_time: float | None = None

    @property
    def is_finished(self) -> bool:
        return self.status is not TickStatus.STARTED


# -- daemons ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DaemonHeartbeat:
    """A daemon loop's proof of life: which loop, which process, when, and its last errors."""

    daemon_type: str
    daemon_id: str
    timestamp: float = field(default_factory=time.time)
    errors: tuple[str, ...] = ()


# -- backfills ----------------------------------------------------------------------------------
class BackfillStatus(Enum):
    """Where a backfill is: its runs are being created or run (REQUESTED), all finished
    (COMPLETED: every run succeeded; FAILED: some did not), or it was canceled."""

    REQUESTED = "REQUESTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        return self in (BackfillStatus.COMPLETED, BackfillStatus.FAILED, BackfillStatus.CANCELED)


@dataclass(frozen=True)
class Backfill:
    """One backfill: what it runs (a job, optionally restricted to assets), over which
    partitions, and the run created for each partition (or the one run over the range).

    `run_ids` maps each partition key (or "START...END" for a range run) to its run id.
    """

    backfill_id: str
    status: BackfillStatus
    job_name: str
    partition_keys: tuple[str, ...]
    create_timestamp: float = field(default_factory=time.time)
    update_timestamp: float = field(default_factory=time.time)
    asset_selection: tuple[str, ...] | None = None
    from_range: bool = False
    run_ids: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Mapping[str, Any] = field(default_factory=dict)
    code_location: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "backfill_id": self.backfill_id,
            "status": self.status.value,
            "job_name": self.job_name,
            "partition_keys": list(self.partition_keys),
            "create_timestamp": self.create_timestamp,
            "update_timestamp": self.update_timestamp,
            "asset_selection": list(self.asset_selection)
            if self.asset_selection is not None
            else None,
            "from_range": self.from_range,
            "run_ids": dict(self.run_ids),
            "tags": dict(self.tags),
            "run_config": dict(self.run_config),
            "code_location": dict(self.code_location),
            "error": self.error,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Backfill:
        selection = data.get("asset_selection")
        return Backfill(
            backfill_id=data["backfill_id"],
            status=BackfillStatus(data["status"]),
            job_name=data["job_name"],
            partition_keys=tuple(data.get("partition_keys") or ()),
            create_timestamp=float(data["create_timestamp"]),
            update_timestamp=float(data["update_timestamp"]),
            asset_selection=tuple(selection) if selection is not None else None,
            from_range=bool(data.get("from_range", False)),
            run_ids=dict(data.get("run_ids") or {}),
            tags=dict(data.get("tags") or {}),
            run_config=dict(data.get("run_config") or {}),
            code_location=dict(data.get("code_location") or {}),
            error=data.get("error"),
        )
