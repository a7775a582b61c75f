"""The message format on a step process's pipe to its parent.

A message is a 4-byte big-endian length and the entry in the event log's own serialization
(`serialize_entry`): whatever a step can report can be stored, values of unknown types become
their repr exactly as they would in the database, and the parent needs none of the child's
classes to read it. The parent reads without blocking and drops the partial last message of a
child killed while writing it.

The child's sink also owns its SIGTERM: a stop that arrives while a message is being written
waits until it is written, then raises `StepInterrupted`.
"""

from __future__ import annotations

import os
import struct
from types import FrameType

from kubedag.errors import ExecutionInterruptedError
from kubedag.records.events import EventLogEntry

_HEADER = struct.Struct("!I")


class StepInterrupted(ExecutionInterruptedError):
    """Raised inside a child when it is told to stop (SIGTERM); a BaseException so user code's
    `except Exception` does not swallow it, and the reference's
    `DagsterExecutionInterruptedError` so user code can clean up on it."""


def split_frames(buffer: bytearray) -> list[bytes]:
    """Take the complete messages off the front of `buffer` (length-prefixed); a partial one
    stays for the next read."""
    frames = []
    offset = 0
    size = _HEADER.size
    while len(buffer) - offset >= size:
        (length,) = _HEADER.unpack_from(buffer, offset)
        if len(buffer) - offset - size < length:
            break
        start = offset + size
        frames.append(bytes(buffer[start : start + length]))
        offset = start + length
    if offset:
        del buffer[:offset]
    return frames


class FrameSink:
    """Sends a child's event-log entries to the parent; a SIGTERM that arrives while a message
    is being written waits until it is written, so the parent never sees half a message from a
    child that is still alive."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.sending = False
        self.interrupt_pending = False

    def __call__(self, entry: EventLogEntry) -> None:
        from kubedag.storage.serialization import serialize_entry

        payload = serialize_entry(entry).encode()
        frame = _HEADER.pack(len(payload)) + payload
        self.sending = True
        try:
            view = memoryview(frame)
            while view:
                view = view[os.write(self.fd, view) :]
        finally:
            self.sending = False
        if self.interrupt_pending:
            self.interrupt_pending = False
            raise StepInterrupted()

    def on_sigterm(self, _signum: int, _frame: FrameType | None) -> None:
        if self.sending:
            self.interrupt_pending = True
            return
        raise StepInterrupted()


def decode_frame(frame: bytes) -> EventLogEntry:
    from kubedag.storage.serialization import deserialize_entry

    return deserialize_entry(frame.decode())
