"""The local process run launcher: each run's worker is a process on this machine.

`launch_run` starts `python -m kubedag run-worker RUN_ID` in a session of its own (so it
outlives whoever launched it, and a terminal's Ctrl-C does not reach it), hands it the instance
as `KUBEDAG_INSTANCE_REF` (environment references travel by name: secrets stay in the
environment), sends its output to `$KUBEDAG_HOME/run_workers/RUN_ID.log`, and records the
worker's pid and host on the run (`kubedag/worker_pid`, `kubedag/worker_host`).

Any process of the same host can then check or stop that worker: a pid counts as the run's
worker only while its command line names `run-worker` and the run id, so a pid reused by an
unrelated process is never mistaken for it (nor signalled).

`terminate` sends SIGTERM, which the worker takes as a cancel (it ends the run CANCELED between
steps); a worker still alive after `grace_period_seconds` is killed with its whole process group
(step subprocesses included) and the run marked CANCELED. For a worker that is already dead
(SIGKILLed, OOM-killed) `terminate` kills the step processes it left running in its process group,
so they cannot finish a step behind the run's back (the run monitor asks for this).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from kubedag.code_location.code_pointer import CodePointer
from kubedag.records.run import Run, RunStatus
from kubedag.runs.launchers.base import (
    LaunchRunContext,
    ResumeRunContext,
    RunLauncher,
    WorkerHealth,
    WorkerStatus,
)
from kubedag.runs.tags import WORKER_HOST_TAG, WORKER_PID_TAG

_log = logging.getLogger("kubedag.runs.launcher")

WORKER_LOG_DIRECTORY = "run_workers"
_EXITING_SECONDS = 2.0


def worker_command(run_id: str, resume_attempt: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "kubedag", "run-worker", run_id]
    if resume_attempt is not None:
        command += ["--resume-attempt", str(resume_attempt)]
    return command


def process_command_line(pid: int) -> str | None:
    """The command line of process `pid`, or None if there is no such process (a zombie has
    an empty one)."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            return (
                (proc / str(pid) / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )
        except (FileNotFoundError, ProcessLookupError):
            return None
        except OSError:
            pass
    try:  # no /proc (macOS): ask ps
        found = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() or None


def is_run_worker(pid: int, run_id: str) -> bool:
    """Whether `pid` is alive and is the worker of run `run_id`."""
    command = process_command_line(pid)
    return bool(command) and "run-worker" in command and run_id in command  # type: ignore[operator]


class LocalProcessRunLauncher(RunLauncher):
    """Runs each run's worker as a detached local process (the default launcher)."""

    def __init__(self, grace_period_seconds: float = 10.0) -> None:
        self.grace_period_seconds = float(grace_period_seconds)
        self.hostname = socket.gethostname()
        self._exited: dict[int, threading.Event] = {}  # workers this process started
        self._exit_codes: dict[int, int] = {}
        self._lock = threading.Lock()
        self._disposed = threading.Event()

    # -- launching ------------------------------------------------------------------------------
    def launch_run(self, context: LaunchRunContext) -> None:
        self._start_worker(context.run, None)

    @property
    def supports_resume_run(self) -> bool:
        return True

    def resume_run(self, context: ResumeRunContext) -> None:
        self._start_worker(context.run, context.resume_attempt)

    def _start_worker(self, run: Run, resume_attempt: int | None) -> None:
        from kubedag.records.instance_ref import INSTANCE_REF_ENV

        instance = self.instance
        ref = instance.get_ref()  # an ephemeral instance cannot be handed over: this raises
        pointer = CodePointer.from_mapping(run.code_location, run.run_id)
        env = {**os.environ, INSTANCE_REF_ENV: ref.to_json()}
        log_dir = Path(ref.home) / WORKER_LOG_DIRECTORY
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"{run.run_id}.log", "ab") as log:
            process = subprocess.Popen(
                worker_command(run.run_id, resume_attempt),
                env=env,
                cwd=pointer.working_directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        exited = threading.Event()
        with self._lock:
            self._exited[process.pid] = exited
        threading.Thread(
            target=self._wait_for_exit,
            args=(process, exited),
            name=f"kubedag-worker-{process.pid}",
            daemon=True,
        ).start()
        instance.run_storage.add_run_tags(
            run.run_id, {WORKER_PID_TAG: str(process.pid), WORKER_HOST_TAG: self.hostname}
        )
        _log.info("Run %s: worker pid %d on %s.", run.run_id, process.pid, self.hostname)

    def _wait_for_exit(self, process: subprocess.Popen[bytes], exited: threading.Event) -> None:
        """Reap a worker this process started as soon as it exits (no zombie is left), and keep
        its exit code for the health check."""
        code = process.wait()
        with self._lock:
            self._exit_codes[process.pid] = code
        exited.set()

    def _exit_code(self, pid: int) -> int | None:
        """The exit code of a worker this process started (None if it is not ours or still
        runs). A worker in the middle of exiting no longer shows its command line but has not
        been reaped yet: give it a moment."""
        with self._lock:
            exited = self._exited.get(pid)
        if exited is None or not exited.wait(_EXITING_SECONDS):
            return None
        with self._lock:
            return self._exit_codes.get(pid)

    # -- health ---------------------------------------------------------------------------------
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def _worker_pid(self, run: Run) -> tuple[int | None, str]:
        """The worker's pid if it ran on this host, else None and why not."""
        pid_text = run.tags.get(WORKER_PID_TAG)
        if pid_text is None or not pid_text.isdigit():
            return None, "no worker process is recorded on the run yet"
        host = run.tags.get(WORKER_HOST_TAG)
        if host is not None and host != self.hostname:
            return None, f"its worker runs on host {host}, and this is {self.hostname}"
        return int(pid_text), ""

    def check_run_worker_health(self, run: Run) -> WorkerHealth:
        pid, why = self._worker_pid(run)
        if pid is None:
            return WorkerHealth(WorkerStatus.UNKNOWN, why)
        if is_run_worker(pid, run.run_id):
            return WorkerHealth(WorkerStatus.RUNNING, f"worker pid {pid} is running")
        code = self._exit_code(pid)
        if code == 0:
            return WorkerHealth(WorkerStatus.SUCCESS, f"worker pid {pid} exited with code 0")
        if code is not None:
            return WorkerHealth(WorkerStatus.FAILED, f"worker pid {pid} exited with code {code}")
        return WorkerHealth(WorkerStatus.NOT_FOUND, f"worker pid {pid} is not running")

    # -- stopping -------------------------------------------------------------------------------
    def terminate(self, run_id: str) -> bool:
        run = self.instance.run_storage.get_run_by_id(run_id)
        if run is None:
            return False
        pid, why = self._worker_pid(run)
        if pid is None or not is_run_worker(pid, run_id):
            if pid is not None:
                _kill_leftovers(pid, run_id)  # the step processes of a worker that died
            _log.info("Run %s: no worker to stop here (%s).", run_id, why or "it is not running")
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        threading.Thread(
            target=self._kill_after_grace_period,
            args=(run_id, pid),
            name=f"kubedag-terminate-{run_id[:8]}",
            daemon=True,
        ).start()
        return True

    def _kill_after_grace_period(self, run_id: str, pid: int) -> None:
        from kubedag.runs import lifecycle

        deadline = time.monotonic() + self.grace_period_seconds
        while is_run_worker(pid, run_id):
            if time.monotonic() >= deadline:
                _kill_process_group(pid)
                _log.warning(
                    "Run %s: worker pid %d did not stop within %.0fs of SIGTERM; killed it.",
                    run_id,
                    pid,
                    self.grace_period_seconds,
                )
                break
            if self._disposed.wait(0.1):
                return  # the launching process is going away; the monitor takes over
        try:
            lifecycle.mark_canceled(
                self.instance,
                run_id,
                f"Run canceled: its worker (pid {pid}) stopped without finishing the run, or was "
                f"killed after the {self.grace_period_seconds:.0f}s grace period.",
                (RunStatus.CANCELING,),
            )
        except Exception:
            _log.exception("Run %s: could not mark the run CANCELED.", run_id)

    def dispose(self) -> None:
        self._disposed.set()


def _kill_leftovers(pid: int, run_id: str) -> None:
    """SIGKILL the process group that dead worker `pid` led, if processes of the run are still
    in it (forked step processes keep the worker's command line). The group id stays taken while
    the group has members, so finding one of the run's processes in it means it is the
    worker's group, not a later one that reused the number."""
    members = _process_group_members(pid)
    if any(is_run_worker(member, run_id) for member in members):
        _log.warning(
            "Run %s: worker pid %d is gone; killing the %d processes it left running.",
            run_id,
            pid,
            len(members),
        )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _process_group_members(group: int) -> list[int]:
    """The live processes of process group `group` (Linux: /proc; elsewhere none are found)."""
    proc = Path("/proc")
    members = []
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:  # state, ppid, pgrp
            members.append(int(entry.name))
    return members


def _kill_process_group(pid: int) -> None:
    """SIGKILL the worker and every process it started (it leads its own session)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
