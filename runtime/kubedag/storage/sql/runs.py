"""Run storage in SQL: runs with their tags, the key-value table and daemon heartbeats."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Select, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kubedag.records.run import Run, RunStatus
from kubedag.records.transitions import IN_PROGRESS_STATUSES, checked_predecessors
from kubedag.storage import serialization
from kubedag.storage.base import ChooseRunsToLaunch, RunStorage
from kubedag.storage.records import DaemonHeartbeat, RunRecord, RunsFilter, to_timestamp
from kubedag.storage.sql.database import Database
from kubedag.storage.sql.dialect import upsert
from kubedag.storage.sql.schema import daemon_heartbeats, kvs, run_tags, runs

_RECORD_COLUMNS = (
    runs.c.id,
    runs.c.run_body,
    runs.c.status,
    runs.c.create_timestamp,
    runs.c.update_timestamp,
    runs.c.start_time,
    runs.c.end_time,
)


def _record(row: Any) -> RunRecord:
    run = serialization.deserialize_run(row.run_body, row.status)
    return RunRecord(
        row.id, run, row.create_timestamp, row.update_timestamp, row.start_time, row.end_time
    )


def _filtered(query: Select[Any], filters: RunsFilter | None) -> Select[Any]:
    if filters is None:
        return query
    if filters.run_ids is not None:
        query = query.where(runs.c.run_id.in_(list(filters.run_ids)))
    if filters.job_name is not None:
        query = query.where(runs.c.job_name == filters.job_name)
    if filters.statuses is not None:
        query = query.where(runs.c.status.in_([s.value for s in filters.statuses]))
    for key, values in filters.tag_values().items():
        tagged = select(run_tags.c.run_id).where(
            run_tags.c.key == key, run_tags.c.value.in_(values)
        )
        query = query.where(runs.c.run_id.in_(tagged))
    bounds = (
        (filters.created_before, runs.c.create_timestamp.__lt__),
        (filters.created_after, runs.c.create_timestamp.__gt__),
        (filters.updated_before, runs.c.update_timestamp.__lt__),
        (filters.updated_after, runs.c.update_timestamp.__gt__),
    )
    for bound, compare in bounds:
        value = to_timestamp(bound)
        if value is not None:
            query = query.where(compare(value))
    return query


def _status_values(status: RunStatus, timestamp: float | None) -> dict[str, Any]:
    now = timestamp or time.time()
    values: dict[str, Any] = {"status": status.value, "update_timestamp": now}
    if status is RunStatus.STARTED:
        values["start_time"] = func.coalesce(runs.c.start_time, now)
    if status.is_finished:
        values["end_time"] = now
    return values


def _insert_unless_key_exists(conn: Connection) -> Any:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id: a duplicate key inserts
    nothing and returns no row instead of failing, on SQLite and PostgreSQL alike (the row
    count is no use here: drivers report it differently for RETURNING statements); a duplicate
    run id still fails."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        module.insert(runs)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(runs.c.id)
    )


def _run_with_key(conn: Connection, idempotency_key: str) -> Run | None:
    row = conn.execute(
        select(runs.c.run_body, runs.c.status).where(runs.c.idempotency_key == idempotency_key)
    ).first()
    return serialization.deserialize_run(row.run_body, row.status) if row is not None else None


# The PostgreSQL advisory lock that serializes dequeuers (any constant shared by all of them).
_DEQUEUE_LOCK = 0x6B646471  # "kddq"


class SqlRunStorage(RunStorage):
    def __init__(self, database: Database) -> None:
        self.database = database

    def add_run(self, run: Run, idempotency_key: str | None = None) -> Run:
        now = time.time()
        values = {
            "run_id": run.run_id,
            "job_name": run.job_name,
            "status": run.status.value,
            "partition": run.partition,
            "parent_run_id": run.parent_run_id,
            "root_run_id": run.root_run_id,
            "run_body": serialization.serialize_run(run),
            "create_timestamp": now,
            "update_timestamp": now,
            "idempotency_key": idempotency_key,
        }

        def insert(conn: Connection) -> Run:
            if idempotency_key is None:
                conn.execute(runs.insert().values(**values))
            elif conn.execute(_insert_unless_key_exists(conn).values(**values)).first() is None:
                # The key is taken (on PostgreSQL the statement waited for a concurrent
                # insert of the same key to commit): the run it names is the answer.
                existing = _run_with_key(conn, idempotency_key)
                if existing is None:
                    raise KeyError(f"A run with idempotency key {idempotency_key!r} vanished.")
                return existing
            if run.tags:
                conn.execute(
                    run_tags.insert(),
                    [{"run_id": run.run_id, "key": k, "value": v} for k, v in run.tags.items()],
                )
            return run

        try:
            return self.database.write(insert)
        except IntegrityError:
            raise ValueError(f"A run with id {run.run_id} already exists.") from None

    def get_run_by_idempotency_key(self, idempotency_key: str) -> Run | None:
        return self.database.read(lambda conn: _run_with_key(conn, idempotency_key))

    def try_update_run_status(
        self,
        run_id: str,
        to_status: RunStatus,
        from_statuses: Iterable[RunStatus] | None = None,
        timestamp: float | None = None,
    ) -> Run | None:
        allowed = [status.value for status in checked_predecessors(to_status, from_statuses)]
        values = _status_values(to_status, timestamp)

        def change(conn: Connection) -> Run | None:
            # On PostgreSQL a concurrent UPDATE of the row makes this one wait, then re-check
            # the WHERE clause against the committed row: exactly one of two racers matches.
            changed = conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id, runs.c.status.in_(allowed))
                .values(**values)
            ).rowcount
            row = conn.execute(
                select(runs.c.run_body, runs.c.status).where(runs.c.run_id == run_id)
            ).first()
            if row is None:
                raise KeyError(f"No run with id {run_id}.")
            if not changed:
                return None
            return serialization.deserialize_run(row.run_body, row.status)

        return self.database.write(change)

    def claim_queued_runs(self, choose: ChooseRunsToLaunch) -> list[Run]:
        wanted = [RunStatus.QUEUED.value, *(s.value for s in IN_PROGRESS_STATUSES)]
        query = (
            select(runs.c.run_body, runs.c.status)
            .where(runs.c.status.in_(wanted))
            .order_by(runs.c.id.asc())
        )

        def claim(conn: Connection) -> list[Run]:
            if self.database.is_postgres:
                # Held until this transaction ends; SQLite's BEGIN IMMEDIATE already excludes
                # every other writer.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DEQUEUE_LOCK})
            found = [
                serialization.deserialize_run(r.run_body, r.status) for r in conn.execute(query)
            ]
            queued = [run for run in found if run.status is RunStatus.QUEUED]
            in_progress = [run for run in found if run.status is not RunStatus.QUEUED]
            chosen = set(choose(queued, in_progress))
            values = _status_values(RunStatus.STARTING, None)
            claimed = []
            for run in queued:
                if run.run_id not in chosen:
                    continue
                changed = conn.execute(
                    update(runs)
                    .where(runs.c.run_id == run.run_id, runs.c.status == RunStatus.QUEUED.value)
                    .values(**values)
                ).rowcount
                if changed:  # not canceled since it was read
                    claimed.append(run.with_status(RunStatus.STARTING))
            return claimed

        return self.database.write(claim)

    def get_run_records(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        query = _filtered(select(*_RECORD_COLUMNS), filters)
        if cursor is not None:
            cursor_id = select(runs.c.id).where(runs.c.run_id == cursor).scalar_subquery()
            query = query.where(runs.c.id > cursor_id if ascending else runs.c.id < cursor_id)
        query = query.order_by(runs.c.id.asc() if ascending else runs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self.database.read(lambda conn: [_record(row) for row in conn.execute(query)])

    def get_run_record_by_id(self, run_id: str) -> RunRecord | None:
        query = select(*_RECORD_COLUMNS).where(runs.c.run_id == run_id)
        row = self.database.read(lambda conn: conn.execute(query).first())
        return _record(row) if row is not None else None

    def get_runs_count(self, filters: RunsFilter | None = None) -> int:
        query = _filtered(select(func.count()).select_from(runs), filters)
        return int(self.database.read(lambda conn: conn.execute(query).scalar_one()))

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> Run:
        def change(conn: Connection) -> Run:
            row = conn.execute(
                select(runs.c.run_body, runs.c.status).where(runs.c.run_id == run_id)
            ).first()
            if row is None:
                raise KeyError(f"No run with id {run_id}.")
            run = serialization.deserialize_run(row.run_body, row.status)
            merged = {**run.tags, **tags}
            run = replace(run, tags=merged)
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(run_body=serialization.serialize_run(run), update_timestamp=time.time())
            )
            upsert(
                conn,
                run_tags,
                [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
                ["run_id", "key"],
                ["value"],
            )
            return run

        return self.database.write(change)

    def delete_run(self, run_id: str) -> None:
        def remove(conn: Connection) -> None:
            conn.execute(delete(run_tags).where(run_tags.c.run_id == run_id))
            conn.execute(delete(runs).where(runs.c.run_id == run_id))

        self.database.write(remove)

    # -- key-value table and heartbeats ---------------------------------------------------------
    def kvs_get(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(keys)
        if not wanted:
            return {}
        query = select(kvs.c.key, kvs.c.value).where(kvs.c.key.in_(wanted))
        return self.database.read(lambda conn: {r.key: r.value for r in conn.execute(query)})

    def kvs_set(self, pairs: Mapping[str, str]) -> None:
        rows = [{"key": k, "value": v} for k, v in pairs.items()]
        self.database.write(lambda conn: upsert(conn, kvs, rows, ["key"], ["value"]))

    def kvs_delete(self, keys: Iterable[str]) -> None:
        doomed = list(keys)
        if doomed:
            self.database.write(lambda conn: conn.execute(delete(kvs).where(kvs.c.key.in_(doomed))))

    def add_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        row = {
            "daemon_type": heartbeat.daemon_type,
            "daemon_id": heartbeat.daemon_id,
            "timestamp": heartbeat.timestamp,
            "body": serialization.dumps(list(heartbeat.errors)),
        }
        self.database.write(
            lambda conn: upsert(
                conn, daemon_heartbeats, [row], ["daemon_type"], ["daemon_id", "timestamp", "body"]
            )
        )

    def get_daemon_heartbeats(self) -> dict[str, DaemonHeartbeat]:
        def load(conn: Connection) -> dict[str, DaemonHeartbeat]:
            return {
                r.daemon_type: DaemonHeartbeat(
                    r.daemon_type,
                    r.daemon_id,
                    r.timestamp,
                    tuple(serialization.loads(r.body) if r.body else ()),
                )
                for r in conn.execute(select(daemon_heartbeats))
            }

        return self.database.read(load)

    def dispose(self) -> None:
        self.database.dispose()
