"""A run's loggers: which the run turns on, and what each receives.

A run whose run config turns on no logger (`loggers:` absent) writes to the event log and the
console only, the console at `console_log_level`, without the `logging` machinery. A run that
turns on loggers builds each (`logger_fn(InitLoggerContext(...))`) where it runs (a step's own
process builds them again, as the reference does), and every entry of the run, message or
event, reaches each as a `logging` record whose message reads `job - run id - step - EVENT -
message` and whose `dagster_meta` attribute holds the run id, job, step and the event. The
built-in console logger stays on the direct path even then; without it the console is silent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubedag.definitions.loggers import InitLoggerContext
from kubedag.execution.log_manager import RunLogWriter
from kubedag.records.events import EventLogEntry

NO_CONSOLE = logging.CRITICAL * 100
"""A console level above every real one: the run prints nothing."""


def run_log_writer(
    job: Any,
    run_id: str,
    config: Any,
    sink: Callable[[EventLogEntry], None] | None,
    instance: Any = None,
) -> RunLogWriter:
    """The log writer of one run (or of one step's process) of `job` with resolved `config`.
    With no logger turned on, the console is at the instance's `python_logs.python_log_level`
    when it sets one (as the reference's default system loggers are)."""
    from kubedag.config.logger_config import level_number

    chosen = [(key, d) for key, d in job.loggers.items() if key in config.logger_configs]
    if not chosen:
        level = config.console_log_level
        instance_level = getattr(instance, "python_log_level", None)
        if instance_level is not None:
            level = level_number(instance_level, "python_logs.python_log_level")
        return RunLogWriter(run_id, job.name, sink, level)

    console_level = NO_CONSOLE
    loggers: list[logging.Logger] = []
    for key, logger_def in chosen:
        logger_config = config.logger_configs[key]
        if logger_def.is_console:
            level = level_number(logger_config["log_level"], f"loggers.{key}.config.log_level")
            console_level = min(console_level, level)
            continue
        context = InitLoggerContext(logger_config, logger_def, job_def=job, run_id=run_id)
        loggers.append(logger_def.logger_fn(context))
    return RunLogWriter(run_id, job.name, sink, console_level, loggers)
