"""The `loggers:` section of run config: which of a job's loggers a run turns on, with what
config.

    loggers:
      console: {config: {log_level: DEBUG}}
      json: {config: {name: my_json_logger}}

Each key must be a logger the job offers (`job.loggers`: its `logger_defs`, or the built-in
`console` when it names none). A logger's config is checked against its `config_schema`, with the
defaults of the built-in loggers (`log_level: INFO`, `name`) filled in. The console logger's
level is also returned on its own: the console is written without the `logging` machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kubedag.config.suggestions import did_you_mean
from kubedag.errors import InvalidConfigError

LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
    "FATAL": logging.CRITICAL,
}
CheckSchema = Callable[[Any, Any, str], Any]


def level_number(value: Any, field: str) -> int:
    """A level name (any case) or number, as the number; an unknown one names the field."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).upper()
    if text not in LEVELS:
        raise InvalidConfigError(
            f"{field}: '{value}' is not a level; use one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
        )
    return LEVELS[text]


def resolve_logger_config(
    logger_def: Any, config: Any, field: str, check_schema: CheckSchema | None = None
) -> Any:
    """`config` for `logger_def`: its defaults filled in, checked against its schema."""
    defaults: Mapping[str, Any] = getattr(logger_def, "config_defaults", None) or {}
    if defaults:
        if config is not None and not isinstance(config, Mapping):
            raise InvalidConfigError(f"{field}: expected a mapping; got {type(config).__name__}.")
        given = dict(config or {})
        for key in given:
            if key not in defaults:
                expected = ", ".join(defaults)
                raise InvalidConfigError(
                    f"{field}.{key}: unknown option; expected {expected}."
                    + did_you_mean(key, list(defaults))
                )
        resolved = {**defaults, **given}
        if "log_level" in resolved:
            level_number(resolved["log_level"], f"{field}.log_level")
        return resolved
    schema = getattr(logger_def, "config_schema", None)
    if schema is None or check_schema is None:
        return config
    return check_schema(schema, config, field)


def resolve_loggers(
    job: Any, section: Mapping[str, Any], check_schema: CheckSchema, default_level: int
) -> tuple[int, dict[str, Any]]:
    """The console level and the config of every logger the run turns on, by key."""
    offered: Mapping[str, Any] = getattr(job, "loggers", None) or {"console": None}
    configs: dict[str, Any] = {}
    level = default_level
    for key, entry in section.items():
        if key not in offered:
            known = ", ".join(offered)
            raise InvalidConfigError(
                f"loggers.{key}: job '{getattr(job, 'name', '?')}' has no logger '{key}'; its "
                f"loggers are: {known}." + did_you_mean(key, list(offered))
            )
        if entry is not None and (not isinstance(entry, Mapping) or set(entry) - {"config"}):
            raise InvalidConfigError(f"loggers.{key}: expected {{'config': {{…}}}}.")
        logger_def = offered[key]
        config = (entry or {}).get("config")
        if logger_def is None:  # a job-like object without logger definitions
            configs[key] = config
            continue
        resolved = resolve_logger_config(logger_def, config, f"loggers.{key}.config", check_schema)
        configs[key] = resolved
        if getattr(logger_def, "is_console", False):
            level = level_number(resolved["log_level"], f"loggers.{key}.config.log_level")
    return level, configs
