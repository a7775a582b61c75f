"""A database the storages share: one engine (one connection pool), transactions, retries.

Why this exists rather than a bare engine per storage: the reference opened a new connection
(PostgreSQL) or a new engine (SQLite) for almost every statement and committed each on its own;
that was most of its per-step cost. Here one pooled engine serves the run, event-log and schedule
storages of an instance, every operation is one transaction, and the schema is checked once by
its version number when the instance opens.

On PostgreSQL the engine is in autocommit: a read or a single-statement write is one round trip,
with no BEGIN and COMMIT around it, and it usually runs on one held connection
(`SpareConnection`) without a pool checkout, which cost a quarter of a single-key read. A write
of several statements switches its connection to the server's default isolation level for one
transaction; the pool switches it back on return.

SQLite runs in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE`, so a daemon, a run worker and the CLI can share one file: writers queue for
the lock instead of failing half-way through a transaction.

A database that is briefly unreachable (a PostgreSQL failover, a restart, a locked SQLite file)
is retried with back-off for `retry_seconds`; after that the operation fails with
`StorageUnavailableError`, which says where the database is (never the password) and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from kubedag.errors import StorageUnavailableError
from kubedag.storage.sql.migration import ensure_current_schema
from kubedag.storage.sql.spare_connection import Busy, SpareConnection

T = TypeVar("T")
_log = logging.getLogger("kubedag.storage")


@dataclass(frozen=True)
class PoolSettings:
    """PostgreSQL connection pool: `size` kept open, up to `max_overflow` more under load,
    recycled after `recycle_seconds`.

    `pre_ping` (a `SELECT 1` before every use) is off by default: it doubles the round trips of
    a short read, and a connection that turns out dead is invalidated and the operation retried
    on a fresh one anyway (see `_is_transient`)."""

    size: int = 5
    max_overflow: int = 10
    recycle_seconds: int = 3600
    timeout_seconds: float = 30.0
    pre_ping: bool = False


def sqlite_url(base_dir: str, filename: str = "kubedag.db") -> str:
    return f"sqlite:///{os.path.join(os.path.abspath(base_dir), filename)}"


def postgres_url_from_parts(
    *,
    username: str,
    password: str | None,
    hostname: str,
    db_name: str,
    port: int = 5432,
    params: Mapping[str, str] | None = None,
) -> str:
    url = URL.create(
        "postgresql+psycopg",
        username=username,
        password=password,
        host=hostname,
        port=int(port),
        database=db_name,
        query=dict(params or {}),
    )
    return url.render_as_string(hide_password=False)


def normalize_url(url: str) -> URL:
    """Accept `postgresql://`, `postgres://` and `postgresql+psycopg://` alike; we speak psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe_url(url: URL) -> str:
    """Where a database is, for messages: never the password."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database}"
    return (
        f"PostgreSQL database '{url.database}' at {url.host or 'localhost'}:{url.port or 5432} "
        f"(user '{url.username}')"
    )


class Database:
    """An engine plus the few things every storage needs from it."""

    def __init__(
        self,
        url: str,
        *,
        pool: PoolSettings | None = None,
        retry_seconds: float = 30.0,
    ) -> None:
        self.url = normalize_url(url)
        self.dialect = self.url.get_backend_name()
        self.description = describe_url(self.url)
        self.retry_seconds = retry_seconds
        self._schema_checked = False
        self._schema_lock = threading.Lock()
        self._spare: SpareConnection | None = None
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url)
        elif self.dialect == "postgresql":
            pool = pool or PoolSettings()
            self.engine = _postgres_engine(self.url, pool)
            if pool.size + pool.max_overflow >= 2 and not pool.pre_ping:
                self._spare = SpareConnection(self.engine, recycle_seconds=pool.recycle_seconds)
                # A database dropped without `dispose` returns the held connection to its pool,
                # which then closes with the engine, as every idle pooled connection does.
                weakref.finalize(self, self._spare.close)
        else:
            raise StorageUnavailableError(
                f"Unsupported database {self.url.drivername!r}: kubedag stores runs in SQLite or "
                "PostgreSQL (postgresql://user@host:5432/db)."
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    # -- transactions ---------------------------------------------------------------------------
    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work`'s queries, retrying while the database is unreachable.

        Reads run in autocommit: each query sees a consistent snapshot of its own, and costs one
        round trip. A read whose queries must agree with each other goes through `write`."""
        return self._run(work, write=False)

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction (committed at the end, rolled back on error)."""
        return self._run(work, write=True)

    def write_statement(
        self,
        work: Callable[[Connection], T],
        *,
        retry: Callable[[Connection], T] | None = None,
    ) -> T:
        """Run `work`, which sends exactly one statement, as its own transaction.

        On PostgreSQL the statement runs in autocommit, where it is a transaction by itself:
        one round trip. SQLite writes the same way as `write`.

        `retry`, when given, runs instead of `work` on every attempt after a failed one, in a
        write transaction. A connection that dies after the server committed but before its
        reply arrived looks exactly like one that died before: sending a non-idempotent
        statement again would apply it twice, so `retry` first checks what is already there."""
        return self._run(work, write=True, single_statement=True, retry_work=retry)

    def _run(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        single_statement: bool = False,
        retry_seconds: float | None = None,
        retry_work: Callable[[Connection], T] | None = None,
    ) -> T:
        self.ensure_schema()
        return self.with_retries(
            work,
            write=write,
            single_statement=single_statement,
            retry_seconds=retry_seconds,
            retry_work=retry_work,
        )

    def with_retries(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        single_statement: bool = False,
        retry_seconds: float | None = None,
        retry_work: Callable[[Connection], T] | None = None,
    ) -> T:
        """Run `work` on a connection, again with back-off while the database is unreachable
        or busy, for `retry_seconds` (default: the database's own budget)."""
        budget = self.retry_seconds if retry_seconds is None else retry_seconds
        deadline = time.monotonic() + budget
        delay = 0.05
        attempt = 0
        autocommit = self.is_postgres and (single_statement or not write)
        while True:
            attempt += 1
            if attempt == 2 and retry_work is not None:
                work, autocommit = retry_work, False  # a transaction: it reads, then writes
            try:
                if autocommit and self._spare is not None:
                    result = self._spare.try_run(work)
                    if result is not Busy.BUSY:
                        return result
                with self.engine.connect() as conn:
                    if autocommit:
                        return work(conn)  # each statement is a transaction by itself
                    if self.is_postgres:
                        conn = conn.execution_options(
                            isolation_level=self.engine.dialect.default_isolation_level
                        )
                    elif write:
                        conn = conn.execution_options(kubedag_immediate=True)
                    else:
                        conn = conn.execution_options(kubedag_autocommit=True)
                    with conn.begin():
                        return work(conn)
            except exc.DBAPIError as error:
                if not self._is_transient(error):
                    unusable = self._unusable_file(error)
                    if unusable is not None:
                        raise unusable from error
                    raise
                if time.monotonic() + delay > deadline:
                    raise self.unavailable(error, attempt) from None
                _log.warning(
                    "%s is unavailable (%s); retrying in %.2fs (attempt %d).",
                    self.description,
                    _first_line(error),
                    delay,
                    attempt,
                )
                time.sleep(delay)  # back-off before reconnecting: waiting is the point
                delay = min(delay * 2, 2.0)

    def _is_transient(self, error: exc.DBAPIError) -> bool:
        if error.connection_invalidated:
            return True
        if self.is_sqlite:
            text = str(error.orig).lower()
            return isinstance(error, exc.OperationalError) and ("locked" in text or "busy" in text)
        return isinstance(error, exc.OperationalError | exc.InterfaceError)

    def _unusable_file(self, error: exc.DBAPIError) -> StorageUnavailableError | None:
        """A clear error for a SQLite file that cannot be written because of where it is (a
        read-only or full file system), instead of SQLite's bare "disk I/O error"."""
        if not self.is_sqlite or not isinstance(error, exc.OperationalError):
            return None
        path = self.url.database
        if not path or path == ":memory:":
            return None
        folder = os.path.dirname(os.path.abspath(path))
        reason = sqlite_file_problem(str(error.orig), _write_errno(folder))
        if reason is None:
            return None
        return StorageUnavailableError(
            f"Cannot write {self.description}: {reason.format(folder=folder)} "
            f"(SQLite: {_first_line(error)}). Make {folder} writable again (remount its file "
            "system read-write, free space), or point $KUBEDAG_HOME (or storage.sqlite.base_dir) "
            "at a writable folder."
        )

    def unavailable(self, error: BaseException, attempts: int = 1) -> StorageUnavailableError:
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        hint = (
            "Check that the server is running and reachable, and the database, user and "
            "password (from the environment) are right."
            if self.is_postgres
            else "Another process may hold a long write lock; check the file and its folder are "
            "writable."
        )
        return StorageUnavailableError(
            f"Cannot use {self.description}{tried}: {_first_line(error)}. {hint}"
        )

    # -- schema ---------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create the schema in an empty database, accept the current one, and refuse an old
        or newer one with the command that fixes it. Checked once per process."""
        if self._schema_checked:
            return
        with self._schema_lock:
            if self._schema_checked:
                return
            ensure_current_schema(self)
            self._schema_checked = True

    def forget_schema_check(self) -> None:
        """Check the schema again before the next use (after a migration changed it)."""
        self._schema_checked = False

    def skip_schema_check(self) -> None:
        """Use the database whatever its schema (only `migrate` should want this)."""
        self._schema_checked = True

    def dispose(self) -> None:
        if self._spare is not None:
            self._spare.close()
        self.engine.dispose()

    def forget_parent_connections(self) -> None:
        """In a forked child: drop the pool inherited from the parent without closing its
        connections (closing would end the parent's sessions); new ones open on first use."""
        if self._spare is not None:
            self._spare.forget_after_fork()
        self.engine.dispose(close=False)


def sqlite_file_problem(message: str, write_errno: int | None) -> str | None:
    """Why SQLite could not write, in words that name the cause, or None when `message` is
    not about the file. `write_errno`: what creating a file beside the database failed with
    (None: it worked). `{folder}` in the answer stands for the database's folder."""
    text = message.lower()
    about_the_file = any(
        sign in text for sign in ("disk i/o error", "readonly", "unable to open", "disk is full")
    )
    if not about_the_file:
        return None
    if write_errno == errno.EROFS:
        return "the file system holding {folder} is read-only"
    if write_errno == errno.ENOSPC or "disk is full" in text:
        return "the disk holding {folder} is full"
    if write_errno in (errno.EACCES, errno.EPERM) or "readonly" in text:
        return "the database file or {folder} is read-only for this user"
    return None


def _write_errno(folder: str) -> int | None:
    """Create and remove a file in `folder`: None if that works, else the error number."""
    try:
        handle, name = tempfile.mkstemp(prefix=".kubedag-write-check-", dir=folder)
    except OSError as error:
        return error.errno
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def _first_line(error: BaseException) -> str:
    origin = getattr(error, "orig", None) or error
    text = str(origin).strip().splitlines()
    return text[0] if text else type(origin).__name__


def _sqlite_engine(url: URL) -> Engine:
    path = url.database
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": 30.0, "check_same_thread": False},
        poolclass=None if path and path != ":memory:" else NullPool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the driver's implicit BEGIN is deferred, which lets two
        # writers deadlock on lock upgrade), and set up WAL once per connection.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("kubedag_autocommit", False):
            return  # the driver is in autocommit mode: each query is its own transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("kubedag_immediate") else "BEGIN")

    return engine


def _postgres_engine(url: URL, pool: PoolSettings) -> Engine:
    return create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_recycle=pool.recycle_seconds,
        pool_timeout=pool.timeout_seconds,
        pool_pre_ping=pool.pre_ping,
        connect_args={"connect_timeout": 10, "application_name": "kubedag"},
    )
