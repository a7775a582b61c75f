"""Backfill storage in SQL: the `backfills` table (revision 0004), one row per backfill.

The status and times are columns (listing by status is an indexed query); everything else is
the JSON body, read and written whole: a backfill is small and changes rarely.
"""

from __future__ import annotations

import json

from sqlalchemy import insert, select, update

from kubedag.storage.base import BackfillStorage
from kubedag.storage.records import Backfill, BackfillStatus
from kubedag.storage.sql.database import Database
from kubedag.storage.sql.schema import backfills


def _row(backfill: Backfill) -> dict[str, object]:
    return {
        "backfill_id": backfill.backfill_id,
        "status": backfill.status.value,
        "create_timestamp": backfill.create_timestamp,
        "update_timestamp": backfill.update_timestamp,
        "body": json.dumps(backfill.to_dict(), sort_keys=True),
    }


class SqlBackfillStorage(BackfillStorage):
    def __init__(self, database: Database) -> None:
        self.database = database

    def add_backfill(self, backfill: Backfill) -> None:
        if self.get_backfill(backfill.backfill_id) is not None:
            raise KeyError(f"backfill {backfill.backfill_id} exists already")
        statement = insert(backfills).values(**_row(backfill))
        self.database.write(lambda conn: conn.execute(statement))

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        query = select(backfills.c.body).where(backfills.c.backfill_id == backfill_id)
        body = self.database.read(lambda conn: conn.execute(query).scalar_one_or_none())
        return Backfill.from_dict(json.loads(body)) if body is not None else None

    def get_backfills(
        self, status: BackfillStatus | None = None, limit: int | None = None
    ) -> list[Backfill]:
        query = select(backfills.c.body).order_by(
            backfills.c.create_timestamp.desc(), backfills.c.backfill_id
        )
        if status is not None:
            query = query.where(backfills.c.status == status.value)
        if limit is not None:
            query = query.limit(limit)
        bodies = self.database.read(lambda conn: list(conn.execute(query).scalars()))
        return [Backfill.from_dict(json.loads(body)) for body in bodies]

    def update_backfill(self, backfill: Backfill) -> None:
        row = _row(backfill)
        statement = (
            update(backfills)
            .where(backfills.c.backfill_id == backfill.backfill_id)
            .values(
                status=row["status"], update_timestamp=row["update_timestamp"], body=row["body"]
            )
        )
        result = self.database.write(lambda conn: conn.execute(statement))
        if result.rowcount == 0:
            raise KeyError(f"backfill {backfill.backfill_id} is not stored")

    def dispose(self) -> None:
        """The database belongs to the run storage, which disposes of it."""
