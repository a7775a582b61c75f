"""The parent's handles on step processes: starting, signalling, and saying how they ended.

A step's process is either a `multiprocessing` process or, with `start_method: fork` on Linux, a
bare `os.fork()` watched through a pidfd (`fork_step`, `ForkedProcess`), which is much cheaper.
Both offer what `StepProcess` describes, which is all the executor's loop uses.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import warnings
from typing import Protocol

from kubedag.definitions.steps import StepSpec
from kubedag.errors import SubprocessError
from kubedag.execution.multiprocess.child import StepSource, forked_child
from kubedag.records.events import ErrorInfo


class StepProcessExitedError(SubprocessError):
    """A step's process ended without reporting whether its step succeeded."""

    def __init__(self, message: str, *, step_key: str, exit_code: int | None) -> None:
        # What is known of the child's end: how it exited (it reported no error of its own).
        info = ErrorInfo(message, (), None)
        super().__init__(message, subprocess_error_infos=[info])
        self.step_key = step_key
        self.exit_code = exit_code


class StepProcess(Protocol):
    """What the parent needs of a step's process (a `multiprocessing` process has all of it)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def sentinel(self) -> int: ...

    @property
    def exitcode(self) -> int | None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...


class ForkedProcess:
    """A child made with a bare `os.fork()`; a pidfd (Linux) says when it has exited.

    Why not `multiprocessing`'s fork: its bookkeeping around the fork (flushing, sentinel
    pipes, after-fork hooks, an exit function in the child) costs milliseconds per step."""

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.sentinel = pidfd
        self._exitcode: int | None = None

    @property
    def exitcode(self) -> int | None:
        if self._exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self._exitcode = -1
                return self._exitcode
            if pid:
                self._exitcode = os.waitstatus_to_exitcode(status)
        return self._exitcode

    def join(self, timeout: float | None = None) -> None:
        if self._exitcode is not None:
            return
        if timeout is None:
            _, status = os.waitpid(self.pid, 0)
            self._exitcode = os.waitstatus_to_exitcode(status)
            return
        poller = select.poll()
        poller.register(self.sentinel, select.POLLIN)
        poller.poll(max(0, int(timeout * 1000)))
        _ = self.exitcode

    def close(self) -> None:
        os.close(self.sentinel)


def pidfd_supported() -> bool:
    return hasattr(os, "pidfd_open") and hasattr(os, "waitstatus_to_exitcode")


def fork_step(source: StepSource, step: StepSpec, retries: bool) -> tuple[ForkedProcess, int]:
    """Fork a child that runs `step`; returns it and the read end of its event pipe."""
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # or the child would write the parent's buffer too
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock the child: the
        # child touches none of the locks those threads take (the event writer stays with the
        # parent; database pools are replaced first thing).
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: whatever happens, it never returns into the parent's code
        code = 1
        try:
            os.close(read_fd)
            forked_child(source, step, write_fd, retries)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_fd)
        raise
    return ForkedProcess(pid, pidfd), read_fd


def signal_process(process: StepProcess, signum: int) -> None:
    """Send `signum` to a step's process unless it has already exited."""
    if process.pid is not None and process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def describe_exit(exit_code: int | None) -> str:
    """`exited with code 3` or `was killed by signal SIGKILL` (multiprocessing's negative codes)."""
    if exit_code is None:
        return "did not exit"
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = str(-exit_code)
        return f"was killed by signal {name}"
    return f"exited with code {exit_code}"
