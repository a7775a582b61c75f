"""Event-log storage in SQL: the events of every run, asset history, dynamic partitions.

Writes come in batches (`store_events`), one transaction each, so a step's events cost one
commit rather than one per event. On PostgreSQL a batch is one statement that also takes the
lock keeping ids in commit order (see `postgres_event_insert`), so the storage id is a safe
cursor on both databases; a retried batch whose first attempt committed unbeknownst to us is
recognised there, not stored twice.
"""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
)

from kubedag.definitions.asset_key import AssetKey
from kubedag.records.events import EventLogEntry, EventType
from kubedag.storage import serialization
from kubedag.storage.base import EventLogStorage
from kubedag.storage.records import (
    AssetEntry,
    AssetRecord,
    EventLogRecord,
    EventRecordsFilter,
)
from kubedag.storage.sql.database import Database
from kubedag.storage.sql.dialect import insert_ignoring_duplicates, upsert
from kubedag.storage.sql.postgres_event_insert import store_event_rows, store_event_rows_once
from kubedag.storage.sql.schema import asset_keys, dynamic_partitions, event_logs

_IN_CHUNK = 500  # keys per IN (...) list: far below every driver's bound-parameter limit
_MATERIALIZATION = EventType.ASSET_MATERIALIZATION.value
# Statements built once, so each write reuses SQLAlchemy's compiled form.
_INSERT_EVENT = event_logs.insert()
# The latest materialization of each asset, id and body, is kept in `asset_keys` (revision 0005):
# reading it is one indexed lookup in one table, for one key or 10,000. The key itself need not
# come back: the body is that asset's materialization, which names it.
_LATEST_BODIES = select(
    asset_keys.c.last_materialization_id.label("id"),
    asset_keys.c.last_materialization_body.label("body"),
).where(asset_keys.c.last_materialization_id.is_not(None))
_LATEST_MATERIALIZATION = _LATEST_BODIES.where(asset_keys.c.asset_key == bindparam("key"))
# Many keys travel as one JSON array parameter (`asset_keys_json`), unpacked by the database: one
# statement for any number of keys, encoded by one C call (an array parameter was escaped element
# by element, and IN lists of 500 cost a statement each). Each item is a key's parts as an array,
# which both databases give back as its exact text, the stored `asset_key`. SQLite joins the
# unpacked keys with `asset_keys`, probing its unique index once per key (`IN (subquery)` first
# sorted them into a temporary index, a third more time for 10,000 keys); PostgreSQL keeps
# `IN`, a semi-join it may run as a hash join (a third of the time of 10,000 index probes).
_SQLITE_KEYS = text("SELECT value FROM json_each(:keys)").columns(column("value", String))
_POSTGRES_KEYS = text(
    "SELECT CAST(value AS text) FROM json_array_elements(CAST(:keys AS json)) AS value"
).columns(column("value", String))
_WANTED = _SQLITE_KEYS.subquery("wanted")
_LATEST_MATERIALIZATIONS = {
    "sqlite": _LATEST_BODIES.select_from(
        _WANTED.join(asset_keys, asset_keys.c.asset_key == _WANTED.c.value)
    ),
    "postgresql": _LATEST_BODIES.where(asset_keys.c.asset_key.in_(_POSTGRES_KEYS)),
}
# The key a latest-materialization body is about (its materialization's key, which is the key of
# its `asset_keys` row, since `store_events` files it under that key).
_MATERIALIZED_KEY = operator.attrgetter("event.event_specific_data.asset_key")


def asset_keys_json(keys: Sequence[AssetKey]) -> str:
    """Keys as one JSON array whose items are exactly their `asset_key_column` texts (both use
    `json`'s escaping and no spaces), encoded by one C call instead of one call per key."""
    return json.dumps([key.path for key in keys], separators=(",", ":"))


def asset_key_column(key: AssetKey) -> str:
    """An asset key as stored: its parts as a JSON list, unambiguous whatever the parts hold.

    Parts of printable ASCII without quotes or backslashes (nearly all) are joined by hand:
    the same text `json.dumps` gives, and several times cheaper for a 10,000-key lookup."""
    parts = key.path
    probe = "".join(parts)
    if probe.isascii() and probe.isprintable() and '"' not in probe and "\\" not in probe:
        return '["' + '","'.join(parts) + '"]'
    return json.dumps(list(parts), separators=(",", ":"))


def asset_key_from_column(text_value: str) -> AssetKey:
    return AssetKey(json.loads(text_value))


def _row_for(entry: EventLogEntry) -> dict[str, Any]:
    event = entry.event
    asset_key = partition = event_type = None
    if event is not None:
        event_type = event.event_type.value
        key = event.asset_key
        if key is not None:
            asset_key = asset_key_column(key)
            partition = getattr(event.event_specific_data, "partition", None) or event.partition
    return {
        "run_id": entry.run_id,
        "event_type": event_type,
        "asset_key": asset_key,
        "partition": partition,
        "step_key": entry.step_key,
        "timestamp": entry.timestamp,
        "body": serialization.serialize_entry(entry),
    }


def _records(rows: Iterable[Any]) -> list[EventLogRecord]:
    rows = list(rows)
    entries = serialization.deserialize_entries([row.body for row in rows])
    return list(_new_records([row.id for row in rows], entries))


def _new_records(
    storage_ids: Iterable[int], entries: Iterable[EventLogEntry]
) -> Iterator[EventLogRecord]:
    """Records of ids and entries, built in C: `EventLogRecord(...)` runs a Python `__new__`,
    a sixth of a 10,000-key read."""
    return map(tuple.__new__, repeat(EventLogRecord), zip(storage_ids, entries, strict=True))


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlEventLogStorage(EventLogStorage):
    def __init__(self, database: Database) -> None:
        self.database = database

    # -- writes ---------------------------------------------------------------------------------
    def store_events(self, entries: Sequence[EventLogEntry]) -> list[int]:
        if not entries:
            return []
        rows = [_row_for(entry) for entry in entries]
        if self.database.is_postgres:
            return self.database.write_statement(
                lambda conn: store_event_rows(conn, rows, _MATERIALIZATION),
                retry=lambda conn: store_event_rows_once(conn, rows, _MATERIALIZATION),
            )

        def insert(conn: Connection) -> list[int]:
            if len(rows) == 1:
                key = conn.execute(_INSERT_EVENT, rows[0]).inserted_primary_key
                assert key is not None
                ids = [int(key[0])]
            else:
                # SQLAlchemy sends a RETURNING insert one row at a time on SQLite. This
                # transaction holds the write lock (BEGIN IMMEDIATE) and the table is
                # AUTOINCREMENT, so the batch got consecutive ids ending at the last rowid.
                conn.execute(_INSERT_EVENT, rows)
                last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
                ids = list(range(last - len(rows) + 1, last + 1))
            latest: dict[str, dict[str, Any]] = {}
            for storage_id, row in zip(ids, rows, strict=True):
                if row["event_type"] == _MATERIALIZATION and row["asset_key"] is not None:
                    latest[row["asset_key"]] = {
                        "asset_key": row["asset_key"],
                        "last_materialization_id": storage_id,
                        "last_materialization_timestamp": row["timestamp"],
                        "last_run_id": row["run_id"],
                        "create_timestamp": row["timestamp"],
                        "last_materialization_body": row["body"],
                    }
            if latest:
                upsert(
                    conn,
                    asset_keys,
                    list(latest.values()),
                    ["asset_key"],
                    [
                        "last_materialization_id",
                        "last_materialization_timestamp",
                        "last_run_id",
                        "last_materialization_body",
                    ],
                )
            return ids

        return self.database.write(insert)

    def delete_events(self, run_id: str) -> None:
        def remove(conn: Connection) -> None:
            affected = [
                row.asset_key
                for row in conn.execute(
                    select(asset_keys.c.asset_key)
                    .join(event_logs, event_logs.c.id == asset_keys.c.last_materialization_id)
                    .where(event_logs.c.run_id == run_id)
                )
            ]
            conn.execute(delete(event_logs).where(event_logs.c.run_id == run_id))
            for key in affected:
                latest = conn.execute(
                    select(
                        event_logs.c.id,
                        event_logs.c.timestamp,
                        event_logs.c.run_id,
                        event_logs.c.body,
                    )
                    .where(
                        event_logs.c.asset_key == key, event_logs.c.event_type == _MATERIALIZATION
                    )
                    .order_by(event_logs.c.id.desc())
                    .limit(1)
                ).first()
                if latest is None:
                    conn.execute(delete(asset_keys).where(asset_keys.c.asset_key == key))
                else:
                    conn.execute(
                        asset_keys.update()
                        .where(asset_keys.c.asset_key == key)
                        .values(
                            last_materialization_id=latest.id,
                            last_materialization_timestamp=latest.timestamp,
                            last_run_id=latest.run_id,
                            last_materialization_body=latest.body,
                        )
                    )

        self.database.write(remove)

    # -- reads ----------------------------------------------------------------------------------
    def get_records_for_run(
        self,
        run_id: str,
        cursor: int | None = None,
        of_type: EventType | Iterable[EventType] | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[EventLogRecord]:
        query = select(event_logs.c.id, event_logs.c.body).where(event_logs.c.run_id == run_id)
        if cursor is not None:
            query = query.where(event_logs.c.id > cursor)
        if of_type is not None:
            types = [of_type] if isinstance(of_type, EventType) else list(of_type)
            query = query.where(event_logs.c.event_type.in_([t.value for t in types]))
        query = query.order_by(event_logs.c.id.asc() if ascending else event_logs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self.database.read(lambda conn: _records(conn.execute(query)))

    def get_event_records(
        self,
        event_records_filter: EventRecordsFilter | None = None,
        limit: int | None = None,
        ascending: bool = False,
    ) -> list[EventLogRecord]:
        query = _filtered(select(event_logs.c.id, event_logs.c.body), event_records_filter)
        query = query.order_by(event_logs.c.id.asc() if ascending else event_logs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self.database.read(lambda conn: _records(conn.execute(query)))

    def get_latest_materialization_records(
        self, asset_keys_: Iterable[AssetKey]
    ) -> dict[AssetKey, EventLogRecord]:
        keys = list(asset_keys_)
        if not keys:
            return {}

        if len(keys) == 1:  # the common single read: a plain equality, one entry decoded
            key = keys[0]
            parameters = {"key": asset_key_column(key)}
            row = self.database.read(
                lambda conn: conn.execute(_LATEST_MATERIALIZATION, parameters).first()
            )
            if row is None:
                return {}
            return {key: EventLogRecord(row.id, serialization.deserialize_entry(row.body))}

        def load(conn: Connection) -> Sequence[Any]:
            statement = _LATEST_MATERIALIZATIONS[self.database.dialect]
            return conn.execute(statement, {"keys": asset_keys_json(keys)}).all()

        # The collector stays paused while the records are built too; the rows are dropped
        # before it resumes, so that its one pass over what this call made skips them.
        with serialization.bulk_decoding(len(keys)):
            rows = self.database.read(load)
            if not rows:
                return {}
            storage_ids, bodies = zip(*rows, strict=True)
            del rows
            # Decoded keys are then the caller's own objects, found by identity in its dicts.
            serialization.share_asset_keys(keys)
            entries = serialization.deserialize_entries(bodies)
            return dict(
                zip(
                    map(_MATERIALIZED_KEY, entries), _new_records(storage_ids, entries), strict=True
                )
            )

    def get_asset_records(self, asset_keys_: Iterable[AssetKey] | None = None) -> list[AssetRecord]:
        base = select(
            asset_keys.c.id.label("asset_id"),
            asset_keys.c.asset_key,
            asset_keys.c.last_run_id,
            asset_keys.c.last_materialization_id.label("id"),
            asset_keys.c.last_materialization_body.label("body"),
        )
        wanted = None if asset_keys_ is None else [asset_key_column(k) for k in asset_keys_]

        def load(conn: Connection) -> list[AssetRecord]:
            queries = (
                [base.order_by(asset_keys.c.asset_key)]
                if wanted is None
                else [base.where(asset_keys.c.asset_key.in_(c)) for c in _chunks(wanted)]
            )
            decode = serialization.deserialize_entry
            records = []
            for query in queries:
                for row in conn.execute(query):
                    latest = EventLogRecord(row.id, decode(row.body)) if row.id else None
                    entry = AssetEntry(
                        asset_key_from_column(row.asset_key), latest, row.last_run_id
                    )
                    records.append(AssetRecord(row.asset_id, entry))
            return records

        return self.database.read(load)

    def get_asset_keys(self) -> list[AssetKey]:
        query = select(asset_keys.c.asset_key)
        keys = self.database.read(lambda conn: [r.asset_key for r in conn.execute(query)])
        return sorted(asset_key_from_column(k) for k in keys)

    def get_latest_materialization_records_by_partition(
        self, asset_key: AssetKey, partitions: Iterable[str] | None = None
    ) -> dict[str, EventLogRecord]:
        where = and_(
            event_logs.c.asset_key == asset_key_column(asset_key),
            event_logs.c.event_type == _MATERIALIZATION,
            event_logs.c.partition.is_not(None),
        )
        if partitions is not None:
            where = and_(where, event_logs.c.partition.in_(list(partitions)))
        latest = (
            select(func.max(event_logs.c.id).label("id"))
            .where(where)
            .group_by(event_logs.c.partition)
            .subquery()
        )
        query = select(event_logs.c.id, event_logs.c.partition, event_logs.c.body).join(
            latest, latest.c.id == event_logs.c.id
        )

        def load(conn: Connection) -> dict[str, EventLogRecord]:
            decode = serialization.deserialize_entry
            return {
                row.partition: EventLogRecord(row.id, decode(row.body))
                for row in conn.execute(query)
            }

        return self.database.read(load)

    def get_materialized_partitions(self, asset_key: AssetKey) -> set[str]:
        query = (
            select(event_logs.c.partition)
            .where(
                event_logs.c.asset_key == asset_key_column(asset_key),
                event_logs.c.event_type == _MATERIALIZATION,
                event_logs.c.partition.is_not(None),
            )
            .distinct()
        )
        return self.database.read(lambda conn: {r.partition for r in conn.execute(query)})

    # -- dynamic partitions ---------------------------------------------------------------------
    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        now = time.time()
        rows = [
            {"partitions_def_name": partitions_def_name, "partition": key, "create_timestamp": now}
            for key in dict.fromkeys(partition_keys)
        ]
        self.database.write(
            lambda conn: insert_ignoring_duplicates(
                conn, dynamic_partitions, rows, ["partitions_def_name", "partition"]
            )
        )

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        query = (
            select(dynamic_partitions.c.partition)
            .where(dynamic_partitions.c.partitions_def_name == partitions_def_name)
            .order_by(dynamic_partitions.c.id)
        )
        return self.database.read(lambda conn: [r.partition for r in conn.execute(query)])

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        query = select(dynamic_partitions.c.id).where(
            dynamic_partitions.c.partitions_def_name == partitions_def_name,
            dynamic_partitions.c.partition == partition_key,
        )
        return self.database.read(lambda conn: conn.execute(query).first() is not None)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        statement = delete(dynamic_partitions).where(
            dynamic_partitions.c.partitions_def_name == partitions_def_name,
            dynamic_partitions.c.partition == partition_key,
        )
        self.database.write(lambda conn: conn.execute(statement))

    def dispose(self) -> None:
        self.database.dispose()


def _filtered(query: Select[Any], flt: EventRecordsFilter | None) -> Select[Any]:
    if flt is None:
        return query
    if flt.event_type is not None:
        query = query.where(event_logs.c.event_type == flt.event_type.value)
    if flt.asset_key is not None:
        query = query.where(event_logs.c.asset_key == asset_key_column(flt.asset_key))
    if flt.asset_partitions is not None:
        query = query.where(event_logs.c.partition.in_(list(flt.asset_partitions)))
    if flt.after_cursor is not None:
        query = query.where(event_logs.c.id > flt.after_cursor)
    if flt.before_cursor is not None:
        query = query.where(event_logs.c.id < flt.before_cursor)
    if flt.after_timestamp is not None:
        query = query.where(event_logs.c.timestamp > flt.after_timestamp)
    if flt.before_timestamp is not None:
        query = query.where(event_logs.c.timestamp < flt.before_timestamp)
    if flt.storage_ids is not None:
        query = query.where(event_logs.c.id.in_(list(flt.storage_ids)))
    if flt.run_id is not None:
        query = query.where(event_logs.c.run_id == flt.run_id)
    return query
