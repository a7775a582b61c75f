"""Run coordinators: what happens to a submitted run before it is launched.

`instance.submit_run(run_id)` hands a NOT_STARTED run to the instance's coordinator:
- `DefaultRunCoordinator` launches it at once (through the run launcher);
- `QueuedRunCoordinator` puts it in the queue (QUEUED, with a RUN_ENQUEUED event); the
  dequeuer of `kubedag daemon` (or the operator) launches queued runs as the coordinator's limits
  allow (`kubedag.runs.queue` decides, `kubedag.runs.dequeuer` acts).

`cancel_run` is what `instance.terminate_run` calls; both coordinators cancel the same way (a
run without a worker at once, one with a worker through the launcher).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubedag.errors import RunStatusTransitionError
from kubedag.records.events import EventType
from kubedag.records.run import Run, RunStatus
from kubedag.runs import lifecycle
from kubedag.runs.launchers.base import InstancePlugin
from kubedag.runs.queue import QueueLimits, TagConcurrencyLimit

if TYPE_CHECKING:
    from kubedag.runs.launchers.base import RunHost


@dataclass(frozen=True)
class SubmitRunContext:
    """A NOT_STARTED run, and the instance it belongs to."""

    run: Run
    instance: RunHost


class RunCoordinator(InstancePlugin, ABC):
    """Decides when a submitted run is launched. Plugins subclass it (instance configuration
    `run_coordinator: {module, class, config}`); the instance calls `register_instance`."""

    config_key = "run_coordinator"

    @abstractmethod
    def submit_run(self, context: SubmitRunContext) -> Run:
        """Take a NOT_STARTED run: launch it now or queue it. Returns the run as it is now."""

    def cancel_run(self, run_id: str) -> bool:
        """Cancel a run (see `kubedag.runs.lifecycle.terminate_run`); False if it had
        finished."""
        return lifecycle.terminate_run(self.instance, run_id)

    def dispose(self) -> None:
        """Release what the coordinator holds; the default holds nothing."""


class DefaultRunCoordinator(RunCoordinator):
    """Launches every submitted run at once, with no limit."""

    def submit_run(self, context: SubmitRunContext) -> Run:
        return lifecycle.launch_run(context.instance, context.run.run_id)


class QueuedRunCoordinator(RunCoordinator):
    """Queues submitted runs; `kubedag daemon` launches them within the limits.

    - `max_concurrent_runs`: runs in progress at once (default 10; -1 no limit; 0 launches
      nothing);
    - `tag_concurrency_limits`: `[{key, value?, limit}]`, `value` may be
      `{applyLimitPerUniqueValue: true}` (see `kubedag.runs.queue`);
    - `dequeue_interval_seconds`: how often the daemon looks at the queue (default 5).
    """

    def __init__(
        self,
        max_concurrent_runs: int = 10,
        tag_concurrency_limits: Sequence[Mapping[str, Any] | TagConcurrencyLimit] = (),
        dequeue_interval_seconds: float = 5.0,
    ) -> None:
        if max_concurrent_runs < -1:
            raise ValueError(
                f"max_concurrent_runs: {max_concurrent_runs} is not allowed; use -1 for no "
                "limit, 0 to launch nothing, or a positive number."
            )
        self.limits = QueueLimits(
            max_concurrent_runs,
            tuple(
                limit
                if isinstance(limit, TagConcurrencyLimit)
                else TagConcurrencyLimit.from_config(limit)
                for limit in tag_concurrency_limits
            ),
        )
        self.dequeue_interval_seconds = float(dequeue_interval_seconds)

    def submit_run(self, context: SubmitRunContext) -> Run:
        run_id = context.run.run_id
        queued = lifecycle.change_status(
            context.instance,
            run_id,
            RunStatus.QUEUED,
            (RunStatus.NOT_STARTED,),
            EventType.RUN_ENQUEUED,
            "Run added to the queue.",
        )
        if queued is None:
            current = lifecycle.get_run(context.instance, run_id).status
            raise RunStatusTransitionError(
                f"Run {run_id} is {current.value}: only a NOT_STARTED run can be submitted.",
                current=current,
                requested=RunStatus.QUEUED,
            )
        return queued
