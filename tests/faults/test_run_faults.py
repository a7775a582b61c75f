"""Run-lifecycle faults: a run worker (`kubedag run-worker`, a real process launched by a real
`kubedag daemon`) SIGKILLed in the middle of a step, on SQLite and PostgreSQL.

The daemon's queue launches the run and its monitor loop watches the worker, as in production.
Steps run under the job's default executor (one process per step), and each step body writes a
line to a file when it starts and when it ends, so the tests count what user code did, not only
what the event log says.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.runs.tags import RESUME_ATTEMPTS_TAG, WORKER_HOST_TAG, worker_heartbeat_key
from kubedag.storage.records import RunsFilter
from tests.faults._lifecycle import Home, kubedag_home, lines, processes_naming, storage_document
from tests.runtime.runs.conftest import kill_hard, step_started, wait_for, worker_pid

S = dg.RunStatus
E = dg.EventType
DEADLINE_S = 60.0
HEARTBEAT_INTERVAL_S = 0.5  # the worker's watcher wakes every 0.5 s: no shorter in effect
HEARTBEAT_TIMEOUT_S = 3.0
MONITORING = {
    "poll_interval_seconds": 0.2,
    "heartbeat_interval_seconds": HEARTBEAT_INTERVAL_S,
    "heartbeat_timeout_seconds": HEARTBEAT_TIMEOUT_S,
}
QUEUE = {"queued": {"dequeue_interval_seconds": 0.1}}

# `first` waits for a gate file the test creates; both steps log their start and end.
CODE = """
import time
from pathlib import Path

import kubedag as dg


class Step(dg.Config):
    calls: str
    gate: str = ""


def _log(config: Step, what: str) -> None:
    with open(config.calls, "a") as out:
        out.write(what + "\\n")


@dg.asset
def first(config: Step) -> int:
    _log(config, "first start")
    deadline = time.monotonic() + 60
    while not Path(config.gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody opened the gate {config.gate}")
        time.sleep(0.02)
    _log(config, "first end")
    return 1


@dg.asset
def second(config: Step, first: int) -> int:
    _log(config, "second start")
    _log(config, "second end")
    return first + 1


defs = dg.Definitions(assets=[first, second], jobs=[dg.define_asset_job("gated", [first, second])])
"""


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _home(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, **monitoring: Any
) -> Iterator[Home]:
    document = {
        **storage_document(backend, request),
        "run_coordinator": QUEUE,
        "run_monitoring": {**MONITORING, **monitoring},
    }
    with kubedag_home(tmp_path, document) as home:
        yield home


@pytest.fixture
def failing_home(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Home]:
    yield from _home(tmp_path, backend, request)


@pytest.fixture
def resuming_home(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Home]:
    yield from _home(tmp_path, backend, request, max_resume_run_attempts=1)


def _submit_gated_run(home: Home, instance: dg.Instance) -> tuple[dg.Run, Path, Path]:
    """A `gated` run, queued for the daemon; returns it, its gate and its calls file."""
    code = home.path / "code" / "steps.py"
    code.parent.mkdir(parents=True, exist_ok=True)
    code.write_text(CODE)
    gate, calls = home.path / "gate", home.path / "calls"
    run = instance.create_run(
        job_name="gated",
        run_config={
            "ops": {
                "first": {"config": {"calls": str(calls), "gate": str(gate)}},
                "second": {"config": {"calls": str(calls)}},
            }
        },
        code_location={"python_file": str(code)},
    )
    instance.submit_run(run.run_id)
    return run, gate, calls


def _event_counts(instance: dg.Instance, run_id: str) -> Counter[tuple[str, str | None]]:
    """(event type, step key) → how many, over the run's whole event log."""
    return Counter(
        (entry.event.event_type.value, entry.step_key)
        for entry in instance.all_logs(run_id)
        if entry.event is not None
    )


def _unfinished(instance: dg.Instance) -> list[dg.Run]:
    return [run for run in instance.get_runs() if not run.is_finished]


@pytest.mark.parametrize("seen_by", ["pid", "heartbeat"])
def test_fault_run_worker_sigkill_mid_step(
    failing_home: Home, seen_by: str, tmp_path: Path
) -> None:
    """Run worker SIGKILLed mid-step

    The daemon's run monitor marks the run FAILURE with a reason naming the lost worker (its pid
    and host), with exactly one RUN_FAILURE event: at its next look (`poll_interval_seconds`)
    when it can see that the worker's process is gone, and it then kills the step process the
    worker left behind; once `heartbeat_timeout_seconds` have passed without a heartbeat when
    it knows the worker only by its heartbeat (another host). No run stays STARTED and no step
    ends after the run failed."""
    home = failing_home
    instance = home.instance()
    run, _gate, calls = _submit_gated_run(home, instance)
    home.start_daemon()
    wait_for(lambda: step_started(instance, run.run_id, "first"), DEADLINE_S, "first to start")
    wait_for(lambda: lines(calls) == ["first start"], DEADLINE_S, "first's body to start")
    pid = worker_pid(instance, run.run_id)
    killed_at = time.time()
    if seen_by == "pid":
        kill_hard(pid)  # the worker only: its step's process is left running
    else:
        # As seen from a daemon on another host, which knows the worker only by its heartbeat;
        # the worker's host loses it with every process on it.
        instance.add_run_tags(run.run_id, {WORKER_HOST_TAG: "another-host"})
        killed_at = time.time()
        os.killpg(pid, signal.SIGKILL)

    done = wait_for(
        lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r,
        DEADLINE_S,
        "the monitor to end the run",
    )
    assert done.status is S.FAILURE
    records = instance.get_records_for_run(run.run_id, of_type=E.RUN_FAILURE)
    assert len(records) == 1
    reason = records[0].event_log_entry.user_message
    noticed_after = records[0].timestamp - killed_at
    assert f"pid {pid}" in reason, reason
    if seen_by == "pid":
        assert "its worker is gone" in reason, reason
        assert noticed_after < HEARTBEAT_TIMEOUT_S, noticed_after  # did not wait for silence
    else:
        assert "another-host" in reason and "sent no heartbeat" in reason, reason
        assert f"heartbeat_timeout_seconds is {HEARTBEAT_TIMEOUT_S:g}" in reason, reason
        # Not before the timeout since its last beat (at most one interval before the kill).
        earliest = HEARTBEAT_TIMEOUT_S - HEARTBEAT_INTERVAL_S - 0.1
        assert earliest < noticed_after < HEARTBEAT_TIMEOUT_S + 5, noticed_after
    counts = _event_counts(instance, run.run_id)
    assert counts[("RUN_START", None)] == 1 and counts[("STEP_START", "first")] == 1
    assert counts[("STEP_SUCCESS", "first")] == 0 and counts[("STEP_START", "second")] == 0
    assert _unfinished(instance) == []
    # the monitor removes the dead worker's heartbeat right after it ended the run
    wait_for(
        lambda: instance.kvs_get([worker_heartbeat_key(run.run_id)]) == {},
        10,
        "the dead worker's heartbeat to be removed",
    )
    # The step's own process died with its worker: it never ends the step behind the run's back.
    wait_for(lambda: not processes_naming(run.run_id), 10, "no process of the run to be left")
    assert lines(calls) == ["first start"]


def test_fault_run_worker_sigkill_mid_step_resumed(resuming_home: Home, tmp_path: Path) -> None:
    """Run worker SIGKILLed mid-step, with `run_monitoring.max_resume_run_attempts: 1`

    The monitor resumes the run with a new worker, which executes only the steps that had not
    succeeded: the run ends SUCCESS with one STEP_SUCCESS per step, one RUN_SUCCESS, and each
    step body run to its end exactly once."""
    home = resuming_home
    instance = home.instance()
    run, gate, calls = _submit_gated_run(home, instance)
    home.start_daemon()
    wait_for(lambda: step_started(instance, run.run_id, "first"), DEADLINE_S, "first to start")
    wait_for(lambda: lines(calls) == ["first start"], DEADLINE_S, "first's body to start")
    first_worker = worker_pid(instance, run.run_id)
    kill_hard(first_worker)
    wait_for(
        lambda: (r := instance.get_run_by_id(run.run_id)) and RESUME_ATTEMPTS_TAG in r.tags,
        DEADLINE_S,
        "the monitor to resume the run",
    )
    wait_for(lambda: lines(calls).count("first start") == 2, DEADLINE_S, "first to start again")
    gate.touch()

    done = wait_for(
        lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r,
        DEADLINE_S,
        "the resumed run to finish",
    )
    assert done.status is S.SUCCESS, [
        e.user_message for e in instance.all_logs(run.run_id, of_type=E.RUN_FAILURE)
    ]
    assert done.tags[RESUME_ATTEMPTS_TAG] == "1"
    assert worker_pid(instance, run.run_id) != first_worker
    counts = _event_counts(instance, run.run_id)
    assert counts[("STEP_SUCCESS", "first")] == 1 and counts[("STEP_SUCCESS", "second")] == 1
    assert counts[("RUN_SUCCESS", None)] == 1 and counts[("RUN_FAILURE", None)] == 0
    assert counts[("STEP_START", "first")] == 2 and counts[("STEP_START", "second")] == 1
    # first's body ran to its end once (the killed worker's step never ended), second's once.
    wait_for(lambda: not processes_naming(run.run_id), 10, "no process of the run to be left")
    assert Counter(lines(calls)) == {
        "first start": 2,
        "first end": 1,
        "second start": 1,
        "second end": 1,
    }
    assert instance.get_runs_count(RunsFilter(statuses=[S.STARTED, S.STARTING])) == 0
