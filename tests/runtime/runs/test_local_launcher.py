"""Runs launched as real worker processes (`python -m kubedag run-worker RUN_ID`): success,
cancellation, a worker killed mid-step (failed or resumed by the monitor), timeouts, and runs
whose code cannot be loaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.errors import RunLaunchError, RunStatusTransitionError
from kubedag.runs.launchers.base import WorkerStatus
from kubedag.runs.launchers.local_process import is_run_worker
from kubedag.runs.monitoring import MonitorActionKind, monitor_runs
from kubedag.runs.tags import RESUME_ATTEMPTS_TAG, WORKER_HOST_TAG, worker_heartbeat_key
from tests.runtime.runs.conftest import (
    InstanceFactory,
    create_run,
    event_types,
    finished,
    kill_hard,
    messages,
    status,
    step_started,
    wait_for,
    worker_pid,
)

S = dg.RunStatus
E = dg.EventType
FAST_MONITORING = {"poll_interval_seconds": 0.1, "heartbeat_interval_seconds": 0.2}


def test_a_submitted_run_executes_in_a_worker_process(
    make_instance: InstanceFactory, job_file: Path
) -> None:
    instance = make_instance()
    run = create_run(instance, job_file)
    submitted = instance.submit_run(run.run_id)
    assert submitted.status in (S.STARTING, S.STARTED, S.SUCCESS)
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to finish")
    assert done.status is S.SUCCESS
    assert event_types(instance, run.run_id) == [
        "RUN_STARTING",
        "RUN_START",
        "STEP_START",
        "STEP_OUTPUT",
        "HANDLED_OUTPUT",
        "ASSET_MATERIALIZATION",
        "STEP_SUCCESS",
        "RUN_SUCCESS",
    ]
    assert instance.get_latest_materialization_event("one") is not None
    pid = worker_pid(instance, run.run_id)
    assert done.tags[WORKER_HOST_TAG]
    launcher = instance.run_launcher
    health = wait_for(
        lambda: (
            (h := launcher.check_run_worker_health(done)).status is not WorkerStatus.RUNNING and h
        ),
        30,
        "the worker to exit",
    )
    assert health.status is WorkerStatus.SUCCESS, health.message  # exit code 0
    assert not is_run_worker(pid, run.run_id)
    assert instance.kvs_get([worker_heartbeat_key(run.run_id)]) == {}  # removed at the end
    log = Path(instance.home, "run_workers", f"{run.run_id}.log")
    assert log.exists()


def test_the_job_executor_runs_by_default(
    make_sqlite_instance: InstanceFactory, job_file: Path
) -> None:
    """Without execution config the worker uses the job's executor (multiprocess by default)."""
    instance = make_sqlite_instance()
    run = instance.create_run(job_name="quick", code_location={"python_file": str(job_file)})
    instance.launch_run(run.run_id)
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to finish")
    assert done.status is S.SUCCESS, messages(instance, run.run_id, E.RUN_FAILURE)


def test_canceling_a_running_run_stops_it_between_steps(
    make_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    instance = make_instance()
    gate = tmp_path / "gate"
    run = create_run(instance, job_file, "gated", gate)
    instance.submit_run(run.run_id)
    wait_for(lambda: step_started(instance, run.run_id, "first"), 30, "step first to start")
    (beat,) = instance.kvs_get([worker_heartbeat_key(run.run_id)]).values()
    assert time.time() - float(beat) < 30  # the worker's proof of life
    assert instance.terminate_run(run.run_id) is True
    assert status(instance, run.run_id) in (S.CANCELING, S.CANCELED)
    gate.touch()  # the running step finishes; the next one must not start
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to finish")
    assert done.status is S.CANCELED
    types = event_types(instance, run.run_id)
    assert "RUN_CANCELING" in types and types[-1] == "RUN_CANCELED"
    assert types.count("RUN_CANCELING") == 1  # terminate_run's, not again by the worker's SIGTERM
    assert not step_started(instance, run.run_id, "second")
    assert instance.terminate_run(run.run_id) is False  # finished: nothing to do


def test_sigterm_asks_the_worker_to_cancel_its_run(
    make_sqlite_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    """What a pod deletion does: SIGTERM to the worker, with no terminate_run before it."""
    instance = make_sqlite_instance()
    gate = tmp_path / "gate"
    run = create_run(instance, job_file, "gated", gate)
    instance.launch_run(run.run_id)
    wait_for(lambda: step_started(instance, run.run_id, "first"), 30, "step first to start")
    os.kill(worker_pid(instance, run.run_id), signal.SIGTERM)
    wait_for(lambda: status(instance, run.run_id) is S.CANCELING, 30, "the run to be CANCELING")
    gate.touch()
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to finish")
    assert done.status is S.CANCELED
    (canceling,) = messages(instance, run.run_id, E.RUN_CANCELING)
    assert canceling == "The run worker received SIGTERM: stopping the run."
    assert not step_started(instance, run.run_id, "second")


def test_a_worker_that_does_not_stop_is_killed_after_the_grace_period(
    make_sqlite_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    instance = make_sqlite_instance(run_launcher={"local_process": {"grace_period_seconds": 0.5}})
    run = create_run(instance, job_file, "gated", tmp_path / "never-opened")
    instance.launch_run(run.run_id)
    wait_for(lambda: step_started(instance, run.run_id, "first"), 30, "step first to start")
    pid = worker_pid(instance, run.run_id)
    assert instance.terminate_run(run.run_id) is True
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to be canceled")
    assert done.status is S.CANCELED
    assert "killed after the 0s grace period" in messages(instance, run.run_id, E.RUN_CANCELED)[0]
    wait_for(lambda: not is_run_worker(pid, run.run_id), 10, "the worker to be gone")
    assert not step_started(instance, run.run_id, "second")


def test_a_worker_killed_mid_step_is_noticed_by_the_monitor(
    make_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    launching = make_instance()
    # The monitor runs elsewhere (a daemon): it knows the worker only by its recorded pid.
    monitor = make_instance(run_monitoring=FAST_MONITORING)
    run = create_run(launching, job_file, "gated", tmp_path / "gate")
    launching.submit_run(run.run_id)
    wait_for(lambda: step_started(launching, run.run_id, "first"), 30, "step first to start")
    assert monitor_runs(monitor, monitor.run_monitoring) == {}  # alive: nothing to do
    kill_hard(worker_pid(launching, run.run_id))
    wait_for(
        lambda: monitor_runs(monitor, monitor.run_monitoring).get(run.run_id),
        30,
        "the monitor to notice the dead worker",
    )
    assert status(monitor, run.run_id) is S.FAILURE
    (reason,) = messages(monitor, run.run_id, E.RUN_FAILURE)
    assert "its worker is gone (NOT_FOUND" in reason
    assert monitor.kvs_get([worker_heartbeat_key(run.run_id)]) == {}  # the dead worker's


def test_a_worker_killed_mid_step_is_resumed_by_a_new_worker(
    make_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    instance = make_instance(run_monitoring={**FAST_MONITORING, "max_resume_run_attempts": 1})
    gate = tmp_path / "gate"
    run = create_run(instance, job_file, "gated", gate)
    instance.submit_run(run.run_id)
    wait_for(lambda: step_started(instance, run.run_id, "first"), 30, "step first to start")
    kill_hard(worker_pid(instance, run.run_id))
    gate.touch()
    actions = wait_for(
        lambda: monitor_runs(instance, instance.run_monitoring).get(run.run_id),
        30,
        "the monitor to resume the run",
    )
    assert actions.kind is MonitorActionKind.RESUME
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the resumed run to finish")
    assert done.status is S.SUCCESS, messages(instance, run.run_id, E.RUN_FAILURE)
    assert done.tags[RESUME_ATTEMPTS_TAG] == "1"
    assert any(
        "Resuming run with a new worker (attempt 1)" in m
        for m in messages(instance, run.run_id, E.ENGINE_EVENT)
    )
    successes = instance.all_logs(run.run_id, of_type=E.STEP_SUCCESS)
    assert [e.step_key for e in successes] == ["first", "second"]


def test_a_run_stuck_in_starting_fails_after_the_start_timeout(
    make_sqlite_instance: InstanceFactory, job_file: Path
) -> None:
    instance = make_sqlite_instance(run_monitoring={"start_timeout_seconds": 5})
    run = create_run(instance, job_file)
    # Claimed for launch by a dequeuer that then died: STARTING, no worker.
    instance.run_storage.try_update_run_status(run.run_id, S.STARTING, [S.NOT_STARTED])
    settings = instance.run_monitoring
    assert monitor_runs(instance, settings, now=time.time() + 1) == {}
    action = monitor_runs(instance, settings, now=time.time() + 6)[run.run_id]
    assert action.kind is MonitorActionKind.FAIL
    assert status(instance, run.run_id) is S.FAILURE
    (reason,) = messages(instance, run.run_id, E.RUN_FAILURE)
    assert "longer than start_timeout_seconds (5)" in reason


def test_a_run_past_its_max_runtime_is_terminated(
    make_sqlite_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    instance = make_sqlite_instance()
    gate = tmp_path / "gate"
    run = create_run(instance, job_file, "gated", gate, tags={"kubedag/max_runtime": "30"})
    instance.submit_run(run.run_id)
    wait_for(lambda: step_started(instance, run.run_id, "first"), 30, "step first to start")
    settings = instance.run_monitoring
    assert monitor_runs(instance, settings) == {}
    action = monitor_runs(instance, settings, now=time.time() + 31)[run.run_id]
    assert action.kind is MonitorActionKind.TERMINATE
    gate.touch()
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to stop")
    assert done.status is S.CANCELED
    (canceling,) = messages(instance, run.run_id, E.RUN_CANCELING)
    assert "longer than its kubedag/max_runtime tag (30s)" in canceling
    assert not step_started(instance, run.run_id, "second")


@pytest.mark.parametrize(
    ("python_file", "job_name", "reason"),
    [
        ("/nowhere/jobs.py", "quick", "'/nowhere/jobs.py': it does not exist"),
        ("JOBS", "nightly", "No job named 'nightly'. Jobs: failing, gated, pair, quick."),
        ("BROKEN", "quick", "importing it raised ZeroDivisionError: division by zero"),
    ],
)
def test_a_run_whose_code_cannot_be_loaded_fails_with_the_reason(
    make_sqlite_instance: InstanceFactory,
    job_file: Path,
    tmp_path: Path,
    python_file: str,
    job_name: str,
    reason: str,
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import kubedag as dg\n1 / 0\n")
    files = {"JOBS": str(job_file), "BROKEN": str(broken)}
    instance = make_sqlite_instance()
    run = instance.create_run(
        job_name=job_name, code_location={"python_file": files.get(python_file, python_file)}
    )
    instance.launch_run(run.run_id)
    done = wait_for(lambda: finished(instance, run.run_id), 30, "the run to finish")
    assert done.status is S.FAILURE
    (message,) = messages(instance, run.run_id, E.RUN_FAILURE)
    assert message.startswith("Could not load the run's job: ")
    assert reason in message
    assert event_types(instance, run.run_id) == ["RUN_STARTING", "RUN_FAILURE"]


def test_a_run_without_a_code_location_fails_at_launch(
    make_sqlite_instance: InstanceFactory,
) -> None:
    instance = make_sqlite_instance()
    run = instance.create_run(job_name="quick")
    with pytest.raises(RunLaunchError, match="the run records no code location"):
        instance.launch_run(run.run_id)
    assert status(instance, run.run_id) is S.FAILURE
    (message,) = messages(instance, run.run_id, E.RUN_FAILURE)
    assert message.startswith("Run could not be launched: ")


def test_the_worker_refuses_runs_that_are_not_its_to_execute(
    make_sqlite_instance: InstanceFactory, job_file: Path
) -> None:
    instance = make_sqlite_instance()
    queued = create_run(instance, job_file)
    instance.run_storage.try_update_run_status(queued.run_id, S.QUEUED)
    env = {**os.environ, "KUBEDAG_INSTANCE_REF": instance.get_ref().to_json()}
    for run_id in (queued.run_id, "no-such-run"):
        worker = subprocess.run(
            [sys.executable, "-m", "kubedag", "run-worker", run_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert worker.returncode == 1, worker.stderr
        assert run_id in worker.stderr
    assert status(instance, queued.run_id) is S.QUEUED


def test_runs_without_a_worker_are_canceled_at_once(
    make_sqlite_instance: InstanceFactory, job_file: Path
) -> None:
    instance = make_sqlite_instance(run_coordinator={"queued": {}})
    run = create_run(instance, job_file)
    assert instance.submit_run(run.run_id).status is S.QUEUED
    assert instance.terminate_run(run.run_id) is True
    assert status(instance, run.run_id) is S.CANCELED
    assert event_types(instance, run.run_id) == ["RUN_ENQUEUED", "RUN_CANCELED"]
    never_submitted = create_run(instance, job_file)
    assert instance.terminate_run(never_submitted.run_id) is True
    assert status(instance, never_submitted.run_id) is S.CANCELED
    assert instance.terminate_run(never_submitted.run_id) is False


def test_a_run_that_cannot_be_launched_fails(job_file: Path) -> None:
    with dg.Instance.ephemeral() as instance:
        run = create_run(instance, job_file)
        with pytest.raises(RunLaunchError, match="cannot be handed to another"):
            instance.submit_run(run.run_id)
        assert status(instance, run.run_id) is S.FAILURE
        (message,) = messages(instance, run.run_id, E.RUN_FAILURE)
        assert message.startswith("Run could not be launched: ")
        with pytest.raises(RunStatusTransitionError, match="only a NOT_STARTED or QUEUED run"):
            instance.launch_run(run.run_id)
