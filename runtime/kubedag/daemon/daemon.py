"""The daemon: a few loops, each doing one job again and again, in one process.

A loop (`DaemonLoop`) is a name, an interval and an iteration function over the instance. The
daemon runs each loop in a thread of its own, so a slow iteration of one loop (a launch, a
database retry) never delays the others. After every iteration a loop writes its heartbeat
(`DaemonHeartbeat`: loop name, daemon id, time, the errors of that iteration), which is how
anyone reading the instance (`instance.get_daemon_heartbeats()`) can tell the daemon is alive.

An iteration that raises is logged and recorded in the heartbeat; the loop goes on. Loops wait
on one `threading.Event`, so `stop()` (SIGTERM, SIGINT) ends the daemon as soon as the running
iterations finish.

Iterations are level-triggered: each reads the current state and acts on it, so running two
daemons (or a daemon and the operator) against one instance is safe (the dequeuer locks, status
changes are compare-and-set), and a restarted daemon simply carries on.

With a workspace (`$KUBEDAG_HOME/workspace.yaml`, see `kubedag.automation.workspace`) the
daemon also runs the scheduler, the sensor loop and the automation loop over the workspace's code
locations (`kubedag.automation.instigators`); without one it runs no user code. Each sensor
evaluation has a time limit (`kubedag.automation.evaluation_timeout`).

Adding a loop: write `iteration(instance) -> object` and add a `DaemonLoop` in `default_loops`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubedag.records.run import new_run_id
from kubedag.storage.records import DaemonHeartbeat

if TYPE_CHECKING:
    from kubedag.automation.workspace import CodeLocation
    from kubedag.instance.instance import Instance

_log = logging.getLogger("kubedag.daemon")

QUEUE_LOOP = "QUEUED_RUN_COORDINATOR"
MONITOR_LOOP = "RUN_MONITORING"
SCHEDULER_LOOP = "SCHEDULER"
SENSOR_LOOP = "SENSOR"
AUTOMATION_LOOP = "AUTOMATION"
BACKFILL_LOOP = "BACKFILL"
# How often each loop looks; a schedule's ticks and a sensor's interval are what count, so
# these only bound the delay (a tick runs at most this late).
SCHEDULER_INTERVAL_SECONDS = 15.0
SENSOR_INTERVAL_SECONDS = 5.0
AUTOMATION_INTERVAL_SECONDS = 10.0
BACKFILL_INTERVAL_SECONDS = 30.0
JOIN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class DaemonLoop:
    """One job of the daemon: `iteration(instance)` every `interval_seconds`."""

    name: str
    interval_seconds: float
    iteration: Callable[[Instance], object]


def default_loops(
    instance: Instance, locations: Sequence[CodeLocation] | None = None
) -> list[DaemonLoop]:
    """The loops this instance's configuration asks for: the dequeuer with the queued run
    coordinator, the run monitor unless `run_monitoring.enabled` is false, the backfill status
    refresher, and the scheduler, sensor and automation loops when there are code locations
    (`locations`, default: the workspace file's)."""
    from kubedag.backfills.submission import update_backfill_statuses
    from kubedag.runs.coordinators import QueuedRunCoordinator
    from kubedag.runs.dequeuer import dequeue_runs
    from kubedag.runs.monitoring import monitor_runs

    loops = []
    coordinator = instance.run_coordinator
    if isinstance(coordinator, QueuedRunCoordinator):
        limits = coordinator.limits
        loops.append(
            DaemonLoop(
                QUEUE_LOOP,
                coordinator.dequeue_interval_seconds,
                lambda inst: dequeue_runs(inst, limits),
            )
        )
    settings = instance.run_monitoring
    if settings.enabled:
        loops.append(
            DaemonLoop(
                MONITOR_LOOP,
                settings.poll_interval_seconds,
                lambda inst: monitor_runs(inst, settings),
            )
        )
    loops.append(DaemonLoop(BACKFILL_LOOP, BACKFILL_INTERVAL_SECONDS, update_backfill_statuses))
    if locations is None:
        from kubedag.automation.workspace import load_workspace

        locations = load_workspace(instance.home)
    if locations:
        loops.extend(automation_loops(list(locations)))
    return loops


def automation_loops(locations: Sequence[CodeLocation]) -> list[DaemonLoop]:
    """The scheduler, the sensor loop and the automation loop over `locations`. Sensor
    evaluations get the time limit of `KUBEDAG_SENSOR_EVALUATION_TIMEOUT_SECONDS`."""
    from kubedag.automation.evaluation_timeout import TimedEvaluations, timeout_from_env
    from kubedag.automation.instigators import run_automation, run_schedules, run_sensors

    evaluations = TimedEvaluations(timeout_from_env(os.environ))
    return [
        DaemonLoop(
            SCHEDULER_LOOP, SCHEDULER_INTERVAL_SECONDS, lambda inst: run_schedules(inst, locations)
        ),
        DaemonLoop(
            SENSOR_LOOP,
            SENSOR_INTERVAL_SECONDS,
            lambda inst: run_sensors(inst, locations, evaluations=evaluations),
        ),
        DaemonLoop(
            AUTOMATION_LOOP,
            AUTOMATION_INTERVAL_SECONDS,
            lambda inst: run_automation(inst, locations),
        ),
    ]


class Daemon:
    """Runs `loops` against `instance` until `stop()`."""

    def __init__(
        self, instance: Instance, loops: Sequence[DaemonLoop], daemon_id: str | None = None
    ) -> None:
        self.instance = instance
        self.loops = list(loops)
        self.daemon_id = daemon_id or new_run_id()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Run every loop until `stop()`; returns once each loop's thread has ended."""
        threads = [
            threading.Thread(
                target=self._run_loop, args=(loop,), name=f"kubedag-daemon-{loop.name}"
            )
            for loop in self.loops
        ]
        _log.info(
            "Daemon %s started: %s.",
            self.daemon_id,
            ", ".join(f"{loop.name} every {loop.interval_seconds:g}s" for loop in self.loops)
            or "no loops configured",
        )
        for thread in threads:
            thread.start()
        self._stop.wait()
        for thread in threads:
            thread.join(JOIN_TIMEOUT_SECONDS)
        _log.info("Daemon %s stopped.", self.daemon_id)

    def _run_loop(self, loop: DaemonLoop) -> None:
        while not self._stop.is_set():
            errors: tuple[str, ...] = ()
            try:
                loop.iteration(self.instance)
            except Exception as exc:
                _log.exception("%s: iteration failed; trying again next time.", loop.name)
                errors = (f"{type(exc).__name__}: {exc}",)
            try:
                self.instance.add_daemon_heartbeat(
                    DaemonHeartbeat(loop.name, self.daemon_id, errors=errors)
                )
            except Exception:
                _log.exception("%s: could not write the heartbeat.", loop.name)
            self._stop.wait(loop.interval_seconds)
