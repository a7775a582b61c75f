"""The batched event writer: which writes wait for the database, which are stored in the
background, and that order and errors survive both."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from kubedag.records.events import Event, EventLogEntry, EventType
from kubedag.storage.event_writer import BACKLOG_BATCHES, BufferedEventWriter
from kubedag.storage.memory import InMemoryEventLogStorage

DEADLINE_S = 10.0
RUN_ID = "run-1"


class GatedStorage(InMemoryEventLogStorage):
    """Stores only while the gate is open, and records each batch it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[list[str]] = []
        self.failure: BaseException | None = None
        self.storing = threading.Event()  # a batch has been handed over

    def store_events(self, entries: Sequence[EventLogEntry]) -> list[int]:
        self.storing.set()
        assert self.gate.wait(DEADLINE_S), "the test never opened the gate"
        if self.failure is not None:
            raise self.failure
        self.batches.append([e.user_message for e in entries])
        return super().store_events(entries)

    def stored(self) -> list[str]:
        return [r.event_log_entry.user_message for r in self.get_records_for_run(RUN_ID)]


def _line(message: str) -> EventLogEntry:
    return EventLogEntry(RUN_ID, time.time(), 20, message, "job", "step")


def _event(kind: EventType, message: str) -> EventLogEntry:
    return EventLogEntry.for_event(RUN_ID, Event(kind, "job", message, step_key="step"))


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)  # polling the background writer with a deadline


def _in_thread(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_step_end_is_stored_before_write_returns_with_everything_before_it() -> None:
    storage = GatedStorage()
    with BufferedEventWriter(storage, flush_interval=60) as writer:
        writer.write(_line("a"))
        writer.write(_line("b"))
        assert storage.stored() == []
        writer.write(_event(EventType.STEP_SUCCESS, "done"))
        assert storage.stored() == ["a", "b", "done"]
        assert storage.batches == [["a", "b", "done"]]


def test_a_step_start_is_stored_in_the_background_without_the_step_waiting() -> None:
    storage = GatedStorage()
    storage.gate.clear()  # the database is slow: nothing commits until the gate opens
    with BufferedEventWriter(storage, flush_interval=60) as writer:
        writer.write(_event(EventType.STEP_START, "start"))  # returns although nothing stored
        writer.write(_line("working"))
        assert storage.stored() == []
        storage.gate.set()
        _wait_for(lambda: "start" in storage.stored(), "the step start to be stored")
    assert storage.stored() == ["start", "working"]


def test_without_a_background_thread_a_step_start_is_stored_at_once() -> None:
    storage = GatedStorage()
    with BufferedEventWriter(storage, flush_interval=0) as writer:
        writer.write(_event(EventType.STEP_START, "start"))
        assert storage.stored() == ["start"]


def test_full_batches_are_stored_in_the_background_and_a_backlog_blocks_the_writer() -> None:
    storage = GatedStorage()
    storage.gate.clear()
    max_batch = 10
    writer = BufferedEventWriter(storage, max_batch=max_batch, flush_interval=60)
    # A full batch is handed to the background thread; the writer does not wait for it.
    for i in range(max_batch):
        writer.write(_line(f"line {i}"))
    assert storage.storing.wait(DEADLINE_S)
    assert storage.stored() == []
    # While it is being stored, up to the backlog limit more entries wait without blocking.
    limit = max_batch * BACKLOG_BATCHES
    for i in range(max_batch, max_batch + limit - 1):
        writer.write(_line(f"line {i}"))
    # The write that reaches the limit waits until the database takes the backlog.
    last = max_batch + limit - 1
    blocked = _in_thread(lambda: writer.write(_line(f"line {last}")))
    blocked.join(0.2)
    assert blocked.is_alive(), "a writer over the backlog limit must wait for the database"
    storage.gate.set()
    blocked.join(DEADLINE_S)
    assert not blocked.is_alive()
    writer.close()
    assert storage.stored() == [f"line {i}" for i in range(last + 1)]
    assert storage.batches[0] == [f"line {i}" for i in range(max_batch)]


def test_lines_of_a_long_step_are_stored_after_the_flush_interval() -> None:
    storage = GatedStorage()
    with BufferedEventWriter(storage, flush_interval=0.05) as writer:
        writer.write(_line("still running"))
        _wait_for(lambda: storage.stored() == ["still running"], "the periodic flush")


def test_a_background_failure_is_raised_by_the_next_write() -> None:
    storage = GatedStorage()
    storage.failure = RuntimeError("database gone")
    writer = BufferedEventWriter(storage, flush_interval=60)
    writer.write(_event(EventType.STEP_START, "start"))
    _wait_for(lambda: writer._background_error is not None, "the background store to fail")
    with pytest.raises(RuntimeError, match="database gone"):
        writer.write(_line("next"))
