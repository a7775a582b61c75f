"""The multiprocess executor's options, checked before anything runs.

`parse_multiprocess_config` turns run config into a `MultiprocessConfig`: how many steps may run
at once (one per CPU by default), how a step's process is started (`fork`, `forkserver`,
`spawn`), the tag concurrency limits and retries. Every error names the field and the fix.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubedag.errors import InvalidConfigError
from kubedag.execution.executors import RetryMode, check_known_keys, parse_retries

START_METHODS = ("fork", "forkserver", "spawn")
DEFAULT_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
MULTIPROCESS_OPTIONS = ("max_concurrent", "start_method", "tag_concurrency_limits", "retries")


@dataclass(frozen=True)
class TagConcurrencyLimit:
    """At most `limit` running steps with tag `key` (set to `value`, when given).

    Without `value`, all values of the key share one limit; with `per_unique_value`, each value
    has a limit of its own (the reference's `value: {applyLimitPerUniqueValue: true}`)."""

    key: str
    limit: int
    value: str | None = None
    per_unique_value: bool = False

    def bucket(self, tags: Mapping[str, str]) -> str | None:
        """Which count of this limit a step with `tags` adds to, or None when it is not limited."""
        if self.key not in tags:
            return None
        value = str(tags[self.key])
        if self.value is not None:
            return value if value == self.value else None
        return value if self.per_unique_value else ""


@dataclass(frozen=True)
class MultiprocessConfig:
    """The multiprocess executor's options, checked."""

    max_concurrent: int
    start_method: str = DEFAULT_START_METHOD
    preload_modules: tuple[str, ...] | None = None
    tag_concurrency_limits: tuple[TagConcurrencyLimit, ...] = ()
    retries: RetryMode = RetryMode.ENABLED


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_multiprocess_config(config: Mapping[str, Any], field: str) -> MultiprocessConfig:
    """Check the multiprocess executor's config; every error names the field and the fix."""
    check_known_keys(config, MULTIPROCESS_OPTIONS, field)
    start_method, preload = _parse_start_method(config.get("start_method"), f"{field}.start_method")
    return MultiprocessConfig(
        max_concurrent=_parse_max_concurrent(
            config.get("max_concurrent"), f"{field}.max_concurrent"
        ),
        start_method=start_method,
        preload_modules=preload,
        tag_concurrency_limits=_parse_tag_limits(
            config.get("tag_concurrency_limits"), f"{field}.tag_concurrency_limits"
        ),
        retries=parse_retries(config.get("retries"), f"{field}.retries"),
    )


def _parse_max_concurrent(value: Any, field: str) -> int:
    if value is None or value == 0:
        return available_cpus()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidConfigError(
            f"{field}: expected a whole number of processes >= 1 (0 or null: one per CPU, "
            f"{available_cpus()} here); got {value!r}."
        )
    return value


def _parse_start_method(value: Any, field: str) -> tuple[str, tuple[str, ...] | None]:
    """`fork`, `forkserver` or `spawn`, as a string or the reference's selector form
    (`{forkserver: {preload_modules: [...]}}`)."""
    if value is None:
        return DEFAULT_START_METHOD, None
    options: Any = {}
    if isinstance(value, Mapping) and len(value) == 1:
        value, options = next(iter(value.items()))
        options = options or {}
    if not isinstance(value, str) or value not in START_METHODS:
        raise InvalidConfigError(
            f"{field}: expected one of {', '.join(START_METHODS)}; got {value!r}."
        )
    import multiprocessing

    available = multiprocessing.get_all_start_methods()
    if value not in available:
        raise InvalidConfigError(
            f"{field}: '{value}' is not available on {sys.platform}; use one of "
            f"{', '.join(m for m in START_METHODS if m in available)}."
        )
    if not isinstance(options, Mapping):
        raise InvalidConfigError(f"{field}.{value}: expected a mapping of options.")
    allowed = ("preload_modules",) if value == "forkserver" else ()
    for key in options:
        if key not in allowed:
            raise InvalidConfigError(
                f"{field}.{value}.{key}: unknown option"
                + ("; forkserver takes preload_modules." if value == "forkserver" else ".")
            )
    preload = options.get("preload_modules")
    if preload is not None and (
        not isinstance(preload, list | tuple) or not all(isinstance(m, str) for m in preload)
    ):
        raise InvalidConfigError(
            f"{field}.forkserver.preload_modules: expected a list of module names."
        )
    return value, tuple(preload) if preload is not None else None


def _parse_tag_limits(value: Any, field: str) -> tuple[TagConcurrencyLimit, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidConfigError(
            f"{field}: expected a list of {{key, value (optional), limit}}; got "
            f"{type(value).__name__}."
        )
    limits = []
    for index, entry in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidConfigError(f"{where}: expected {{key: …, limit: …}}; got {entry!r}.")
        check_known_keys(entry, ("key", "value", "limit"), where)
        key = entry.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidConfigError(f"{where}.key: required, the tag key to limit.")
        limit = entry.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidConfigError(
                f"{where}.limit: expected a whole number >= 1 (steps with this tag that may run "
                f"at once); got {limit!r}."
            )
        tag_value = entry.get("value")
        per_unique = False
        if isinstance(tag_value, Mapping):
            check_known_keys(tag_value, ("applyLimitPerUniqueValue",), f"{where}.value")
            per_unique = bool(tag_value.get("applyLimitPerUniqueValue", False))
            tag_value = None
        elif tag_value is not None and not isinstance(tag_value, str):
            raise InvalidConfigError(
                f"{where}.value: expected a string or {{applyLimitPerUniqueValue: true}}; got "
                f"{tag_value!r}."
            )
        limits.append(TagConcurrencyLimit(key, limit, tag_value, per_unique))
    return tuple(limits)
