"""Batched event writes: one transaction per step boundary, not one per log line.

A step that logs 10,000 lines must not commit 10,000 times (the reference did, at 2.6 ms a
line). Entries are buffered and written together when:
- a boundary event arrives (a step succeeds, fails, is skipped or retried; the run starts or
  ends): the caller waits for the commit, so everything a step reported is durable before its
  success is;
- a step starts, or `max_batch` entries are waiting: a background thread stores them at once,
  while the step goes on (its code does not wait for the database; a step that logs faster
  than the database stores waits once `BACKLOG_BATCHES` batches are pending);
- `flush_interval` seconds have passed since the oldest waiting entry (the same thread), so
  someone following the run sees log lines of a long step while it runs.

If the process is killed, what was lost is at most the last `flush_interval` of log lines of the
step that was running; every finished step's events are already stored.
"""

from __future__ import annotations

import threading
import time

from kubedag.records.events import EventLogEntry, EventType
from kubedag.storage.base import EventLogStorage

BOUNDARY_EVENTS = frozenset(
    {
        EventType.RUN_ENQUEUED,
        EventType.RUN_DEQUEUED,
        EventType.RUN_STARTING,
        EventType.RUN_START,
        EventType.RUN_SUCCESS,
        EventType.RUN_FAILURE,
        EventType.RUN_CANCELING,
        EventType.RUN_CANCELED,
        EventType.STEP_SUCCESS,
        EventType.STEP_FAILURE,
        EventType.STEP_SKIPPED,
        EventType.STEP_UP_FOR_RETRY,
        EventType.STEP_RESTARTED,
        EventType.RESOURCE_INIT_FAILURE,
    }
)


# Stored at once by the background thread, without the step waiting for the commit: whoever
# follows the run sees the step start within milliseconds, and a step that crashes the process
# still shows as started, but a short step does not pay a commit before its code runs.
EAGER_EVENTS = frozenset({EventType.STEP_START})


def is_eager(entry: EventLogEntry) -> bool:
    event = entry.event
    return event is not None and event.event_type in EAGER_EVENTS


def is_boundary(entry: EventLogEntry) -> bool:
    """Whether writing `entry` must also make everything before it durable."""
    event = entry.event
    return event is not None and event.event_type in BOUNDARY_EVENTS


# How many full batches may wait while the background thread stores one, before a writer blocks:
# a step that logs faster than the database stores is slowed down rather than buffering
# without bound.
BACKLOG_BATCHES = 4


class BufferedEventWriter:
    """Buffers a run's event-log entries and stores them in batches, in order."""

    def __init__(
        self,
        storage: EventLogStorage,
        *,
        max_batch: int = 1000,
        flush_interval: float = 0.5,
    ) -> None:
        self.storage = storage
        self.max_batch = max_batch
        self.flush_interval = flush_interval
        self._buffer: list[EventLogEntry] = []
        self._oldest: float | None = None
        self._lock = threading.Lock()  # guards the buffer
        self._store_lock = threading.Lock()  # keeps batches in order
        self._wake = threading.Event()
        self._eager = False  # an eager event waits: the background thread stores it now
        self._closed = False
        self._thread: threading.Thread | None = None
        self._background_error: BaseException | None = None

    def write(self, entry: EventLogEntry) -> None:
        self._raise_background_error()
        with self._lock:
            self._buffer.append(entry)
            if self._oldest is None:
                self._oldest = time.monotonic()
            waiting = len(self._buffer)
            due = is_boundary(entry) or waiting >= self.max_batch * BACKLOG_BATCHES
            eager = not due and (waiting >= self.max_batch or is_eager(entry))
            if eager and self.flush_interval <= 0:  # no background thread: store it now
                due, eager = True, False
            wake = eager and not self._eager
            self._eager = self._eager or eager
        if due:
            self.flush()
            return
        self._ensure_timer()
        if wake:
            self._wake.set()

    def flush(self) -> None:
        with self._store_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
                self._oldest = None
                self._eager = False
            if batch:
                self.storage.store_events(batch)

    def close(self) -> None:
        """Store what is left and stop the background thread."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join()
        self.flush()
        self._raise_background_error()

    def __enter__(self) -> BufferedEventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the background flush -------------------------------------------------------------------
    def _ensure_timer(self) -> None:
        if self._thread is None and not self._closed and self.flush_interval > 0:
            self._thread = threading.Thread(
                target=self._flush_periodically, name="kubedag-event-writer", daemon=True
            )
            self._thread.start()

    def _flush_periodically(self) -> None:
        while not self._closed:
            with self._lock:
                oldest = self._oldest
            wait = self.flush_interval
            if oldest is not None:
                wait = max(0.0, oldest + self.flush_interval - time.monotonic())
            self._wake.wait(wait)
            self._wake.clear()
            if self._closed:
                return
            with self._lock:
                stale = self._eager or (
                    self._oldest is not None
                    and time.monotonic() - self._oldest >= self.flush_interval
                )
            if stale:
                try:
                    self.flush()
                except BaseException as exc:  # surfaced by the next write, flush or close
                    self._background_error = exc
                    return

    def _raise_background_error(self) -> None:
        error = self._background_error
        if error is not None:
            self._background_error = None
            raise error
