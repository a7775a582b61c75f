"""Schedule storage in SQL: schedule and sensor state, and their ticks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from kubedag.storage import serialization
from kubedag.storage.base import ScheduleStorage
from kubedag.storage.records import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    Tick,
    TickStatus,
)
from kubedag.storage.sql.database import Database
from kubedag.storage.sql.dialect import upsert
from kubedag.storage.sql.schema import instigators, ticks


def _state_row(state: InstigatorState, now: float) -> dict[str, Any]:
    return {
        "selector_id": state.selector_id,
        "name": state.name,
        "instigator_type": state.instigator_type.value,
        "status": state.status.value,
        "cursor": state.cursor,
        "last_tick_timestamp": state.last_tick_timestamp,
        "data": serialization.dumps(state.data) if state.data else None,
        "update_timestamp": now,
    }


def _state(row: Any) -> InstigatorState:
    return InstigatorState(
        selector_id=row.selector_id,
        name=row.name,
        instigator_type=InstigatorType(row.instigator_type),
        status=InstigatorStatus(row.status),
        cursor=row.cursor,
        last_tick_timestamp=row.last_tick_timestamp,
        data=serialization.loads(row.data) if row.data else {},
        update_timestamp=row.update_timestamp,
    )


def _tick_row(tick: Tick) -> dict[str, Any]:
    return {
        "selector_id": tick.selector_id,
        "instigator_type": tick.instigator_type.value,
        "status": tick.status.value,
        "timestamp": tick.timestamp,
        "end_timestamp": tick.end_timestamp,
        "scheduled_execution_time": tick.scheduled_execution_time,
        "run_ids": serialization.dumps(list(tick.run_ids)),
        "run_keys": serialization.dumps(list(tick.run_keys)),
        "error": serialization.dumps(tick.error) if tick.error is not None else None,
        "skip_reason": tick.skip_reason,
        "cursor": tick.cursor,
    }


def _tick(row: Any) -> Tick:
    return Tick(
        selector_id=row.selector_id,
        instigator_type=InstigatorType(row.instigator_type),
        status=TickStatus(row.status),
        timestamp=row.timestamp,
        tick_id=row.id,
        end_timestamp=row.end_timestamp,
        run_ids=tuple(serialization.loads(row.run_ids) if row.run_ids else ()),
        run_keys=tuple(serialization.loads(row.run_keys) if row.run_keys else ()),
        error=serialization.loads(row.error) if row.error else None,
        skip_reason=row.skip_reason,
        cursor=row.cursor,
        scheduled_execution_time=row.scheduled_execution_time,
    )


class SqlScheduleStorage(ScheduleStorage):
    def __init__(self, database: Database) -> None:
        self.database = database

    def all_instigator_state(
        self, instigator_type: InstigatorType | None = None
    ) -> list[InstigatorState]:
        query = select(instigators).order_by(instigators.c.selector_id)
        if instigator_type is not None:
            query = query.where(instigators.c.instigator_type == instigator_type.value)
        return self.database.read(lambda conn: [_state(r) for r in conn.execute(query)])

    def get_instigator_state(self, selector_id: str) -> InstigatorState | None:
        query = select(instigators).where(instigators.c.selector_id == selector_id)
        row = self.database.read(lambda conn: conn.execute(query).first())
        return _state(row) if row is not None else None

    def add_instigator_state(self, state: InstigatorState) -> InstigatorState:
        now = time.time()
        try:
            self.database.write(
                lambda conn: conn.execute(instigators.insert().values(_state_row(state, now)))
            )
        except IntegrityError:
            raise ValueError(
                f"An instigator state for {state.selector_id} already exists."
            ) from None
        return replace(state, update_timestamp=now)

    def update_instigator_state(self, state: InstigatorState) -> InstigatorState:
        now = time.time()
        row = _state_row(state, now)
        columns = [c for c in row if c != "selector_id"]
        self.database.write(lambda conn: upsert(conn, instigators, [row], ["selector_id"], columns))
        return replace(state, update_timestamp=now)

    def delete_instigator_state(self, selector_id: str) -> None:
        statement = delete(instigators).where(instigators.c.selector_id == selector_id)
        self.database.write(lambda conn: conn.execute(statement))

    def create_tick(self, tick: Tick) -> Tick:
        row = _tick_row(tick)

        def insert(conn: Connection) -> int:
            key = conn.execute(ticks.insert().values(row)).inserted_primary_key
            assert key is not None
            return int(key[0])

        return replace(tick, tick_id=self.database.write(insert))

    def update_tick(self, tick: Tick) -> Tick:
        statement = update(ticks).where(ticks.c.id == tick.tick_id).values(_tick_row(tick))

        def change(conn: Connection) -> None:
            if conn.execute(statement).rowcount == 0:
                raise KeyError(f"No tick with id {tick.tick_id}.")

        self.database.write(change)
        return tick

    def get_ticks(
        self,
        selector_id: str,
        before: float | None = None,
        after: float | None = None,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
    ) -> list[Tick]:
        query = select(ticks).where(ticks.c.selector_id == selector_id)
        if before is not None:
            query = query.where(ticks.c.timestamp < before)
        if after is not None:
            query = query.where(ticks.c.timestamp > after)
        if statuses is not None:
            query = query.where(ticks.c.status.in_([s.value for s in statuses]))
        query = query.order_by(ticks.c.timestamp.desc(), ticks.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self.database.read(lambda conn: [_tick(r) for r in conn.execute(query)])

    def purge_ticks(
        self, selector_id: str, before: float, statuses: Sequence[TickStatus] | None = None
    ) -> int:
        statement = delete(ticks).where(
            ticks.c.selector_id == selector_id, ticks.c.timestamp < before
        )
        if statuses is not None:
            statement = statement.where(ticks.c.status.in_([s.value for s in statuses]))
        return int(self.database.write(lambda conn: conn.execute(statement).rowcount))

    def dispose(self) -> None:
        self.database.dispose()
