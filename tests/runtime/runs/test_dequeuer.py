"""The dequeuer with real storage: limits hold under a burst, tag limits serialize runs, the
priority tag orders them, and two dequeuers at once launch each run exactly once.

Runs execute through `ThreadRunLauncher` (the real run worker code, in a thread instead of a
process) so that fifty runs take a second, not half a minute."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import kubedag as dg
from kubedag.daemon.daemon import Daemon, default_loops
from kubedag.records.transitions import IN_PROGRESS_STATUSES
from kubedag.runs.coordinators import QueuedRunCoordinator
from kubedag.runs.dequeuer import dequeue_runs
from kubedag.storage.records import RunsFilter
from tests.runtime.runs.conftest import (
    InstanceFactory,
    create_run,
    event_types,
    finished,
    messages,
    wait_for,
)
from tests.runtime.runs.thread_launcher import THREAD_LAUNCHER, ThreadRunLauncher

S = dg.RunStatus
NO_MONITOR = {"enabled": False}


def queued_instance(make_instance: InstanceFactory, **queue: object) -> dg.Instance:
    """The thread launcher runs every worker in this process, and a step's stdout capture swaps
    the process-wide descriptors 1 and 2 (compute_logs/capture.py), so two workers capturing at
    once would close each other's pipes (a BrokenPipeError failing a run, seen under load). These
    tests are about the queue, not compute logs: the workers keep none."""
    return make_instance(
        run_coordinator={"queued": {"dequeue_interval_seconds": 0.02, **queue}},
        run_launcher=THREAD_LAUNCHER,
        run_monitoring=NO_MONITOR,
        compute_logs={"noop": {}},
    )


class InProgressObserver:
    """Samples how many runs are in progress (optionally with a tag) until stopped."""

    def __init__(self, instance: dg.Instance, tags: dict[str, str] | None = None) -> None:
        self.filter = RunsFilter(statuses=list(IN_PROGRESS_STATUSES), tags=tags)
        self.instance = instance
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.instance.get_runs_count(self.filter))
            self._stop.wait(0.002)

    @contextmanager
    def watching(self) -> Iterator[InProgressObserver]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(10)


@contextmanager
def daemon_running(instance: dg.Instance) -> Iterator[Daemon]:
    daemon = Daemon(instance, default_loops(instance))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        thread.join(10)
        assert not thread.is_alive()


def failure_story(instance: dg.Instance, run_id: str) -> str:
    """A failed run's failure messages, step's and run's: what to read when it fails."""
    return "\n".join(
        f"{kind.value}: {message}"
        for kind in (dg.EventType.STEP_FAILURE, dg.EventType.RUN_FAILURE)
        for message in messages(instance, run_id, kind)
    )


def all_finished(instance: dg.Instance, runs: list[dg.Run]) -> bool:
    return all(finished(instance, run.run_id) for run in runs)


def test_a_burst_of_submissions_never_exceeds_max_concurrent_runs(
    make_instance: InstanceFactory, job_file: Path, tmp_path: Path
) -> None:
    instance = queued_instance(make_instance, max_concurrent_runs=4)
    coordinator = instance.run_coordinator
    assert isinstance(coordinator, QueuedRunCoordinator)
    gate = tmp_path / "gate"
    runs = [create_run(instance, job_file, "gated", gate) for _ in range(50)]
    for run in runs:
        assert instance.submit_run(run.run_id).status is S.QUEUED
    # While the gate is shut, the first four runs hold every slot.
    assert len(dequeue_runs(instance, coordinator.limits)) == 4
    assert dequeue_runs(instance, coordinator.limits) == []
    in_progress = RunsFilter(statuses=list(IN_PROGRESS_STATUSES))
    assert instance.get_runs_count(in_progress) == 4
    assert instance.get_runs_count(RunsFilter(statuses=[S.QUEUED])) == 46
    with InProgressObserver(instance).watching() as observer, daemon_running(instance):
        gate.touch()
        wait_for(lambda: all_finished(instance, runs), 60, "all 50 runs to finish")
    assert observer.samples and max(observer.samples) <= 4
    for run in runs:
        assert finished(instance, run.run_id).status is S.SUCCESS  # type: ignore[union-attr]
        types = event_types(instance, run.run_id)
        assert [t for t in types if t.startswith("RUN_")] == [
            "RUN_ENQUEUED",
            "RUN_DEQUEUED",
            "RUN_STARTING",
            "RUN_START",
            "RUN_SUCCESS",
        ]
    # First in, first out: the first four submitted were the first four launched.
    launcher = instance.run_launcher
    assert isinstance(launcher, ThreadRunLauncher)
    assert launcher.launched[:4] == [run.run_id for run in runs[:4]]
    launcher.join()


def test_a_tag_limit_runs_its_runs_one_at_a_time(
    make_instance: InstanceFactory, job_file: Path
) -> None:
    instance = queued_instance(
        make_instance,
        max_concurrent_runs=10,
        tag_concurrency_limits=[{"key": "db", "value": "warehouse", "limit": 1}],
    )
    tagged = [create_run(instance, job_file, tags={"db": "warehouse"}) for _ in range(6)]
    free = [create_run(instance, job_file, tags={"db": "lake"}) for _ in range(3)]
    for run in tagged + free:
        instance.submit_run(run.run_id)
    observing = InProgressObserver(instance, {"db": "warehouse"}).watching()
    with observing as observer, daemon_running(instance):
        wait_for(lambda: all_finished(instance, tagged + free), 60, "all runs to finish")
    assert observer.samples and max(observer.samples) <= 1
    assert all(finished(instance, r.run_id).status is S.SUCCESS for r in tagged + free)  # type: ignore[union-attr]

    # Each tagged run was claimed only after the one before it had finished.
    def span(run: dg.Run) -> tuple[float, float]:
        record = instance.get_run_record_by_id(run.run_id)
        (starting,) = instance.all_logs(run.run_id, of_type=dg.EventType.RUN_STARTING)
        assert record is not None and record.end_time is not None
        return starting.timestamp, record.end_time

    spans = sorted(span(run) for run in tagged)
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= end


def test_higher_priority_runs_are_launched_first(
    make_instance: InstanceFactory, job_file: Path
) -> None:
    instance = queued_instance(make_instance, max_concurrent_runs=1)
    priorities = {"a": None, "b": "5", "c": "-3", "d": "5", "e": None}
    runs = {
        name: create_run(
            instance, job_file, tags={"kubedag/priority": p} if p is not None else None
        )
        for name, p in priorities.items()
    }
    for run in runs.values():
        instance.submit_run(run.run_id)
    with daemon_running(instance):
        wait_for(lambda: all_finished(instance, list(runs.values())), 60, "all runs to finish")
    launcher = instance.run_launcher
    assert isinstance(launcher, ThreadRunLauncher)
    by_id = {run.run_id: name for name, run in runs.items()}
    assert [by_id[run_id] for run_id in launcher.launched] == ["b", "d", "a", "e", "c"]


def test_two_dequeuers_at_once_launch_each_run_exactly_once(
    make_instance: InstanceFactory, job_file: Path
) -> None:
    """Two dequeuers, each with its own connections and launcher, as two daemons would be."""
    first = queued_instance(make_instance, max_concurrent_runs=3)
    second = queued_instance(make_instance, max_concurrent_runs=3)
    runs = [create_run(first, job_file) for _ in range(30)]
    for run in runs:
        first.submit_run(run.run_id)
    stop = threading.Event()

    def dequeue(instance: dg.Instance) -> None:
        limits = instance.run_coordinator.limits  # type: ignore[attr-defined]
        while not stop.is_set():
            dequeue_runs(instance, limits)
            stop.wait(0.002)

    threads = [threading.Thread(target=dequeue, args=(i,), daemon=True) for i in (first, second)]
    with InProgressObserver(first).watching() as observer:
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: all_finished(first, runs), 60, "all runs to finish")
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
    assert observer.samples and max(observer.samples) <= 3
    launched = [
        run_id
        for instance in (first, second)
        for run_id in instance.run_launcher.launched  # type: ignore[attr-defined]
    ]
    assert sorted(launched) == sorted(run.run_id for run in runs)
    for run in runs:
        types = event_types(first, run.run_id)
        assert types.count("RUN_DEQUEUED") == 1 and types.count("RUN_START") == 1
        status = finished(first, run.run_id).status  # type: ignore[union-attr]
        assert status is S.SUCCESS, failure_story(first, run.run_id)
    # Both took part (the lock alternates between them), so this was a real race.
    assert all(instance.run_launcher.launched for instance in (first, second))  # type: ignore[attr-defined]
