"""What the run monitor decides, as a pure function of what it observed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kubedag.records.run import RunStatus
from kubedag.runs.launchers.base import WorkerHealth, WorkerStatus
from kubedag.runs.monitoring import (
    MonitorActionKind,
    RunMonitoringSettings,
    RunObservation,
    decide,
    describe_worker,
    parse_max_runtime,
)

K = MonitorActionKind
S = RunStatus
RUNNING = WorkerHealth(WorkerStatus.RUNNING, "pid 7 is running")
UNKNOWN = WorkerHealth(WorkerStatus.UNKNOWN, "no worker recorded")
SETTINGS = RunMonitoringSettings(
    start_timeout_seconds=60,
    cancel_timeout_seconds=30,
    max_resume_run_attempts=2,
    heartbeat_timeout_seconds=20,
)


def seen(status: RunStatus, health: WorkerHealth = RUNNING, **kwargs: object) -> RunObservation:
    values: dict[str, object] = {"now": 1010.0, "status_since": 1000.0, "start_time": 1000.0}
    values.update(kwargs)
    return RunObservation(status=status, health=health, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "gone", [WorkerStatus.NOT_FOUND, WorkerStatus.FAILED, WorkerStatus.SUCCESS]
)
def test_a_starting_run_whose_worker_is_gone_fails(gone: WorkerStatus) -> None:
    action = decide(seen(S.STARTING, WorkerHealth(gone, "pid 7 exited with code 3")), SETTINGS)
    assert action.kind is K.FAIL
    assert "failed to start" in action.reason and "pid 7 exited with code 3" in action.reason


def test_a_run_starting_for_too_long_fails() -> None:
    assert decide(seen(S.STARTING, UNKNOWN, now=1059.0), SETTINGS).kind is K.NONE
    action = decide(seen(S.STARTING, UNKNOWN, now=1061.0), SETTINGS)
    assert action.kind is K.FAIL and "start_timeout_seconds (60)" in action.reason
    never = replace(SETTINGS, start_timeout_seconds=0)
    assert decide(seen(S.STARTING, UNKNOWN, now=99999.0), never).kind is K.NONE


def test_a_started_run_whose_worker_died_is_resumed_while_attempts_are_left() -> None:
    dead = WorkerHealth(WorkerStatus.FAILED, "pid 7 exited with code -9")
    first = decide(seen(S.STARTED, dead, can_resume=True), SETTINGS)
    assert first.kind is K.RESUME and "code -9" in first.reason
    assert (
        decide(seen(S.STARTED, dead, can_resume=True, resume_attempts=1), SETTINGS).kind is K.RESUME
    )
    last = decide(seen(S.STARTED, dead, can_resume=True, resume_attempts=2), SETTINGS)
    assert last.kind is K.FAIL and "after 2 resume attempts" in last.reason


def test_a_started_run_whose_worker_died_fails_without_resume() -> None:
    dead = WorkerHealth(WorkerStatus.NOT_FOUND, "pid 7 is not running")
    assert decide(seen(S.STARTED, dead, can_resume=False), SETTINGS).kind is K.FAIL
    no_resume = replace(SETTINGS, max_resume_run_attempts=0)
    action = decide(seen(S.STARTED, dead, can_resume=True), no_resume)
    assert (
        action.kind is K.FAIL
        and action.reason == "Run failed: its worker is gone (NOT_FOUND: pid 7 is not running)."
    )


def test_a_silent_heartbeat_counts_only_when_the_launcher_cannot_tell() -> None:
    stale = {"heartbeat": 985.0}  # 25 s old, timeout 20 s
    assert decide(seen(S.STARTED, UNKNOWN, **stale), SETTINGS).kind is K.FAIL
    assert decide(seen(S.STARTED, RUNNING, **stale), SETTINGS).kind is K.NONE
    assert decide(seen(S.STARTED, UNKNOWN, heartbeat=995.0), SETTINGS).kind is K.NONE
    # No heartbeat at all (executed in-process, not by a worker): nothing to judge by.
    assert decide(seen(S.STARTED, UNKNOWN), SETTINGS).kind is K.NONE
    reason = decide(seen(S.STARTED, UNKNOWN, **stale), SETTINGS).reason
    assert "no heartbeat for 25s" in reason


def test_a_run_past_its_max_runtime_is_terminated() -> None:
    assert decide(seen(S.STARTED, max_runtime=10.5), SETTINGS).kind is K.NONE
    action = decide(seen(S.STARTED, max_runtime=9.0), SETTINGS)
    assert action.kind is K.TERMINATE and "kubedag/max_runtime tag (9s)" in action.reason
    assert decide(seen(S.STARTED, max_runtime=9.0, start_time=None), SETTINGS).kind is K.NONE


def test_a_canceling_run_is_canceled_when_its_worker_is_gone_or_too_slow() -> None:
    gone = WorkerHealth(WorkerStatus.NOT_FOUND, "pid 7 is not running")
    assert decide(seen(S.CANCELING, gone), SETTINGS).kind is K.MARK_CANCELED
    assert decide(seen(S.CANCELING, RUNNING, now=1029.0), SETTINGS).kind is K.NONE
    slow = decide(seen(S.CANCELING, RUNNING, now=1031.0), SETTINGS)
    assert slow.kind is K.MARK_CANCELED and "cancel_timeout_seconds (30)" in slow.reason


def test_max_runtime_tags() -> None:
    assert parse_max_runtime("90") == 90.0
    assert parse_max_runtime("1.5") == 1.5
    assert parse_max_runtime(None) is None
    assert parse_max_runtime("soon") is None
    assert parse_max_runtime("0") is None


def test_the_reason_names_the_worker_and_what_is_left_of_it_is_stopped_first() -> None:
    assert describe_worker({"kubedag/worker_pid": "812", "kubedag/worker_host": "a"}) == (
        "pid 812 on a"
    )
    pod = {"kubedag/pod_name": "kubedag-run-1", "kubedag/pod_namespace": "data"}
    assert describe_worker(pod) == "pod data/kubedag-run-1"
    assert describe_worker({}) is None
    silent = decide(seen(S.STARTED, UNKNOWN, heartbeat=985.0, worker="pid 812 on a"), SETTINGS)
    assert "its worker (pid 812 on a) sent no heartbeat for 25s" in silent.reason
    dead = WorkerHealth(WorkerStatus.FAILED, "pid 7 exited with code -9")
    for status, kind in ((S.STARTING, K.FAIL), (S.STARTED, K.FAIL), (S.CANCELING, K.MARK_CANCELED)):
        action = decide(seen(status, dead), SETTINGS)
        assert action.kind is kind and action.stop_worker
    assert decide(seen(S.STARTED, dead, can_resume=True), SETTINGS).stop_worker  # resumed
    # A run past its max runtime is canceled through its (living) worker, not stopped first.
    assert not decide(seen(S.STARTED, max_runtime=9.0), SETTINGS).stop_worker
