"""A batch of events stored on PostgreSQL in one statement, hence one round trip.

Why one statement: storing a step's events used to be BEGIN, the advisory lock, the inserts,
reading the sequence, the `asset_keys` upsert and COMMIT: six round trips, two of them per step
boundary, which was most of a step's cost on PostgreSQL. Sent in autocommit, a single statement
is its own transaction, so the lock, the insert of every row (sent as one JSON array and
unpacked on the server) and the upsert of the latest materialization per asset happen in
one round trip, and the new ids come back with it.

Why a retry is different: a connection that dies after the server committed the statement but
before its reply arrived leaves the writer not knowing whether its batch is stored; sent again
blindly, every event of it would be stored twice. So a retry (`store_event_rows_once`) runs in a
transaction: it takes the lock first (an earlier attempt still running has then committed or
failed, and the next statement's snapshot sees which), looks for the batch, and inserts it only
if it is not there. An event is recognised by its content: run, exact timestamp and serialized
body. A batch is stored whole or not at all (one statement), under the lock that gives its rows
consecutive ids, so it is stored if and only if its rows follow one another from its first.

Why the lock is still here: ids come from a sequence when a row is inserted, and without the
transaction-level advisory lock a reader following "events after id N" could see id N+2 commit
before N+1 and skip N+1 forever. Every inserted row is joined with the lock's one-row result, so
no id is drawn before the lock is held, and it is held until the statement commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, Text, bindparam, select, text

from kubedag.storage.sql.schema import event_logs

EVENT_WRITE_LOCK = 0x6B756265_01  # any constant shared by every kubedag process

_COLUMNS = ("run_id", "event_type", "asset_key", "partition", "step_key", "timestamp", "body")
_NAMES = ", ".join(_COLUMNS)
_VALUES = ", ".join(
    f"(item.value ->> {index})::double precision"
    if name == "timestamp"
    else f"item.value ->> {index}"
    for index, name in enumerate(_COLUMNS)
)

_STORE_EVENTS = text(
    f"""
    WITH write_lock AS (SELECT pg_advisory_xact_lock(:lock_key)),
    stored AS (
        INSERT INTO event_logs ({_NAMES})
        SELECT {_VALUES}
        FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS item(value, position)
        CROSS JOIN write_lock
        ORDER BY item.position
        RETURNING id, run_id, event_type, asset_key, timestamp, body
    ),
    latest AS (
        INSERT INTO asset_keys (asset_key, last_materialization_id,
            last_materialization_timestamp, last_run_id, create_timestamp,
            last_materialization_body)
        SELECT DISTINCT ON (asset_key) asset_key, id, timestamp, run_id, timestamp, body
        FROM stored
        WHERE event_type = :materialization AND asset_key IS NOT NULL
        ORDER BY asset_key, id DESC
        ON CONFLICT (asset_key) DO UPDATE SET
            last_materialization_id = excluded.last_materialization_id,
            last_materialization_timestamp = excluded.last_materialization_timestamp,
            last_run_id = excluded.last_run_id,
            last_materialization_body = excluded.last_materialization_body
    )
    SELECT id FROM stored ORDER BY id
    """
).bindparams(
    bindparam("lock_key", type_=BigInteger),
    bindparam("rows", type_=Text),
    bindparam("materialization", type_=Text),
)


def store_event_rows(
    conn: Connection, rows: Sequence[Mapping[str, Any]], materialization: str
) -> list[int]:
    """Insert `rows` (event_logs columns) in order; their new ids, ascending.

    `conn` must be in autocommit: the statement is the whole transaction. The rows travel as
    one JSON array of arrays: encoding it is one C call, where array parameters were escaped
    element by element in Python."""
    payload = json.dumps(
        [[row[name] for name in _COLUMNS] for row in rows],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    params = {"lock_key": EVENT_WRITE_LOCK, "rows": payload, "materialization": materialization}
    return [int(storage_id) for (storage_id,) in conn.execute(_STORE_EVENTS, params)]


_TAKE_LOCK = text("SELECT pg_advisory_xact_lock(:lock_key)").bindparams(
    bindparam("lock_key", type_=BigInteger)
)
# The first stored row equal to a batch's first row; one probe of the timestamp index.
_FIRST_COPY = (
    select(event_logs.c.id)
    .where(
        event_logs.c.timestamp == bindparam("timestamp"),
        event_logs.c.run_id == bindparam("run_id"),
        event_logs.c.body == bindparam("body"),
    )
    .order_by(event_logs.c.id)
    .limit(1)
)
_ROWS_FROM = (
    select(event_logs.c.id, event_logs.c.run_id, event_logs.c.timestamp, event_logs.c.body)
    .where(event_logs.c.id >= bindparam("first_id"))
    .order_by(event_logs.c.id)
    .limit(bindparam("count"))
)


def store_event_rows_once(
    conn: Connection, rows: Sequence[Mapping[str, Any]], materialization: str
) -> list[int]:
    """What a retry of `store_event_rows` runs: the ids of `rows` if an earlier attempt stored
    them, else their new ids. `conn` must be in a transaction (read committed), so the lock
    taken first is held while we look and insert."""
    conn.execute(_TAKE_LOCK, {"lock_key": EVENT_WRITE_LOCK})
    stored = stored_ids(conn, rows)
    return stored if stored is not None else store_event_rows(conn, rows, materialization)


def stored_ids(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int] | None:
    """The ids of `rows` if they are already stored, one after another; else None."""
    first = rows[0]
    probe = {"timestamp": first["timestamp"], "run_id": first["run_id"], "body": first["body"]}
    first_id = conn.execute(_FIRST_COPY, probe).scalar()
    if first_id is None:
        return None
    found = conn.execute(_ROWS_FROM, {"first_id": first_id, "count": len(rows)}).all()
    same = len(found) == len(rows) and all(
        (row.run_id, row.timestamp, row.body) == (want["run_id"], want["timestamp"], want["body"])
        for row, want in zip(found, rows, strict=False)
    )
    return [int(row.id) for row in found] if same else None
