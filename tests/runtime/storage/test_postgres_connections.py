"""PostgreSQL specifics: an outage is retried, not swallowed; connections are pooled and
never leak."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import kubedag as dg
from kubedag.errors import StorageUnavailableError
from kubedag.storage.sql.database import normalize_url

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
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        open_now = _connections(postgres_server.admin_url, database)  # type: ignore[attr-defined]
        assert 1 <= open_now <= 4
        assert all(len(instance.all_logs(f"run-{w}")) == 40 for w in range(6))
    assert _connections(postgres_server.admin_url, database) == 0  # type: ignore[attr-defined]
