"""The one SQL schema, for SQLite and PostgreSQL alike.

Event bodies and run bodies are JSON text (see `kubedag.storage.serialization`); the columns
beside them exist to be filtered and indexed: a run's status and job, an event's run, type,
asset and partition. `asset_keys` keeps the latest materialization of each asset so "what is the
latest version of these 10,000 assets" is one indexed lookup, not a scan of the event log.

Ids are 64-bit on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the rowid, which only grows
because the tables are AUTOINCREMENT.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

_Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", _Id, primary_key=True, autoincrement=True)


runs = Table(
    "runs",
    metadata,
    _id(),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("job_name", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("partition", String(255)),
    Column("parent_run_id", String(64)),
    Column("root_run_id", String(64)),
    Column("run_body", Text, nullable=False),
    Column("create_timestamp", Float, nullable=False),
    Column("update_timestamp", Float, nullable=False),
    Column("start_time", Float),
    Column("end_time", Float),
    # Revision 0004: the deterministic key of an automation-created run (schedule tick, sensor
    # run key, backfill partition); unique, so creating the same run twice is a no-op.
    Column("idempotency_key", String(512)),
    Index("idx_runs_status", "status", "id"),
    Index("uq_runs_idempotency_key", "idempotency_key", unique=True),
    Index("idx_runs_job_name", "job_name", "id"),
    Index("idx_runs_create_timestamp", "create_timestamp"),
    Index("idx_runs_update_timestamp", "update_timestamp"),
    sqlite_autoincrement=True,
)

run_tags = Table(
    "run_tags",
    metadata,
    _id(),
    Column(
        "run_id",
        String(64),
        ForeignKey("runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(255), nullable=False),
    Column("value", String(1024), nullable=False),
    UniqueConstraint("run_id", "key", name="uq_run_tags_run_id_key"),
    Index("idx_run_tags_key_value", "key", "value"),
    sqlite_autoincrement=True,
)

event_logs = Table(
    "event_logs",
    metadata,
    _id(),
    Column("run_id", String(64), nullable=False),
    Column("event_type", String(64)),
    Column("asset_key", String(1024)),
    Column("partition", String(255)),
    Column("step_key", String(255)),
    Column("timestamp", Float, nullable=False),
    Column("body", Text, nullable=False),
    Index("idx_event_logs_run_id", "run_id", "id"),
    # Partial (revision 0003): log lines have neither, and are most rows.
    Index(
        "idx_event_logs_event_type",
        "event_type",
        "id",
        postgresql_where=text("event_type IS NOT NULL"),
        sqlite_where=text("event_type IS NOT NULL"),
    ),
    Index(
        "idx_event_logs_asset",
        "asset_key",
        "event_type",
        "partition",
        "id",
        postgresql_where=text("asset_key IS NOT NULL"),
        sqlite_where=text("asset_key IS NOT NULL"),
    ),
    Index("idx_event_logs_timestamp", "timestamp"),
    sqlite_autoincrement=True,
)

asset_keys = Table(
    "asset_keys",
    metadata,
    _id(),
    Column("asset_key", String(1024), nullable=False, unique=True),
    Column("last_materialization_id", BigInteger),
    Column("last_materialization_timestamp", Float),
    Column("last_run_id", String(64)),
    # Revision 0005: the latest materialization's event body, so reading the latest of many
    # assets needs no join with the event log.
    Column("last_materialization_body", Text),
    Column("create_timestamp", Float, nullable=False),
    sqlite_autoincrement=True,
)

# -- added by revision 0002 (automation) ---------------------------------------------------------
dynamic_partitions = Table(
    "dynamic_partitions",
    metadata,
    _id(),
    Column("partitions_def_name", String(255), nullable=False),
    Column("partition", String(255), nullable=False),
    Column("create_timestamp", Float, nullable=False),
    UniqueConstraint("partitions_def_name", "partition", name="uq_dynamic_partitions"),
    sqlite_autoincrement=True,
)

instigators = Table(
    "instigators",
    metadata,
    Column("selector_id", String(255), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("instigator_type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("cursor", Text),
    Column("last_tick_timestamp", Float),
    Column("data", Text),
    Column("update_timestamp", Float, nullable=False),
)

ticks = Table(
    "ticks",
    metadata,
    _id(),
    Column("selector_id", String(255), nullable=False),
    Column("instigator_type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("end_timestamp", Float),
    Column("scheduled_execution_time", Float),
    Column("run_ids", Text),
    Column("run_keys", Text),
    Column("error", Text),
    Column("skip_reason", Text),
    Column("cursor", Text),
    Index("idx_ticks_selector_timestamp", "selector_id", "timestamp"),
    sqlite_autoincrement=True,
)

kvs = Table(
    "kvs",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("value", Text, nullable=False),
)

daemon_heartbeats = Table(
    "daemon_heartbeats",
    metadata,
    Column("daemon_type", String(255), primary_key=True),
    Column("daemon_id", String(255), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("body", Text),
)

# -- added by revision 0004 (automation runs) ----------------------------------------------------
backfills = Table(
    "backfills",
    metadata,
    Column("backfill_id", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("create_timestamp", Float, nullable=False),
    Column("update_timestamp", Float, nullable=False),
    Column("body", Text, nullable=False),
    Index("idx_backfills_status", "status", "create_timestamp"),
)
