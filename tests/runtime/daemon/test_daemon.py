"""`kubedag daemon`: its loops, heartbeats and shutdown; two daemons on one instance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import kubedag as dg
from kubedag.daemon.daemon import (
    BACKFILL_LOOP,
    MONITOR_LOOP,
    QUEUE_LOOP,
    Daemon,
    DaemonLoop,
    default_loops,
)
from kubedag.records.transitions import IN_PROGRESS_STATUSES
from kubedag.storage.records import RunsFilter
from tests.runtime.runs.conftest import (
    backend_document,
    create_run,
    event_types,
    finished,
    wait_for,
)

S = dg.RunStatus
QUEUE = {"queued": {"max_concurrent_runs": 2, "dequeue_interval_seconds": 0.05}}
MONITORING = {"poll_interval_seconds": 0.1}


# -- the loops, in this process ---------------------------------------------------------------
def test_loops_heartbeat_survive_errors_and_stop_at_once() -> None:
    calls: list[str] = []

    def failing(_instance: dg.Instance) -> None:
        calls.append("fail")
        raise RuntimeError("database on fire")

    with dg.Instance.ephemeral() as instance:
        loops = [
            DaemonLoop("OK", 60.0, lambda _i: calls.append("ok")),
            DaemonLoop("FLAKY", 0.01, failing),
        ]
        daemon = Daemon(instance, loops, daemon_id="d1")
        thread = threading.Thread(target=daemon.run)
        thread.start()
        wait_for(lambda: calls.count("fail") >= 3, 10, "the failing loop to go on")
        beats = wait_for(
            lambda: (b := instance.get_daemon_heartbeats()) and len(b) == 2 and b,
            10,
            "both loops to heartbeat",
        )
        started = time.monotonic()
        daemon.stop()  # the OK loop is waiting 60 s for its next iteration
        thread.join(10)
        assert not thread.is_alive() and time.monotonic() - started < 2
    assert calls.count("ok") == 1
    assert beats["OK"].daemon_id == "d1" and beats["OK"].errors == ()
    assert beats["FLAKY"].errors == ("RuntimeError: database on fire",)


def test_which_loops_an_instance_asks_for(tmp_path: Path) -> None:
    def names(document: dict[str, Any]) -> list[str]:
        with dg.Instance.from_config(
            {"storage": {"in_memory": {}}, **document}, home=str(tmp_path)
        ) as instance:
            return [loop.name for loop in default_loops(instance)]

    assert names({}) == [MONITOR_LOOP, BACKFILL_LOOP]
    assert names({"run_coordinator": QUEUE}) == [QUEUE_LOOP, MONITOR_LOOP, BACKFILL_LOOP]
    assert names({"run_coordinator": QUEUE, "run_monitoring": {"enabled": False}}) == [
        QUEUE_LOOP,
        BACKFILL_LOOP,
    ]


# -- `kubedag daemon` processes ---------------------------------------------------------------
@pytest.fixture
def daemon_home(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A KUBEDAG_HOME whose kubedag.yaml asks for the queue and fast monitoring."""
    home = tmp_path / "home"
    home.mkdir()
    document = {
        **backend_document(str(request.param), request),
        "run_coordinator": QUEUE,
        "run_monitoring": MONITORING,
    }
    (home / "kubedag.yaml").write_text(yaml.safe_dump(document))
    return home


def start_daemon(home: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kubedag", "daemon"],
            env={**os.environ, "KUBEDAG_HOME": str(home)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def daemons(daemon_home: Path, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM; returns how long the daemon took to exit (it must, cleanly)."""
    begun = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    return time.monotonic() - begun


@pytest.mark.parametrize("daemon_home", ["sqlite"], indirect=True)
def test_the_daemon_launches_queued_runs_heartbeats_and_stops_on_sigterm(
    daemon_home: Path, daemons: list[subprocess.Popen[bytes]], job_file: Path, tmp_path: Path
) -> None:
    with dg.Instance.from_config(
        yaml.safe_load((daemon_home / "kubedag.yaml").read_text()), home=str(daemon_home)
    ) as instance:
        runs = [create_run(instance, job_file) for _ in range(3)]
        for run in runs:
            instance.submit_run(run.run_id)
        daemons.append(start_daemon(daemon_home, tmp_path / "daemon.log"))
        wait_for(lambda: all(finished(instance, r.run_id) for r in runs), 60, "the runs to finish")
        assert all(finished(instance, r.run_id).status is S.SUCCESS for r in runs)  # type: ignore[union-attr]
        loops = {QUEUE_LOOP, MONITOR_LOOP, BACKFILL_LOOP}
        beats = wait_for(
            lambda: (b := instance.get_daemon_heartbeats()) and set(b) == loops and b,
            10,
            "heartbeats of the queue, monitor and backfill loops",
        )
        assert {beat.daemon_id for beat in beats.values()} == {beats[QUEUE_LOOP].daemon_id}
        assert all(beat.errors == () for beat in beats.values())
        assert stop(daemons[0]) < 5
    log = (tmp_path / "daemon.log").read_text()
    assert "stopped" in log and "Traceback" not in log


@pytest.mark.parametrize("daemon_home", ["sqlite", "postgres"], indirect=True)
def test_two_daemons_on_one_instance_launch_each_run_exactly_once(
    daemon_home: Path, daemons: list[subprocess.Popen[bytes]], job_file: Path, tmp_path: Path
) -> None:
    with dg.Instance.from_config(
        yaml.safe_load((daemon_home / "kubedag.yaml").read_text()), home=str(daemon_home)
    ) as instance:
        runs = [create_run(instance, job_file) for _ in range(8)]
        for run in runs:
            instance.submit_run(run.run_id)
        in_progress = RunsFilter(statuses=list(IN_PROGRESS_STATUSES))
        samples: list[int] = []
        daemons.extend(start_daemon(daemon_home, tmp_path / f"daemon{i}.log") for i in range(2))

        def all_done() -> bool:
            samples.append(instance.get_runs_count(in_progress))
            return all(finished(instance, r.run_id) for r in runs)

        wait_for(all_done, 90, "the runs to finish")
        for process in daemons:
            assert stop(process) < 5
        assert max(samples) <= 2
        for run in runs:
            assert finished(instance, run.run_id).status is S.SUCCESS  # type: ignore[union-attr]
            types = event_types(instance, run.run_id)
            assert types.count("RUN_DEQUEUED") == 1
            assert types.count("RUN_STARTING") == 1 and types.count("RUN_START") == 1
