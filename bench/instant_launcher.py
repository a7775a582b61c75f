"""A run launcher whose worker finishes at once (STARTED, then SUCCESS), for the queue workload:
it times the coordinator, the dequeuer and their storage, not process start-up. Loaded through
the instance configuration's plugin form (`{module: instant_launcher, class:
InstantRunLauncher}`), like any launcher plugin; kubedag only."""

from __future__ import annotations

from kubedag.records.run import RunStatus
from kubedag.runs.launchers.base import LaunchRunContext, RunLauncher


class InstantRunLauncher(RunLauncher):
    def launch_run(self, context: LaunchRunContext) -> None:
        context.instance.update_run_status(context.run.run_id, RunStatus.STARTED)
        context.instance.update_run_status(context.run.run_id, RunStatus.SUCCESS)

    def terminate(self, run_id: str) -> bool:
        return False  # its runs are finished before anyone could ask
