"""One pooled PostgreSQL connection kept checked out, for the autocommit statements of whichever
thread finds it free.

Why: a single-key read is one round trip (about 0.25 ms on our machines), and checking a
connection out of SQLAlchemy's pool and back in again cost another quarter of that. Most callers
(a run worker, the CLI, a sensor) use the database from one thread at a time, so one connection
held open serves nearly every read and single-statement write without a checkout; a thread that
finds it busy takes a connection from the pool as before, never waits for this one.

It is only kept when the pool can spare it (room for at least two connections): a transactional
write takes its connection from the pool, and with a single-connection pool it would wait forever
for the one held here. Nor with `pool_pre_ping`: whoever asked for a check before every use gets
it, from the pool.

A forked child must neither use nor close the parent's connection (closing ends the parent's
session): `forget_after_fork` keeps the inherited object referenced, unused, for the life of the
child.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")

# Connections inherited through fork: referenced so that garbage collection never closes them.
_INHERITED: list[Connection] = []


class Busy(enum.Enum):
    """What `SpareConnection.try_run` returns when another thread is using the connection."""

    BUSY = "busy"


class SpareConnection:
    """A connection reused across calls instead of checked out of the pool for each."""

    def __init__(self, engine: Engine, *, recycle_seconds: float) -> None:
        self._engine = engine
        self._recycle_seconds = recycle_seconds
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._opened_at = 0.0
        self._pid = os.getpid()

    def try_run(self, work: Callable[[Connection], T]) -> T | Busy:
        """`work(connection)`, or `Busy.BUSY` at once when another thread is using it.

        A failure discards the connection (the next call opens a fresh one) and propagates, so
        the caller's retry decides what happens next, exactly as with a pooled connection."""
        if not self._lock.acquire(blocking=False):
            return Busy.BUSY
        try:
            connection = self._current()
            try:
                result = work(connection)
                connection.commit()  # ends SQLAlchemy's own bookkeeping; autocommit sent nothing
            except BaseException:
                self._discard()
                raise
            return result
        finally:
            self._lock.release()

    def _current(self) -> Connection:
        connection = self._connection
        now = time.monotonic()
        if (
            connection is not None
            and self._recycle_seconds >= 0  # negative: never recycled, as in SQLAlchemy's pool
            and now - self._opened_at > self._recycle_seconds
        ):
            self._discard()  # honour the pool's recycle age: the server may end old sessions
            connection = None
        if connection is None:
            connection = self._connection = self._engine.connect()
            self._opened_at = now
        return connection

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # back to the pool, which drops it if it was invalidated

    def close(self) -> None:
        """Return the connection to the pool (before the pool is disposed)."""
        if os.getpid() != self._pid:
            self.forget_after_fork()
            return
        with self._lock:
            self._discard()

    def forget_after_fork(self) -> None:
        """In a forked child: stop using the parent's connection without closing it."""
        connection, self._connection = self._connection, None
        if connection is not None:
            _INHERITED.append(connection)
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._pid = os.getpid()
