"""`kubedag run-worker RUN_ID` and `kubedag daemon`: the long-running processes.

- `run-worker` executes one launched run (`kubedag.runs.worker`); launchers start it, people
  rarely do. It opens the instance from `KUBEDAG_INSTANCE_REF` (set by the launcher), else the
  local instance. Exit 0 once the run is finished, whatever its status; 1 when the worker could
  not execute the run (no such run, not its to execute); 2 when the instance cannot be opened.
- `daemon` runs the queue's dequeuer, the run monitor and, for the code locations of the
  workspace (`$KUBEDAG_HOME/workspace.yaml`), the scheduler, sensors and declarative automation
  (`kubedag.daemon`) on the local instance until SIGTERM or Ctrl-C, and exits 0.

Both log to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_worker_commands(commands: Any) -> None:
    worker = commands.add_parser(
        "run-worker",
        help="execute one launched run (started by run launchers)",
        description=(
            "Execute run RUN_ID of the instance in KUBEDAG_INSTANCE_REF (else the local "
            "instance): load its code location, execute its job, leave it in a terminal "
            "status. SIGTERM stops it between steps (the run ends CANCELED)."
        ),
    )
    worker.add_argument("run_id", metavar="RUN_ID")
    worker.add_argument(
        "--resume-attempt",
        type=int,
        metavar="N",
        help="resume a STARTED run whose worker died: execute the steps that have not succeeded",
    )
    worker.set_defaults(handler=run_worker_command)

    daemon = commands.add_parser(
        "daemon",
        help="run the queue, run monitoring, schedules, sensors and automation until stopped",
        description=(
            "Launch queued runs within the queued run coordinator's limits, monitor run "
            "workers (run_monitoring), and evaluate the schedules, sensors and automation "
            "conditions of the workspace's code locations ($KUBEDAG_HOME/workspace.yaml, or "
            "$KUBEDAG_WORKSPACE), on the local instance, until SIGTERM or Ctrl-C."
        ),
    )
    daemon.set_defaults(handler=run_daemon_command)


def _configure_logging() -> None:
    """Log to what stderr is now: while a step runs, descriptors 1 and 2 point at the step's
    log, and the worker's own lines do not belong there."""
    try:
        stream: Any = os.fdopen(os.dup(2), "w", buffering=1)
    except OSError:
        stream = sys.stderr
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=stream)


def run_worker_command(args: argparse.Namespace) -> int:
    from kubedag.instance.instance import Instance
    from kubedag.runs.worker import run_worker

    _configure_logging()
    instance = Instance.get()
    try:
        return run_worker(instance, args.run_id, resume_attempt=args.resume_attempt)
    finally:
        instance.dispose()


def run_daemon_command(args: argparse.Namespace) -> int:
    from kubedag.daemon.daemon import Daemon, default_loops
    from kubedag.instance.instance import Instance

    _configure_logging()
    instance = Instance.get()
    try:
        daemon = Daemon(instance, default_loops(instance))

        def stop(_signum: int, _frame: object) -> None:
            daemon.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        daemon.run()
    finally:
        instance.dispose()
    return EXIT_OK
