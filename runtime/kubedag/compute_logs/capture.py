"""Capturing a step's raw stdout and stderr at the file-descriptor level, as a tee.

Replacing `sys.stdout` only sees Python's own writes. A step also runs `subprocess.run`,
`os.system` and C extensions that write straight to file descriptors 1 and 2, so capture happens
one level down: for each stream a pipe takes the place of the descriptor (`os.dup2`), and one
reader thread copies every chunk that comes out of the pipes both to the log file and to what the
descriptor pointed at before (a saved `os.dup`). The step's output therefore still reaches the
terminal or the pod's log (`kubectl logs`) while it is being recorded. Child processes inherit the
pipe as their descriptor 1 and 2, so their output is recorded too.

When the capture ends, the saved descriptors are put back and the reader drains the pipes to
end-of-file. End-of-file only comes once every process holding the pipe has closed it: a
background process the step started and left running would block the step for as long as it
lives, so the wait is bounded (`drain_timeout`) and the reader then stops. Whatever such a process
writes afterwards is lost (it gets `EPIPE`/`SIGPIPE`).

If `sys.stdout` does not write to descriptor 1 (pytest's capture, a notebook, a
`contextlib.redirect_stdout`), it is pointed at descriptor 1 for the duration of the capture, so
that `print` is recorded as well; the previous object is put back afterwards.

Descriptors are process-wide: captures nest (the inner one tees into the outer pipe), but two
threads must not capture at the same time in one process.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import select
import sys
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import TextIO

logger = logging.getLogger("kubedag.compute_logs")

STDOUT_FD = 1
STDERR_FD = 2
DRAIN_TIMEOUT_SECONDS = 1.0
_CHUNK_SIZE = 64 * 1024
# After the drain timeout, at most this many reads per stream are taken from what is already
# buffered, so a chatty leftover process cannot keep the reader alive.
_FINAL_DRAIN_ROUNDS = 64


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class LazyFile:
    """A log file created when the first byte arrives: a step that writes nothing leaves no
    file, and a capture costs no file creation (on a busy disk that was a fifth of an empty
    step's overhead). `fileno()` opens it (in the reader thread); `close()` closes it if open."""

    def __init__(self, path: str | os.PathLike[str], flags: int, mode: int = 0o666) -> None:
        self.path, self.flags, self.mode = path, flags, mode
        self._fd = -1

    @property
    def opened(self) -> bool:
        return self._fd >= 0

    def fileno(self) -> int:
        if self._fd < 0:
            self._fd = os.open(self.path, self.flags, self.mode)
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


Sink = int | LazyFile


def _sink_fd(sink: Sink) -> int:
    return sink if isinstance(sink, int) else sink.fileno()


def _flush(stream: TextIO | None) -> None:
    if stream is None:
        return
    with contextlib.suppress(ValueError, OSError):
        stream.flush()


def _writes_to_fd(stream: TextIO | None, fd: int) -> bool:
    if stream is None:
        return False
    try:
        return stream.fileno() == fd
    except (ValueError, OSError, io.UnsupportedOperation):
        return False


@dataclass
class _Stream:
    """One captured descriptor: the pipe that replaces it and where its output goes."""

    fd: int
    sink: Sink
    saved_fd: int
    read_fd: int
    sink_error: OSError | None = None
    tee_error: OSError | None = None

    def deliver(self, data: bytes) -> None:
        if self.sink_error is None:
            try:
                write_all(_sink_fd(self.sink), data)
            except OSError as exc:
                if exc.filename is None and isinstance(self.sink, LazyFile):
                    exc.filename = os.fspath(self.sink.path)  # the warning names the file
                self.sink_error = exc
        if self.tee_error is None:
            try:
                write_all(self.saved_fd, data)
            except OSError as exc:
                self.tee_error = exc


@dataclass
class _PythonStreamSwap:
    """`sys.stdout`/`sys.stderr` pointed at a descriptor for the duration of a capture."""

    name: str
    previous: TextIO
    replacement: TextIO = field(repr=False)


class FdCapture:
    """Tee descriptors 1 and 2 into `stdout_sink` and `stderr_sink`: open, writable descriptors,
    or `LazyFile`s, created on the first byte.

    Use as a context manager. The sinks are not closed. After exit, `abandoned` says whether the
    drain timeout was reached (a process still held the pipes), and `sink_errors` lists failures
    to write a log file (the step's output still went to the original descriptors).
    """

    def __init__(
        self,
        stdout_sink: Sink,
        stderr_sink: Sink,
        *,
        drain_timeout: float = DRAIN_TIMEOUT_SECONDS,
        label: str = "step",
    ) -> None:
        self._label = label
        self._sinks = {STDOUT_FD: stdout_sink, STDERR_FD: stderr_sink}
        self._drain_timeout = drain_timeout
        self._streams: list[_Stream] = []
        self._swaps: list[_PythonStreamSwap] = []
        self._wake_read = -1
        self._wake_write = -1
        self._thread: threading.Thread | None = None
        self.abandoned = False

    @property
    def sink_errors(self) -> list[OSError]:
        return [s.sink_error for s in self._streams if s.sink_error is not None]

    # -- entering -----------------------------------------------------------------------------
    def __enter__(self) -> FdCapture:
        _flush(sys.stdout)
        _flush(sys.stderr)
        try:
            for fd, sink in self._sinks.items():
                self._redirect(fd, sink)
            self._wake_read, self._wake_write = os.pipe()
            self._thread = threading.Thread(
                target=self._pump, name="kubedag-compute-log-tee", daemon=True
            )
            self._thread.start()
            self._swap_python_streams()
        except BaseException:
            self._leave()
            raise
        return self

    def _redirect(self, fd: int, sink: Sink) -> None:
        try:
            saved_fd = os.dup(fd)
        except OSError:
            # The descriptor is closed: there is nothing to capture or tee for this stream.
            return
        try:
            read_fd, write_fd = os.pipe()
        except BaseException:
            os.close(saved_fd)
            raise
        # Registered before dup2 so that a failure below still restores and closes everything.
        self._streams.append(_Stream(fd=fd, sink=sink, saved_fd=saved_fd, read_fd=read_fd))
        try:
            os.dup2(write_fd, fd)
        finally:
            # Descriptor `fd` is now the only write end in this process: once it is restored,
            # end-of-file depends only on child processes.
            os.close(write_fd)

    def _swap_python_streams(self) -> None:
        for name, fd in (("stdout", STDOUT_FD), ("stderr", STDERR_FD)):
            previous: TextIO | None = getattr(sys, name)
            if previous is None or _writes_to_fd(previous, fd):
                continue
            if not any(s.fd == fd for s in self._streams):
                continue
            replacement = open(  # noqa: SIM115 - lives exactly as long as the capture
                fd,
                "w",
                buffering=1,
                encoding=getattr(previous, "encoding", None) or "utf-8",
                errors="backslashreplace",
                closefd=False,
            )
            setattr(sys, name, replacement)
            self._swaps.append(_PythonStreamSwap(name, previous, replacement))

    # -- the reader thread --------------------------------------------------------------------
    def _pump(self) -> None:
        by_fd = {s.read_fd: s for s in self._streams}
        poller = select.poll()
        for read_fd in by_fd:
            poller.register(read_fd, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while by_fd:
            for ready_fd, _event in poller.poll():
                if ready_fd == self._wake_read:
                    self._final_drain(poller, by_fd)
                    return
                self._read_once(poller, by_fd, ready_fd)

    def _read_once(self, poller: select.poll, by_fd: dict[int, _Stream], read_fd: int) -> None:
        stream = by_fd.get(read_fd)
        if stream is None:
            return
        try:
            data = os.read(read_fd, _CHUNK_SIZE)
        except OSError:
            data = b""  # only if the pipe was closed under us (interrupted exit): end the stream
        if data:
            stream.deliver(data)
        else:
            poller.unregister(read_fd)
            del by_fd[read_fd]

    def _final_drain(self, poller: select.poll, by_fd: dict[int, _Stream]) -> None:
        poller.unregister(self._wake_read)
        for _ in range(_FINAL_DRAIN_ROUNDS):
            ready = poller.poll(0)
            if not ready or not by_fd:
                return
            for ready_fd, _event in ready:
                self._read_once(poller, by_fd, ready_fd)

    # -- leaving ------------------------------------------------------------------------------
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._leave()

    def _leave(self) -> None:
        try:
            _flush(sys.stdout)
            _flush(sys.stderr)
            self._restore_python_streams()
            self._restore_descriptors()
            self._wait_for_reader()
        finally:
            self._close_all()
        self._report_problems()

    def _restore_python_streams(self) -> None:
        for swap in reversed(self._swaps):
            _flush(swap.replacement)
            # Someone else replaced the stream meanwhile; theirs is left in place.
            if getattr(sys, swap.name) is swap.replacement:
                setattr(sys, swap.name, swap.previous)
        # The replacements are not closed: code that kept a reference may still write through
        # them, and they never own the descriptor (closefd=False).
        self._swaps.clear()

    def _restore_descriptors(self) -> None:
        for stream in self._streams:
            os.dup2(stream.saved_fd, stream.fd)

    def _wait_for_reader(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.join(self._drain_timeout)
        if thread.is_alive():
            self.abandoned = True
            os.write(self._wake_write, b"x")
            thread.join()

    def _report_problems(self) -> None:
        if self.abandoned:
            logger.warning(
                "A process started by %s still held its stdout/stderr %.1f s after it finished; "
                "stopped capturing, and what that process writes from now on is lost.",
                self._label,
                self._drain_timeout,
            )
        for error in self.sink_errors:
            logger.warning("Could not write the compute log of %s: %s", self._label, error)

    def _close_all(self) -> None:
        for stream in self._streams:
            for fd in (stream.read_fd, stream.saved_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_read = self._wake_write = -1
