"""A batch of events stored on PostgreSQL in one statement, hence one round trip.

Why one statement: storing a step's events used to be BEGIN, the advisory lock, the inserts,
reading the sequence, the `asset_keys` upsert and COMMIT: six round trips, two of them per step
boundary, which was most of a step's cost on PostgreSQL. Sent in autocommit, a single statement
is its own transaction, so the lock, the insert of every row (sent as one JSON array and
unpacked on the server) and the upsert of the latest materialization per asset happen in
one round trip, and the new ids come back with it.

Why the lock is still here: ids come from a sequence when a row is inserted, and without the
transaction-level advisory lock a reader following "events after id N" could see id N+2 commit
before N+1 and skip N+1 forever. Every inserted row is joined with the lock's one-row result, so
no id is drawn before the lock is held, and it is held until the statement commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, Text, bindparam, text

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
