"""A compute log manager that keeps nothing, for ephemeral in-memory instances.

A `materialize()` in a test or a notebook has nowhere durable to put logs and nobody to read them
later; its output simply goes where it would have gone anyway. Capturing costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kubedag.compute_logs.manager import ComputeLogManager, IoType, LogChunk, check_read_window


class NoOpComputeLogManager(ComputeLogManager):
    """Captures nothing; every read is empty and no step has logs."""

    @contextmanager
    def capture(self, run_id: str, step_key: str) -> Iterator[None]:
        yield

    def read(
        self,
        run_id: str,
        step_key: str,
        io_type: IoType = "stdout",
        offset: int = 0,
        max_bytes: int | None = None,
    ) -> LogChunk:
        check_read_window(offset, max_bytes)
        return LogChunk(data=b"", next_offset=offset)

    def list_steps(self, run_id: str) -> list[str]:
        return []

    def delete_logs(self, run_id: str) -> None:
        return None
