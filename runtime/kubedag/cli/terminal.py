"""Live progress on the terminal while a run executes in this process."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from kubedag.cli.summary import format_progress_line
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY, JobDefinition
from kubedag.instance.instance import Instance
from kubedag.records.events import STEP_TERMINAL_EVENTS, EventLogEntry


@contextlib.contextmanager
def terminal_stderr() -> Iterator[TextIO]:
    """A stream to what stderr is now, for live progress.

    While a step runs, the compute log manager points descriptors 1 and 2 (and `sys.stderr`) at
    the step's log, so printing progress to `sys.stderr` from inside a step would put the CLI's
    progress lines into the user's step logs. A duplicate of descriptor 2, taken before any step
    starts, still reaches the terminal and is not captured."""
    sys.stderr.flush()
    try:
        stream = os.fdopen(os.dup(2), "w", buffering=1)
    except OSError:  # no descriptor 2 (a detached process): progress goes nowhere
        stream = open(os.devnull, "w")  # noqa: SIM115 - closed below
    try:
        yield stream
    finally:
        stream.close()


def progress_printer(total: int, stream: TextIO) -> Callable[[EventLogEntry], None]:
    """Print each step to `stream` as it finishes, so a long run shows where it is."""
    finished = 0

    def show(entry: EventLogEntry) -> None:
        nonlocal finished
        if entry.event is not None and entry.event.event_type in STEP_TERMINAL_EVENTS:
            finished += 1
        line = format_progress_line(entry, finished, total)
        if line is not None:
            print(line, file=stream, flush=True)

    return show


def data_location(job: JobDefinition, instance: Instance) -> str:
    if DEFAULT_IO_MANAGER_KEY in job.resource_defs:
        manager = type(job.resource_defs[DEFAULT_IO_MANAGER_KEY]).__name__
        return f"wherever the definitions' own io_manager ({manager}) puts it"
    return (
        f"{instance.storage_directory()} (one file per asset, written by the default "
        "FilesystemIOManager)"
    )
