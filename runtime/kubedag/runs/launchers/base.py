"""What a run launcher is: something that starts a run worker somewhere and can tell whether it
is still alive.

Every launched run is executed by the same program, `kubedag run-worker RUN_ID`
(`kubedag.runs.worker`); a launcher only decides where that program runs (a local process, a
Kubernetes pod) and how to reach it afterwards. Nothing here assumes processes: a launcher
records whatever identifies its worker (a pid, a pod name) on the run as tags, so that any
process holding the instance (a daemon, the operator) can check or stop that worker later.

The instance calls a launcher; a launcher never changes a run's status itself except to record
the outcome of a forced stop (see `terminate`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from kubedag.records.run import Run
from kubedag.runs.instance_plugin import InstancePlugin

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance


class WorkerStatus(Enum):
    """What a launcher knows about a run's worker."""

    RUNNING = "RUNNING"  # alive
    NOT_FOUND = "NOT_FOUND"  # there is no such worker (any more)
    FAILED = "FAILED"  # it ended, reporting an error (a non-zero exit, a failed pod)
    SUCCESS = "SUCCESS"  # it ended normally
    UNKNOWN = "UNKNOWN"  # the launcher cannot tell (not launched by it, another host, ...)


@dataclass(frozen=True)
class WorkerHealth:
    status: WorkerStatus
    message: str = ""

    @property
    def is_gone(self) -> bool:
        """The worker is known not to be running any more."""
        return self.status in (WorkerStatus.NOT_FOUND, WorkerStatus.FAILED, WorkerStatus.SUCCESS)


@dataclass(frozen=True)
class LaunchRunContext:
    """A run that is STARTING, and the instance it belongs to."""

    run: Run
    instance: Instance


@dataclass(frozen=True)
class ResumeRunContext:
    """A STARTED run whose worker died, to be continued by a new worker; `resume_attempt` counts
    from 1."""

    run: Run
    instance: Instance
    resume_attempt: int


class RunLauncher(InstancePlugin, ABC):
    """Starts `kubedag run-worker RUN_ID` somewhere; checks and stops it later.

    Built from the instance configuration's `run_launcher` part (the plugin form's `config`
    becomes the constructor's keyword arguments); the instance then calls `register_instance`.
    """

    config_key = "run_launcher"

    @abstractmethod
    def launch_run(self, context: LaunchRunContext) -> None:
        """Start a worker for `context.run` (which is STARTING) and return without waiting for
        it. Record on the run (as tags) what identifies the worker. Raise if it cannot be
        started; the instance then marks the run FAILURE with the error."""

    @abstractmethod
    def terminate(self, run_id: str) -> bool:
        """Ask the run's worker to stop, forcibly after a grace period (as Kubernetes does with
        a pod: SIGTERM, then SIGKILL). The worker treats the request as a cancel and ends the
        run CANCELED; if it has to be killed, whoever notices first (this launcher, the
        monitor) marks the run CANCELED. Returns whether a worker was found to stop."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return False

    def check_run_worker_health(self, run: Run) -> WorkerHealth:
        """Whether the run's worker is alive. The default cannot tell: the monitor then judges by
        the worker's heartbeat."""
        return WorkerHealth(WorkerStatus.UNKNOWN, f"{type(self).__name__} cannot check workers")

    @property
    def supports_resume_run(self) -> bool:
        return False

    def resume_run(self, context: ResumeRunContext) -> None:
        """Start a new worker for a STARTED run whose worker died; it executes the steps that
        have not succeeded yet."""
        raise NotImplementedError(f"{type(self).__name__} cannot resume runs.")

    def dispose(self) -> None:
        """Release what the launcher holds (client connections); the default holds nothing."""
