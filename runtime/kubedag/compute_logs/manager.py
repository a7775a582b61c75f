"""What a compute log manager is: the raw stdout and stderr of each step, kept per run.

Structured events (a step started, an asset was materialized) go to the event log. What a step
prints, and what the programs it starts print, is not structured and can be large, so it is kept
apart: a compute log manager captures it while the step runs (`capture`) and stores it per
`(run_id, step_key)`, one object per stream. Readers page through it by byte offset (`read`), so
a UI can tail a running step by passing back `next_offset`.

Implementations: `NoOpComputeLogManager` (ephemeral instances keep nothing),
`LocalComputeLogManager` (files on a local or shared volume) and `S3ComputeLogManager`
(S3-API object storage). Capturing a step a second time for the same run and step (a retry)
appends to what is already there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

from kubedag.errors import KubedagError

IoType = Literal["stdout", "stderr"]
IO_TYPES: tuple[IoType, ...] = ("stdout", "stderr")
# File name and object key suffix of each stream.
LOG_SUFFIXES: dict[IoType, str] = {"stdout": ".out", "stderr": ".err"}


class ComputeLogStorageError(KubedagError):
    """Compute logs could not be stored or read: storage missing, unreachable or refusing us."""


@dataclass(frozen=True)
class LogChunk:
    """Bytes read from one stream of one step, and the offset to continue reading from."""

    data: bytes
    next_offset: int  # byte offset to pass to the next read


class ComputeLogManager(ABC):
    """Captures a step's stdout/stderr at the file-descriptor level and stores it per
    (run_id, step_key)."""

    @abstractmethod
    def capture(self, run_id: str, step_key: str) -> AbstractContextManager[None]:
        """Record everything written to descriptors 1 and 2 inside the `with` block."""

    @abstractmethod
    def read(
        self,
        run_id: str,
        step_key: str,
        io_type: IoType = "stdout",
        offset: int = 0,
        max_bytes: int | None = None,
    ) -> LogChunk:
        """Up to `max_bytes` (all when `None`) from `offset`; a step without logs reads empty."""

    @abstractmethod
    def list_steps(self, run_id: str) -> list[str]:
        """Step keys that have logs for this run, sorted."""

    @abstractmethod
    def delete_logs(self, run_id: str) -> None:
        """Remove every log of the run; a run without logs is not an error."""

    def dispose(self) -> None:  # noqa: B027 - optional hook, most managers hold nothing
        """Release clients and threads. The default holds nothing."""

    def after_fork(self) -> None:  # noqa: B027 - optional hook, most managers hold nothing
        """In a process forked from one that used this manager: forget clients and locks that
        belong to the parent (a network client shared across a fork mixes up both processes'
        requests). The default holds nothing."""


def check_log_name(kind: str, value: str) -> str:
    """Run ids and step keys become path segments and object key segments; refuse the ones that
    would escape or split a segment."""
    if not value or value in {".", ".."} or "/" in value or "\\" in value or "\x00" in value:
        raise ValueError(
            f"{kind} {value!r} cannot name compute logs: it must be non-empty, not '.' or '..', "
            "and contain no '/', '\\' or NUL."
        )
    return value


def check_read_window(offset: int, max_bytes: int | None) -> None:
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}.")
    if max_bytes is not None and max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0 or None, got {max_bytes}.")


def step_key_from_log_name(name: str) -> str | None:
    """`my_step.out` -> `my_step`; names that are not logs -> None."""
    for suffix in LOG_SUFFIXES.values():
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None
