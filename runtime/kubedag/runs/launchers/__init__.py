"""Run launchers: where a run's worker process runs (`base` says what a launcher is)."""

from kubedag.runs.launchers.base import (
    LaunchRunContext,
    ResumeRunContext,
    RunLauncher,
    WorkerHealth,
    WorkerStatus,
)

__all__ = ["LaunchRunContext", "ResumeRunContext", "RunLauncher", "WorkerHealth", "WorkerStatus"]
