"""Run logging: `context.log` messages and framework events, to the event log and the console.

Every message is written to the event log (so it outlives the process); the console shows those
at or above the run's console level (`loggers.console.config.log_level`, INFO by default).
Framework events are DEBUG unless they are failures, so a normal run prints only what user code
logs, plus errors.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from kubedag.records.events import Event, EventLogEntry


def _write_console(line: str) -> None:
    """Write to whatever `sys.stderr` is now, so redirected or captured output sees it.

    A plain write, not `logging`: a step that logs 10,000 lines must not pay for a LogRecord,
    a caller lookup and a handler chain per line (that was half its cost)."""
    sys.stderr.write(line + "\n")


_stamp_second = -1
_stamp_text = ""


def _stamp(timestamp: float) -> str:
    """The local time of `timestamp` to the second, formatted once per second."""
    global _stamp_second, _stamp_text
    second = int(timestamp)
    if second != _stamp_second:
        _stamp_text = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(second))
        _stamp_second = second
    return _stamp_text


def format_console_line(entry: EventLogEntry) -> str:
    """`time - kubedag - LEVEL - job - run id - step - message`, as the console shows it."""
    parts = [_stamp(entry.timestamp), "kubedag", logging.getLevelName(entry.level)]
    parts.append(entry.job_name or "-")
    parts.append(entry.run_id[:8])
    if entry.step_key:
        parts.append(entry.step_key)
    parts.append(entry.user_message)
    return " - ".join(parts)


class RunLogWriter:
    """Writes a run's log messages and events to a sink (the event log) and the console."""

    def __init__(
        self,
        run_id: str,
        job_name: str,
        sink: Callable[[EventLogEntry], None] | None,
        console_level: int = logging.INFO,
        loggers: Sequence[logging.Logger] = (),
    ) -> None:
        self.run_id = run_id
        self.job_name = job_name
        self.sink = sink
        self.console_level = console_level
        # The run's own loggers (`logger_defs` its run config turned on): each gets every entry.
        self.loggers = tuple(loggers)

    def _console(self, entry: EventLogEntry) -> None:
        if entry.level >= self.console_level:
            _write_console(format_console_line(entry))

    def write_message(self, level: int, message: str, step_key: str | None) -> None:
        entry = EventLogEntry(self.run_id, time.time(), level, message, self.job_name, step_key)
        if self.sink is not None:
            self.sink(entry)
        self._console(entry)
        if self.loggers:
            self._to_loggers(entry)

    def write_event(self, event: Event) -> EventLogEntry:
        entry = EventLogEntry.for_event(self.run_id, event)
        if self.sink is not None:
            self.sink(entry)
        if entry.level >= self.console_level:
            self._console(entry)
        if self.loggers:
            self._to_loggers(entry)
        return entry

    def _to_loggers(self, entry: EventLogEntry) -> None:
        send_to_loggers(self.loggers, entry)

    def for_step(self, step_key: str | None) -> DagsterLogManager:
        return DagsterLogManager(self, step_key)


def record_metadata(entry: EventLogEntry) -> dict[str, Any]:
    """What a record of `entry` carries as `dagster_meta`."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(entry.timestamp, datetime.UTC)
    return {
        "run_id": entry.run_id,
        "job_name": entry.job_name,
        "step_key": entry.step_key,
        "orig_message": entry.user_message,
        "dagster_event": entry.event,
        "log_timestamp": stamp.replace(tzinfo=None).isoformat(),
    }


def record_message(entry: EventLogEntry) -> str:
    """`job - run id - step - EVENT_TYPE - message`, and the error of a failure event."""
    event = entry.event
    parts = [
        entry.job_name or "system",
        entry.run_id,
        entry.step_key,
        event.event_type.value if event is not None else None,
        entry.user_message,
    ]
    text = " - ".join(part for part in parts if part)
    error = getattr(event.event_specific_data, "error", None) if event is not None else None
    if error is not None:
        text += "\n\n" + error.to_string()
    return text


def send_to_loggers(loggers: Sequence[logging.Logger], entry: EventLogEntry) -> None:
    """Hand `entry` to each of a run's own loggers, as a record (see `execution.run_loggers`)."""
    message = record_message(entry)
    extra = {"dagster_meta": record_metadata(entry)}
    for one in loggers:
        one.log(entry.level, message, extra=extra)


class DagsterLogManager(logging.Logger):
    """`context.log`: the standard logging methods, bound to one step of one run.

    A `logging.Logger` (what code that takes a logger expects), whose methods write straight to
    the run's log writer instead of building a `LogRecord` per call."""

    def __init__(self, writer: RunLogWriter, step_key: str | None) -> None:
        # `logging.Logger.__init__`'s state, set here directly: one manager is made per step,
        # and the base initializer (a Filterer, a level check) was most of a step context's
        # cost. Nothing is registered with the logging module: it is never `getLogger`'s.
        self.name = "kubedag"
        self.level = logging.NOTSET
        self.parent = None
        self.propagate = True
        self.handlers = []
        self.disabled = False
        self.filters = []
        self._cache: dict[int, bool] = {}
        self._writer = writer
        self._step_key = step_key

    def log(self, level: int | str, msg: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
            if not isinstance(level, int):
                raise ValueError(f"Unknown log level {level!r}.")
        text = str(msg) % args if args else str(msg)
        exc_info = kwargs.get("exc_info")
        if exc_info:
            text += "\n" + _exception_text(exc_info)
        self._writer.write_message(level, text, self._step_key)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    warn = warning

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    fatal = critical

    def exception(self, msg: Any, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, exc_info=exc_info, **kwargs)


def _exception_text(exc_info: Any) -> str:
    """The traceback `exc_info=` asks for: True (the exception being handled), an exception,
    or a `sys.exc_info()` tuple."""
    import traceback

    if isinstance(exc_info, BaseException):
        return "".join(traceback.format_exception(exc_info)).rstrip()
    if isinstance(exc_info, tuple):
        return "".join(traceback.format_exception(*exc_info)).rstrip()
    return traceback.format_exc().rstrip()


StepLog = DagsterLogManager
"""kubedag's earlier name for `context.log`'s class."""
