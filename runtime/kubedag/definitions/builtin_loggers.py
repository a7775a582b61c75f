"""The built-in loggers: `colored_console_logger` (the default `console`) and
`json_console_logger` (one JSON object per line).

Both take `log_level` (INFO by default) and `name` in their config. A run that uses the default
console writes its lines directly (`kubedag.execution.log_manager`), at the configured level,
without building a `logging` record per line; the logger these functions return is what a run
uses when the console logger is offered under another key or combined with other loggers, and
what calling the definition in a test gives.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from kubedag.definitions.loggers import InitLoggerContext, LoggerDefinition

CONSOLE_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
CONSOLE_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
_CONSOLE_CONFIG = {"log_level": "INFO", "name": "kubedag"}
_LEVEL_COLORS = {logging.ERROR: "\x1b[31m", logging.CRITICAL: "\x1b[31m"}
_RESET = "\x1b[0m"


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record arrives (captured output sees it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class ColoredConsoleFormatter(logging.Formatter):
    """The console line, with the time green, the level blue and errors red on a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if not getattr(sys.stderr, "isatty", lambda: False)():
            return line
        color = _LEVEL_COLORS.get(record.levelno)
        return f"{color}{line}{_RESET}" if color else line


class JsonLogFormatter(logging.Formatter):
    """A record as one JSON object: its attributes, with the run's metadata (`dagster_meta`:
    run id, job, step, the event) in plain JSON types."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {}
        for key, value in record.__dict__.items():
            if key == "dagster_event":
                continue  # it is also under dagster_meta
            if key == "dagster_meta" and isinstance(value, Mapping):
                value = {**value, "dagster_event": _event_document(value.get("dagster_event"))}
            document[key] = value
        return json.dumps(document, default=_plain)


def _event_document(event: Any) -> Any:
    if event is None:
        return None
    return {
        "event_type_value": event.event_type.value,
        "job_name": event.job_name,
        "step_key": event.step_key,
        "message": event.message,
        "partition": event.partition,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def _level(context: InitLoggerContext) -> int:
    from kubedag.config.logger_config import level_number

    return level_number(context.logger_config["log_level"], "log_level")


def _colored_console(init_context: InitLoggerContext) -> logging.Logger:
    """Logs to stderr as `time - name - LEVEL - message`."""
    config = init_context.logger_config
    made = logging.Logger(config["name"], level=_level(init_context))
    handler = _StandardError()
    handler.setLevel(made.level)
    handler.setFormatter(ColoredConsoleFormatter(CONSOLE_FORMAT, CONSOLE_DATE_FORMAT))
    made.addHandler(handler)
    return made


def _json_console(init_context: InitLoggerContext) -> logging.Logger:
    """Logs to stderr, one JSON object per record."""
    config = init_context.logger_config
    made = logging.Logger(config["name"], level=_level(init_context))
    handler = _StandardError()
    handler.setFormatter(JsonLogFormatter())
    made.addHandler(handler)
    return made


def _builtin(fn: Any, description: str, *, is_console: bool) -> LoggerDefinition:
    schema = {"log_level": str, "name": str}
    definition = LoggerDefinition(fn, schema, description)
    definition.config_defaults = dict(_CONSOLE_CONFIG)
    definition.is_console = is_console
    return definition


colored_console_logger = _builtin(
    _colored_console, "The default colored console logger.", is_console=True
)
json_console_logger = _builtin(_json_console, "A JSON-formatted console logger.", is_console=False)


def default_loggers() -> Mapping[str, LoggerDefinition]:
    """The loggers of a job that names none: `console`."""
    return {"console": colored_console_logger}


def default_system_loggers(instance: Any) -> Sequence[tuple[LoggerDefinition, Mapping[str, Any]]]:
    """The loggers (and their config) a run uses when its run config turns on none: the
    console, at the instance's `python_logs.python_log_level` if it sets one, else INFO."""
    level = getattr(instance, "python_log_level", None) if instance is not None else None
    return [(colored_console_logger, {"name": "kubedag", "log_level": level or "INFO"})]
