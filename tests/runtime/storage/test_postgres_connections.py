"""PostgreSQL specifics: an outage is retried, not swallowed; connections are pooled and
never leak."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

import kubedag as dg
from kubedag.errors import StorageUnavailableError
from kubedag.storage.sql.database import Database, PoolSettings, normalize_url

DEADLINE_S = 30.0


def _log(run_id: str, message: str) -> dg.EventLogEntry:
    return dg.EventLogEntry(run_id, time.time(), logging.INFO, message, "job")


def _connections(admin_url: str, database: str) -> int:
    engine = create_engine(normalize_url(admin_url))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :db AND application_name = 'kubedag'"
                    ),
                    {"db": database},
                ).scalar_one()
            )
    finally:
        engine.dispose()


class _FirstRetry(logging.Handler):
    """Sets an event when the storage logs its first retry."""

    def __init__(self) -> None:
        super().__init__()
        self.retried = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.retried.set()


def test_a_write_during_an_outage_waits_for_the_server(
    postgres_server: object, postgres_url: str, tmp_path: Path
) -> None:
    document = {"storage": {"postgres": {"postgres_url": postgres_url, "retry_seconds": 60}}}
    handler = _FirstRetry()
    logger = logging.getLogger("kubedag.storage")
    logger.addHandler(handler)
    try:
        with dg.Instance.from_config(document, home=str(tmp_path)) as instance:
            instance.store_event_entry(_log("r1", "before the outage"))
            postgres_server.stop()  # type: ignore[attr-defined]

            def restart_after_first_retry() -> None:
                assert handler.retried.wait(DEADLINE_S)
                postgres_server.start()  # type: ignore[attr-defined]

            restarter = threading.Thread(target=restart_after_first_retry)
            restarter.start()
            try:
                instance.store_event_entry(_log("r1", "during the outage"))
            finally:
                restarter.join()
            messages = [e.user_message for e in instance.all_logs("r1")]
    finally:
        logger.removeHandler(handler)
    assert messages == ["before the outage", "during the outage"]
    assert "is unavailable" in handler.messages[0] and "retrying" in handler.messages[0]


def test_an_outage_longer_than_the_retry_window_is_an_error(
    postgres_server: object, postgres_url: str, tmp_path: Path
) -> None:
    document = {"storage": {"postgres": {"postgres_url": postgres_url, "retry_seconds": 0.3}}}
    with dg.Instance.from_config(document, home=str(tmp_path)) as instance:
        instance.create_run(job_name="job")
        postgres_server.stop()  # type: ignore[attr-defined]
        try:
            with pytest.raises(StorageUnavailableError) as raised:
                instance.get_runs()
        finally:
            postgres_server.start()  # type: ignore[attr-defined]
        assert "Cannot use PostgreSQL database" in str(raised.value)
        assert "attempts" in str(raised.value)
        assert len(instance.get_runs()) == 1  # and it recovers once the server is back


def test_connections_are_pooled_and_released(
    postgres_server: object, postgres_url: str, tmp_path: Path
) -> None:
    database = postgres_url.rsplit("/", 1)[-1].split("?")[0]
    document = {
        "storage": {"postgres": {"postgres_url": postgres_url, "pool_size": 3, "max_overflow": 1}}
    }
    with dg.Instance.from_config(document, home=str(tmp_path)) as instance:
        engine = instance.databases[0].engine

        def work(worker: int) -> None:
            for i in range(40):
                instance.store_event_entry(_log(f"run-{worker}", str(i)))
                instance.all_logs(f"run-{worker}")

        threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # At most the spare connection stays checked out, kept for the next single statement.
        assert engine.pool.checkedout() <= 1  # type: ignore[attr-defined]
        open_now = _connections(postgres_server.admin_url, database)  # type: ignore[attr-defined]
        assert 1 <= open_now <= 4
        assert all(len(instance.all_logs(f"run-{w}")) == 40 for w in range(6))
    assert _connections(postgres_server.admin_url, database) == 0  # type: ignore[attr-defined]


# -- the spare connection: one held connection serves a thread's single statements ------------

_BACKEND_PID = text("SELECT pg_backend_pid()")


def _backend_pid(database: Database) -> int:
    return int(database.read(lambda conn: conn.execute(_BACKEND_PID).scalar_one()))


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    opened = Database(postgres_url, retry_seconds=5.0)
    opened.write(lambda conn: conn.execute(text("CREATE TABLE probe (x integer)")))
    try:
        yield opened
    finally:
        opened.dispose()


def _probe_count(database: Database) -> int:
    return int(
        database.read(lambda conn: conn.execute(text("SELECT count(*) FROM probe")).one()[0])
    )


def test_one_thread_reads_on_one_connection_without_a_checkout(database: Database) -> None:
    pids = {_backend_pid(database) for _ in range(5)}
    database.write_statement(lambda conn: conn.execute(text("INSERT INTO probe VALUES (1)")))
    pids.add(_backend_pid(database))
    assert len(pids) == 1
    assert database.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    assert _probe_count(database) == 1  # the single statement was committed on its own


def test_a_write_transaction_is_atomic_and_its_connection_returns_to_autocommit(
    database: Database,
) -> None:
    def insert_then_fail(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe VALUES (1)"))
        raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        database.write(insert_then_fail)
    assert _probe_count(database) == 0  # rolled back: the write ran in a transaction
    database.write(lambda conn: conn.execute(text("INSERT INTO probe VALUES (2)")))
    assert _probe_count(database) == 1
    with database.engine.connect() as conn:  # the pooled connection the writes used
        assert conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]


def test_a_thread_that_finds_the_spare_busy_uses_the_pool_without_waiting(
    database: Database,
) -> None:
    inside = threading.Event()
    release = threading.Event()
    holder_pid: list[int] = []

    def hold(conn: Connection) -> None:
        holder_pid.append(int(conn.execute(_BACKEND_PID).scalar_one()))
        inside.set()
        assert release.wait(DEADLINE_S)

    holder = threading.Thread(target=lambda: database.read(hold))
    holder.start()
    try:
        assert inside.wait(DEADLINE_S)
        other_pid = _backend_pid(database)  # returns while the spare is still held
        assert not release.is_set()
    finally:
        release.set()
        holder.join()
    assert other_pid != holder_pid[0]


def test_a_pool_of_one_connection_keeps_no_spare(postgres_url: str) -> None:
    database = Database(postgres_url, pool=PoolSettings(size=1, max_overflow=0, timeout_seconds=5))
    try:
        _backend_pid(database)
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # Both kinds of work from one thread: with a held spare the transaction would wait for it.
        database.write(lambda conn: conn.execute(text("CREATE TABLE probe (x integer)")))
        database.write_statement(lambda conn: conn.execute(text("INSERT INTO probe VALUES (1)")))
        assert _probe_count(database) == 1
    finally:
        database.dispose()


def test_a_spare_older_than_the_recycle_age_is_replaced(postgres_url: str) -> None:
    database = Database(postgres_url, pool=PoolSettings(recycle_seconds=0))
    try:
        pids = [_backend_pid(database) for _ in range(3)]
    finally:
        database.dispose()
    assert len(set(pids)) == 3


def test_a_negative_recycle_age_never_replaces_the_spare(postgres_url: str) -> None:
    database = Database(postgres_url, pool=PoolSettings(recycle_seconds=-1))
    try:
        pids = {_backend_pid(database) for _ in range(3)}
    finally:
        database.dispose()
    assert len(pids) == 1


def test_a_forked_child_leaves_the_parents_session_open(
    postgres_server: object, postgres_url: str, database: Database
) -> None:
    parent_pid = _backend_pid(database)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read_end)
            database.forget_parent_connections()
            own_pid = _backend_pid(database)
            database.dispose()
            gc.collect()
            os.write(write_end, str(own_pid).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        child_backend = reader.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_backend and int(child_backend) != parent_pid
    assert _backend_pid(database) == parent_pid  # the same session, not a reconnection
