"""Compute logs as files: `<base_dir>/<run_id>/<step_key>.out` and `.err`, each created when the
step first writes to that stream (a step that prints nothing leaves no file; reading it gives
empty logs, and `kubedag logs` still lists it from the run's events).

The tee writes straight into the final files (opened for appending), so whoever reads them, a
UI on the same volume or `tail -f`, sees a step's output while it is still running, and a retry of
the step adds to the output of the attempt before it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubedag.compute_logs.capture import FdCapture, LazyFile
from kubedag.compute_logs.manager import (
    LOG_SUFFIXES,
    ComputeLogManager,
    ComputeLogStorageError,
    IoType,
    LogChunk,
    check_log_name,
    check_read_window,
    step_key_from_log_name,
)

_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND


class LocalComputeLogManager(ComputeLogManager):
    """Keeps compute logs under `base_dir`, one directory per run."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir

    def run_dir(self, run_id: str) -> Path:
        return Path(self.base_dir) / check_log_name("run_id", run_id)

    def log_path(self, run_id: str, step_key: str, io_type: IoType) -> Path:
        step_key = check_log_name("step_key", step_key)
        return self.run_dir(run_id) / f"{step_key}{LOG_SUFFIXES[io_type]}"

    @contextmanager
    def capture(self, run_id: str, step_key: str) -> Iterator[None]:
        out_path = self.log_path(run_id, step_key, "stdout")
        err_path = self.log_path(run_id, step_key, "stderr")
        run_dir = out_path.parent
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unwritable(run_dir, exc.strerror) from exc
        if not os.access(run_dir, os.W_OK):  # the files are made on the first byte: check now
            raise self._unwritable(run_dir, "Permission denied")
        out_file, err_file = LazyFile(out_path, _APPEND_FLAGS), LazyFile(err_path, _APPEND_FLAGS)
        try:
            with FdCapture(out_file, err_file, label=f"step {step_key!r} of run {run_id!r}"):
                yield
        finally:
            out_file.close()
            err_file.close()

    def _unwritable(self, run_dir: Path, reason: str | None) -> ComputeLogStorageError:
        return ComputeLogStorageError(
            f"Cannot write compute logs to {run_dir}: {reason}. Check that base_dir "
            f"{self.base_dir!r} of the local compute log manager is writable."
        )

    def read(
        self,
        run_id: str,
        step_key: str,
        io_type: IoType = "stdout",
        offset: int = 0,
        max_bytes: int | None = None,
    ) -> LogChunk:
        check_read_window(offset, max_bytes)
        path = self.log_path(run_id, step_key, io_type)
        try:
            with open(path, "rb") as log_file:
                log_file.seek(offset)
                data = log_file.read(-1 if max_bytes is None else max_bytes)
        except FileNotFoundError:
            data = b""
        return LogChunk(data=data, next_offset=offset + len(data))

    def list_steps(self, run_id: str) -> list[str]:
        try:
            names = os.listdir(self.run_dir(run_id))
        except FileNotFoundError:
            return []
        return sorted({key for name in names if (key := step_key_from_log_name(name))})

    def delete_logs(self, run_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.run_dir(run_id))
