"""What a run launcher is: something that starts a run worker somewhere and can tell whether it
is still alive.

Every launched run is executed by the same program, `kubedag run-worker RUN_ID`
(`kubedag.runs.worker`); a launcher only decides where that program runs (a local process, a
Kubernetes pod) and how to reach it afterwards. Nothing here assumes processes: a launcher
records whatever identifies its worker (a pid, a pod name) on the run as tags, so that any
process holding the instance (a daemon, the operator) can check or stop that worker later.

The instance calls a launcher; a launcher never changes a run's status itself except to record
the outcome of a forced stop (see `terminate`).

What a launcher (and a coordinator) is given is a `RunHost`: the storages and plugins that the
`Instance` holds. `Instance`, the facade users hold one layer up, satisfies that protocol and
attaches itself; `runs/` reads and writes through `run_storage` and `event_log_storage`
directly, never through `Instance` methods, so a call coming down from the instance
(`Instance.launch_run` -> `lifecycle.launch_run` -> the launcher) never climbs back up. The
host, the plugin base and the launcher's contract name each other, so they share this file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Protocol

from kubedag.records.run import Run

if TYPE_CHECKING:
    from kubedag.records.instance_ref import InstanceRef
    from kubedag.runs.monitoring_settings import RunMonitoringSettings
    from kubedag.storage.base import EventLogStorage, RunStorage


class RunHost(Protocol):
    """What `runs/` works on: the instance's storages, its launcher and settings."""

    @property
    def run_storage(self) -> RunStorage: ...

    @property
    def event_log_storage(self) -> EventLogStorage: ...

    @property
    def storage_description(self) -> str:
        """Where the runs live, for error messages (no secrets: passwords are hidden)."""
        ...

    @property
    def run_launcher(self) -> RunLauncher: ...

    @property
    def run_monitoring(self) -> RunMonitoringSettings: ...

    def get_ref(self) -> InstanceRef:
        """The instance's address for a worker process; raises for an ephemeral instance."""
        ...


class InstancePlugin:
    """Something the instance builds from its `config_key` part and then attaches itself to:
    a run coordinator or launcher.

    This is the reference's `ConfigurableClass` + `register_instance`, without the class
    hierarchy: a plugin written for either (`{module, class, config}` in the instance
    configuration) gets its `config` as constructor keyword arguments and the instance
    afterwards."""

    config_key: ClassVar[str] = "a plugin part"
    _instance: RunHost | None = None

    def register_instance(self, instance: RunHost) -> None:
        self._instance = instance

    @property
    def instance(self) -> RunHost:
        if self._instance is None:
            raise RuntimeError(
                f"{type(self).__name__} is not attached to an instance; build it through the "
                f"instance configuration ({self.config_key}: ...) or call "
                "register_instance(instance)."
            )
        return self._instance


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
    instance: RunHost


@dataclass(frozen=True)
class ResumeRunContext:
    """A STARTED run whose worker died, to be continued by a new worker; `resume_attempt` counts
    from 1."""

    run: Run
    instance: RunHost
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
