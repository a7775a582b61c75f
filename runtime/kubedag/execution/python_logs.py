"""Python `logging` records from user code, into the run's event log.

While a step runs, records of the loggers a run manages reach the step's log as if the code had
called `context.log`: the logger `get_dagster_logger()` returns (`kubedag.builtin` and its
children) and those the instance lists under `python_logs: managed_python_loggers`. Other
loggers are left alone, as in the reference (a plain `logging.getLogger(__name__)` is captured
only when the instance manages it). Records logged outside a step are not captured.

One handler serves every run of the process. It stays on the builtin logger once a run has put
it there (outside a step it writes nothing, and adding and removing it took a tenth of a small
run's time); a run adds it to the instance's managed loggers for its duration
(`managing_python_loggers`, counted, so concurrent runs share it) and each step names
itself as the current destination (`step_scope`, a context variable: a thread of another run
is not mixed in). The handler writes nothing while it is writing, so a logger that logs while
storing an entry cannot loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

BUILTIN_LOGGER_NAME = "kubedag.builtin"

# (the run's log writer, the step key) of the step running in this context, if any.
_current: ContextVar[tuple[Any, str | None] | None] = ContextVar("kubedag_step", default=None)
_lock = threading.Lock()
_users: dict[str, int] = {}  # logger name -> runs managing it now
_builtin_logger: logging.Logger | None = None  # what get_dagster_logger() returned, once asked


def get_dagster_logger(name: str | None = None) -> logging.Logger:
    """A Python logger whose records inside a step land in the run's event log (at DEBUG and
    above, unless its level is set): `kubedag.builtin`, or `kubedag.builtin.<name>`."""
    global _builtin_logger
    base = logging.getLogger(BUILTIN_LOGGER_NAME)
    if base.level == logging.NOTSET:
        base.setLevel(logging.DEBUG)
    _builtin_logger = base
    return base.getChild(name) if name else base


class _StepLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        current = _current.get()
        if current is None or getattr(record, "_kubedag_captured", False):
            return
        record._kubedag_captured = True  # a record seen by two managed loggers is written once
        writer, step_key = current
        token = _current.set(None)  # what storing the entry logs is not captured
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + self.formatter_for_exceptions.formatException(record.exc_info)
            writer.write_message(record.levelno, message, step_key)
        finally:
            _current.reset(token)

    formatter_for_exceptions = logging.Formatter()


_HANDLER = _StepLogHandler()


def _logger(name: str) -> logging.Logger:
    return logging.getLogger() if name == "root" else logging.getLogger(name)


@contextmanager
def managing_python_loggers(names: Sequence[str] = (), level: int | None = None) -> Iterator[None]:
    """For a run's duration: capture the builtin logger and `names` (instance settings)."""
    builtin = _builtin_logger or get_dagster_logger()
    if _HANDLER not in builtin.handlers:
        with _lock:
            if _HANDLER not in builtin.handlers:
                builtin.addHandler(_HANDLER)
    if level is not None:
        builtin.setLevel(level)
    managed = [n for n in names if n != BUILTIN_LOGGER_NAME]
    if not managed:
        yield
        return
    with _lock:
        for name in managed:
            if _users.get(name, 0) == 0:
                _logger(name).addHandler(_HANDLER)
            _users[name] = _users.get(name, 0) + 1
    if level is not None:
        for name in managed:
            _logger(name).setLevel(level)
    try:
        yield
    finally:
        with _lock:
            for name in managed:
                _users[name] -= 1
                if _users[name] == 0:
                    del _users[name]
                    _logger(name).removeHandler(_HANDLER)


def enter_step(writer: Any, step_key: str | None) -> tuple[Any, str | None] | None:
    """A step starts: captured records go to its log. Returns what `leave_step` restores."""
    previous = _current.get()
    _current.set((writer, step_key))
    return previous


def leave_step(previous: tuple[Any, str | None] | None) -> None:
    _current.set(previous)


def managed_python_loggers(instance: Any) -> tuple[tuple[str, ...], int | None]:
    """The loggers `instance` manages (`python_logs: managed_python_loggers`) and the level it
    sets on them (`python_log_level`), for `managing_python_loggers`."""
    names = tuple(getattr(instance, "managed_python_loggers", None) or ())
    level_name = getattr(instance, "python_log_level", None)
    if level_name is None:
        return names, None
    from kubedag.config.logger_config import level_number

    return names, level_number(level_name, "python_logs.python_log_level")
