"""The few statements that differ between SQLite and PostgreSQL, behind one function each."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(dialect: str, table: Table) -> Any:
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


@functools.cache
def _upsert_statement(
    dialect: str, table: Table, key_columns: tuple[str, ...], update_columns: tuple[str, ...]
) -> Any:
    # Built once per shape: constructing `excluded` columns costs about a millisecond.
    statement = _insert(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: statement.excluded[name] for name in update_columns},
    )


@functools.cache
def _insert_ignoring_statement(dialect: str, table: Table, key_columns: tuple[str, ...]) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=list(key_columns))


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert rows; where the key exists already, overwrite `update_columns`."""
    if not rows:
        return
    statement = _upsert_statement(
        conn.dialect.name, table, tuple(key_columns), tuple(update_columns)
    )
    conn.execute(statement, list(rows))


def insert_ignoring_duplicates(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key_columns: Sequence[str]
) -> None:
    if not rows:
        return
    statement = _insert_ignoring_statement(conn.dialect.name, table, tuple(key_columns))
    conn.execute(statement, list(rows))
