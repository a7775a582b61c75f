"""Logger definitions: where a run's log messages and events go, besides the event log.

A `LoggerDefinition` wraps a function that takes an `InitLoggerContext` (the logger's config,
the job, the run id) and returns a `logging.Logger`. A job names the loggers it offers
(`@job(logger_defs={...})`, `Definitions(loggers=...)`); a run turns on the ones its run config
lists under `loggers:` and each then receives every message and event of the run as a log
record. A run that lists none uses the built-in console logger
(`kubedag.definitions.builtin_loggers`).

Calling a logger definition with `build_init_logger_context(logger_config=…)` builds the
logger outside a run, which is how a logger is tested.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from kubedag.errors import InvalidInvocationError

InitLoggerFunction = Callable[["InitLoggerContext"], logging.Logger]


class InitLoggerContext:
    """What a logger function is given: its config, its definition, the job and the run id."""

    def __init__(
        self,
        logger_config: Any,
        logger_def: LoggerDefinition | None = None,
        job_def: Any = None,
        run_id: str | None = None,
    ) -> None:
        self._logger_config = logger_config
        self._logger_def = logger_def
        self._job_def = job_def
        self._run_id = run_id

    @property
    def logger_config(self) -> Any:
        return self._logger_config

    @property
    def logger_def(self) -> LoggerDefinition | None:
        return self._logger_def

    @property
    def job_def(self) -> Any:
        return self._job_def

    @property
    def run_id(self) -> str | None:
        return self._run_id


class LoggerDefinition:
    """A logger a job can offer: `logger_fn(init_context) -> logging.Logger`, with the schema
    of its config (any config is accepted when there is none)."""

    def __init__(
        self,
        logger_fn: InitLoggerFunction,
        config_schema: Any = None,
        description: str | None = None,
    ) -> None:
        if not callable(logger_fn):
            raise InvalidInvocationError(f"logger_fn must be callable; got {logger_fn!r}.")
        self._logger_fn = logger_fn
        self._config_schema = config_schema
        self._description = description
        # Values of the config keys a run may leave out (the built-in loggers' log_level, name).
        self.config_defaults: dict[str, Any] = {}
        # The built-in console logger, which a run writes without the `logging` machinery.
        self.is_console = False

    @property
    def logger_fn(self) -> InitLoggerFunction:
        return self._logger_fn

    @property
    def config_schema(self) -> Any:
        return self._config_schema

    @property
    def description(self) -> str | None:
        return self._description

    def resolve_config(self, config: Any, field: str = "logger_config") -> Any:
        """`config` checked against the schema, with the defaults filled in."""
        from kubedag.config.logger_config import resolve_logger_config
        from kubedag.config.run_config import check_config_schema

        return resolve_logger_config(self, config, field, check_config_schema)

    def __call__(self, *args: Any, **kwargs: Any) -> logging.Logger:
        """Build the logger outside a run: `my_logger(build_init_logger_context(...))`."""
        if len(args) + len(kwargs) != 1:
            raise InvalidInvocationError(
                "A logger definition is called with exactly one argument, its init context "
                f"(build_init_logger_context(...)); got {len(args) + len(kwargs)}."
            )
        context = args[0] if args else next(iter(kwargs.values()))
        if context is None:
            context = InitLoggerContext(None)
        if not isinstance(context, InitLoggerContext):
            raise InvalidInvocationError(
                f"expected an InitLoggerContext (build_init_logger_context(...)); got {context!r}."
            )
        bound = InitLoggerContext(
            self.resolve_config(context.logger_config),
            self,
            context.job_def,
            context.run_id,
        )
        return self._logger_fn(bound)

    def configured(self, config: Any, description: str | None = None) -> LoggerDefinition:
        """The same logger with `config` fixed (runs then give it no config)."""
        fn = self._logger_fn
        resolved = self.resolve_config(config)

        def with_config(context: InitLoggerContext) -> logging.Logger:
            return fn(
                InitLoggerContext(resolved, context.logger_def, context.job_def, context.run_id)
            )

        return LoggerDefinition(with_config, None, description or self._description)

    def __repr__(self) -> str:
        return f"<LoggerDefinition {getattr(self._logger_fn, '__name__', 'logger')}>"


def _is_logger_fn(value: Any) -> bool:
    """A bare `@logger` gets the function itself; a type or a schema is not one."""
    return inspect.isfunction(value) or inspect.ismethod(value)


def logger(config_schema: Any = None, description: str | None = None) -> Any:
    """Define a logger: `@logger` or `@logger(config_schema=…, description=…)` on a function of
    an `InitLoggerContext` that returns a `logging.Logger`."""
    if _is_logger_fn(config_schema):
        return LoggerDefinition(config_schema)

    def decorate(fn: InitLoggerFunction) -> LoggerDefinition:
        return LoggerDefinition(fn, config_schema, description)

    return decorate


def build_init_logger_context(logger_config: Any = None, job_def: Any = None) -> InitLoggerContext:
    """An init context for building a logger outside a run (in a test)."""
    return InitLoggerContext(logger_config, None, job_def, None)
