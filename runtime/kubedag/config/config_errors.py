"""The problems a config check finds (`ConfigError`), what collects them while a value is
checked (`ConfigCheck`), and the one exception that reports them all (`config_error`).

Apart from the schema so that pydantic-backed checking (`config.py`) and the reference's schema
types (`schema.py`) can both report into the same list without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubedag.errors import InvalidConfigError


@dataclass(frozen=True)
class ConfigError:
    """One problem in a config value: where (`ops.load.config.rows`), what, and its kind.

    `reason` is one of the reference's names: FIELD_NOT_DEFINED, MISSING_REQUIRED_FIELD,
    RUNTIME_TYPE_MISMATCH, SELECTOR_FIELD_ERROR; or ENV_VAR (an environment variable source
    that is not set or cannot be read as its type)."""

    path: str
    message: str
    reason: str = "RUNTIME_TYPE_MISMATCH"
    alone: str | None = None  # how the message reads when it is the only problem

    def __str__(self) -> str:
        return self.message


class ConfigCheck:
    """What checking collects: the problems found and whether environment sources are read
    (not while a `Field`'s default is checked at definition time)."""

    __slots__ = ("errors", "resolve_env")

    def __init__(self, resolve_env: bool = True) -> None:
        self.errors: list[ConfigError] = []
        self.resolve_env = resolve_env

    def add(self, path: str, message: str, reason: str = "RUNTIME_TYPE_MISMATCH") -> None:
        self.errors.append(ConfigError(path, f"{path}: {message}" if path else message, reason))


def config_error(errors: Sequence[ConfigError], preamble: str, config_value: Any = None) -> Any:
    """The `InvalidConfigError` that reports `errors`: one problem as its own message, several
    under `preamble`, one a line, each with its path."""
    if len(errors) == 1:
        only = errors[0]
        message = only.alone or only.message
    else:
        lines = "\n  ".join(error.message for error in errors)
        message = f"{preamble} ({len(errors)} errors):\n  {lines}"
    return InvalidConfigError(message, list(errors), config_value)
