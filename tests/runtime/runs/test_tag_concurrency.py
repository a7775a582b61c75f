"""The queued coordinator's tag concurrency limits, proven on real runs: launched with
`kubedag job launch` (tagged by their job's `@job(tags=...)`), executed by run workers that a real
`kubedag daemon` starts, and checked afterwards from the event log — every run's RUN_START to its
RUN_SUCCESS — at every instant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import yaml

import kubedag as dg
from kubedag.cli.main import main
from tests.runtime.overlap import peak_overlap
from tests.runtime.runs.conftest import wait_for

CODE = """
import time

import kubedag as dg

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@dg.op
def nap() -> None:
    time.sleep(0.4)  # long enough for runs to overlap when the limits allow it


@dg.job(tags={"db": "warehouse"}, config=IN_PROCESS)
def napper():
    nap()


@dg.job(config=IN_PROCESS)
def tagged_at_launch():
    nap()


defs = dg.Definitions(jobs=[napper, tagged_at_launch])
"""

Interval = tuple[float, float, dict[str, str]]  # RUN_START, RUN_SUCCESS, the run's tags


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "code" / "naps.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(CODE))
    return path


def make_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, queued: dict) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    queued = {"dequeue_interval_seconds": 0.05, **queued}
    document = {"run_coordinator": {"queued": queued}, "run_monitoring": {"enabled": False}}
    (home / "kubedag.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setenv("KUBEDAG_HOME", str(home))
    monkeypatch.delenv("KUBEDAG_INSTANCE_REF", raising=False)
    return home


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(home: Path) -> subprocess.Popen[bytes]:
        with (tmp_path / "daemon.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "kubedag", "daemon"],
                env={**os.environ, "KUBEDAG_HOME": str(home)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def launch(code: Path, job: str, *tags: str) -> None:
    """`kubedag job launch -f CODE --job JOB [--tag k=v ...]`, in this process."""
    args = ["job", "launch", "-f", str(code), "--job", job]
    for tag in tags:
        args += ["--tag", tag]
    assert main(args) == 0


def run_intervals(instance: dg.Instance, timeout: float) -> list[Interval]:
    """Wait until every run has finished; then each one's RUN_START and RUN_SUCCESS times."""
    wait_for(
        lambda: all(run.is_finished for run in instance.get_runs()),
        timeout,
        "every run to finish",
    )
    intervals = []
    for run in instance.get_runs():
        assert run.status is dg.RunStatus.SUCCESS, run
        times = {
            entry.event.event_type: entry.timestamp
            for entry in instance.all_logs(run.run_id)
            if entry.event is not None
        }
        intervals.append(
            (times[dg.EventType.RUN_START], times[dg.EventType.RUN_SUCCESS], dict(run.tags))
        )
    return intervals


def max_overlap(intervals: Sequence[Interval], counts: Callable[[dict[str, str]], bool]) -> int:
    """The most runs (among those `counts` selects) in progress at one instant."""
    return peak_overlap((start, end) for start, end, tags in intervals if counts(tags))


def test_a_jobs_tags_reach_its_launched_runs_and_their_tag_limit_holds(
    code: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    daemon: Callable[[Path], subprocess.Popen[bytes]],
) -> None:
    """Four `napper` runs (`@job(tags={"db": "warehouse"})`) with `max_concurrent_runs: 2` and a
    limit of 1 on db=warehouse run one at a time."""
    home = make_home(
        tmp_path,
        monkeypatch,
        {
            "max_concurrent_runs": 2,
            "tag_concurrency_limits": [{"key": "db", "value": "warehouse", "limit": 1}],
        },
    )
    for _ in range(4):
        launch(code, "napper", "team=data")
    daemon(home)
    with dg.Instance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 4
        for run in runs:
            assert run.tags["db"] == "warehouse" and run.tags["team"] == "data"
        intervals = run_intervals(instance, 90)
    assert max_overlap(intervals, lambda tags: True) == 1


DB_LIMITS = {"warehouse": 1, "lake": 2}  # "scratch" has no limit
TENANT_LIMIT = 2  # per distinct tenant (applyLimitPerUniqueValue)
MAX_CONCURRENT = 6


def test_thirty_runs_keep_every_tag_limit_at_every_instant(
    code: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    daemon: Callable[[Path], subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """30 runs over db=warehouse|lake|scratch (limits 1, 2, none) and three tenants (2 each,
    `applyLimitPerUniqueValue`), at most 6 at once: all succeed and no limit is ever exceeded."""
    home = make_home(
        tmp_path,
        monkeypatch,
        {
            "max_concurrent_runs": MAX_CONCURRENT,
            "tag_concurrency_limits": [
                {"key": "db", "value": "warehouse", "limit": DB_LIMITS["warehouse"]},
                {"key": "db", "value": "lake", "limit": DB_LIMITS["lake"]},
                {"key": "tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 2},
            ],
        },
    )
    dbs = ["warehouse", "lake", "scratch"]
    for index in range(30):
        launch(code, "tagged_at_launch", f"db={dbs[index % 3]}", f"tenant=t{index % 5 % 3}")
    daemon(home)
    with dg.Instance.get() as instance:
        intervals = run_intervals(instance, 240)
    assert len(intervals) == 30
    assert Counter(tags["db"] for _, _, tags in intervals) == {db: 10 for db in dbs}
    peaks = {
        f"db={db}": max_overlap(intervals, lambda tags, db=db: tags["db"] == db)  # type: ignore[misc]
        for db in dbs
    }
    peaks |= {
        f"tenant={t}": max_overlap(intervals, lambda tags, t=t: tags["tenant"] == t)  # type: ignore[misc]
        for t in ("t0", "t1", "t2")
    }
    peaks["all"] = max_overlap(intervals, lambda tags: True)
    with capsys.disabled():
        print(f"\nobserved maximum concurrency: {peaks}")
    for db, limit in DB_LIMITS.items():
        assert peaks[f"db={db}"] <= limit, peaks
    for tenant in ("t0", "t1", "t2"):
        assert peaks[f"tenant={tenant}"] <= TENANT_LIMIT, peaks
    assert peaks["all"] <= MAX_CONCURRENT, peaks
    # The limits are not kept by running one at a time: unlimited runs did overlap.
    assert peaks["all"] > 1 and peaks["db=scratch"] > 1, peaks
