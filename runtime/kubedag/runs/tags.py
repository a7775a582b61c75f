"""Run tags and key-value entries with a meaning to kubedag itself.

User tags and kubedag's share one namespace; kubedag's start with `kubedag/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubedag.records.run import Run

# Set by users (or schedules) on a run.
PRIORITY_TAG = "kubedag/priority"  # integer; the queue launches higher first
MAX_RUNTIME_TAG = "kubedag/max_runtime"  # seconds after the start; then the run is terminated

# Set by kubedag on a launched run.
WORKER_PID_TAG = "kubedag/worker_pid"  # the local process launcher's worker process
WORKER_HOST_TAG = "kubedag/worker_host"  # the host that process runs on
RESUME_ATTEMPTS_TAG = "kubedag/resume_attempts"  # how many times the monitor resumed the run


def resume_attempts(run: Run) -> int:
    """How many times the run was resumed with a new worker (its `RESUME_ATTEMPTS_TAG`)."""
    try:
        return int(run.tags.get(RESUME_ATTEMPTS_TAG, "0"))
    except ValueError:
        return 0


def worker_heartbeat_key(run_id: str) -> str:
    """The key-value entry where a run worker writes when it was last alive (Unix time)."""
    return f"kubedag/run_worker_heartbeat/{run_id}"
