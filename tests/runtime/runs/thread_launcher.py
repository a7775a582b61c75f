"""A run launcher for tests that launch many runs: each run's worker (`run_worker`, exactly what
`kubedag run-worker` runs) executes in a thread of the test process instead of a process of its
own. The queue, the storage and the worker code are the real ones; only the ~0.5 s start-up of
a Python process per run is saved. Loaded through the instance configuration's plugin form.
"""

from __future__ import annotations

import threading

from kubedag.runs.launchers.base import LaunchRunContext, RunLauncher
from kubedag.runs.worker import run_worker


class ThreadRunLauncher(RunLauncher):
    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.launched: list[str] = []
        self._lock = threading.Lock()

    def launch_run(self, context: LaunchRunContext) -> None:
        thread = threading.Thread(
            target=run_worker,
            args=(context.instance, context.run.run_id),
            kwargs={"install_signal_handlers": False},
            name=f"worker-{context.run.run_id[:8]}",
            daemon=True,
        )
        with self._lock:
            self.threads.append(thread)
            self.launched.append(context.run.run_id)
        thread.start()

    def terminate(self, run_id: str) -> bool:
        return False  # the worker notices CANCELING by itself

    def join(self, timeout: float = 30) -> None:
        for thread in list(self.threads):
            thread.join(timeout)


THREAD_LAUNCHER = {"module": __name__, "class": "ThreadRunLauncher"}
