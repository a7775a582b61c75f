"""Run config: the per-run values for ops, resources, loggers and the executor.

A run config is a dict shaped like the reference's schema:
`{"ops": {name: {"config": …, "inputs": …}}, "resources": {key: {"config": …}},
"loggers": {"console": {"config": {"log_level": …}}}, "execution": {"config": …}}`
or a `RunConfig` object. `resolve_run_config` checks it against a job and turns it into the
values each step needs; every mistake is reported with its dotted path before anything runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedag.config.input_values import input_config_value
from kubedag.config.suggestions import did_you_mean, shown_value
from kubedag.errors import InvalidConfigError

TOP_LEVEL_KEYS = ("ops", "resources", "loggers", "execution")
LOG_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
DEFAULT_CONSOLE_LEVEL = logging.INFO


@dataclass
class RunConfig:
    """Run config as an object: `RunConfig(ops={"my_asset": MyConfig(x=1)})`."""

    ops: dict[str, Any] | None = None
    resources: dict[str, Any] | None = None
    loggers: dict[str, Any] | None = None
    execution: dict[str, Any] | None = None

    def to_config_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.ops:
            result["ops"] = {name: _op_entry(value) for name, value in self.ops.items()}
        if self.resources:
            result["resources"] = {
                name: value if _is_wrapped(value) else {"config": value}
                for name, value in self.resources.items()
            }
        if self.loggers:
            result["loggers"] = dict(self.loggers)
        if self.execution:
            result["execution"] = dict(self.execution)
        return result


def _is_wrapped(value: Any) -> bool:
    return isinstance(value, dict) and set(value) <= {"config", "inputs", "ops", "outputs"}


def _op_entry(value: Any) -> Any:
    return value if _is_wrapped(value) else {"config": value}


def to_config_dict(run_config: Any) -> dict[str, Any]:
    if run_config is None:
        return {}
    if isinstance(run_config, RunConfig):
        return run_config.to_config_dict()
    if isinstance(run_config, Mapping):
        return dict(run_config)
    raise InvalidConfigError(
        f"run_config must be a dict or a dg.RunConfig; got {type(run_config).__name__}."
    )


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two config dicts; values in `override` win."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class ResolvedRunConfig:
    """Run config checked against a job, split into what each part of the run needs."""

    op_config: dict[tuple[str, ...], Any] = field(default_factory=dict)
    input_values: dict[tuple[tuple[str, ...], str], Any] = field(default_factory=dict)
    resource_config: dict[str, Any] = field(default_factory=dict)
    console_log_level: int = DEFAULT_CONSOLE_LEVEL
    execution: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    logger_configs: dict[str, Any] = field(default_factory=dict)  # the loggers a run turns on


def resolve_run_config(job: Any, run_config: Any) -> ResolvedRunConfig:
    """Check `run_config` (merged over the job's default config) against `job`."""
    raw = merge_config(to_config_dict(job.config), to_config_dict(run_config))
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise InvalidConfigError(
                f"run_config.{key}: not a run config section; expected one of "
                f"{', '.join(TOP_LEVEL_KEYS)}.{did_you_mean(key, TOP_LEVEL_KEYS)}"
            )
    check_run_config_size(raw)
    op_config, input_values = _resolve_ops(job, _section(raw, "ops"))
    console_log_level, logger_configs = _resolve_loggers(job, _section(raw, "loggers"))
    return ResolvedRunConfig(
        op_config=op_config,
        input_values=input_values,
        resource_config=_resolve_resources(job, _section(raw, "resources")),
        console_log_level=console_log_level,
        execution=_resolve_execution(_section(raw, "execution")),
        raw=raw,
        logger_configs=logger_configs,
    )


# -- size --------------------------------------------------------------------------------------
MAX_RUN_CONFIG_BYTES = 1024 * 1024
"""The largest run config a run may carry, as compact JSON. Every copy of the run record
carries its config (each read of a run, each queue pass of the daemon, `kubedag runs show`), and
in a cluster the same config travels in a `Run` object, which etcd caps at about 1.5 MB. Data
larger than this belongs in files, object storage or assets, with only its address in config."""


def json_size(value: Any) -> int:
    """The bytes of `value` as compact UTF-8 JSON, the way a run record stores it (a `Config`
    object counts as its fields; anything JSON cannot hold counts as its text)."""
    import json

    def plain(item: Any) -> Any:
        if hasattr(item, "model_dump"):
            return item.model_dump(mode="json")
        return str(item)

    try:
        text = json.dumps(value, default=plain, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):  # keys JSON cannot hold, a circular value: in-process only
        text = repr(value)
    return len(text.encode("utf-8"))


def _largest_part(value: Any, path: str) -> tuple[str, int]:
    """The dotted path of the part that makes a config big, followed down through mappings."""
    size = json_size(value)
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if not isinstance(value, Mapping) or not value:
        return path, size
    key, child = max(value.items(), key=lambda item: json_size(item[1]))
    return _largest_part(child, f"{path}.{key}" if path else str(key))


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def check_run_config_size(raw: Mapping[str, Any], limit: int = MAX_RUN_CONFIG_BYTES) -> None:
    """Refuse a run config above `limit` bytes of JSON before any run record exists, naming
    the part that makes it big and where large data goes instead."""
    size = json_size(raw)
    if size <= limit:
        return
    part, part_size = _largest_part(raw, "")
    raise InvalidConfigError(
        f"run_config: {_megabytes(size)} ({size:,} bytes as JSON) is over the limit of "
        f"{limit:,} bytes ({limit / 1024 / 1024:g} MiB); the largest part is {part} "
        f"({_megabytes(part_size)}). Run config is stored in every run record, and a "
        "Kubernetes Run object that carries it cannot exceed about 1.5 MB, so pass large data "
        "by reference: write it to a file or object store and put its path or URL in config, "
        "read it in a resource (dg.ConfigurableResource), or produce it as an upstream asset "
        "that an I/O manager loads."
    )


def _section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, Mapping):
        raise InvalidConfigError(
            f"run_config.{name}: must be a mapping; got {type(value).__name__}."
        )
    return dict(value)


_OP_ENTRY_KEYS = ("config", "inputs", "ops", "outputs")


def _field(path: tuple[str, ...]) -> str:
    return "ops." + ".ops.".join(path)


def _resolve_ops(
    job: Any, ops: Mapping[str, Any]
) -> tuple[dict[tuple[str, ...], Any], dict[tuple[tuple[str, ...], str], Any]]:
    steps_by_path = {step.node_path: step for step in job.steps}
    children: dict[tuple[str, ...], set[str]] = {}
    for path in steps_by_path:
        for depth in range(len(path)):
            children.setdefault(path[:depth], set()).add(path[depth])

    given: dict[tuple[str, ...], Mapping[str, Any]] = {}

    def walk(prefix: tuple[str, ...], entries: Mapping[str, Any]) -> None:
        for name, entry in entries.items():
            path = (*prefix, name)
            here = children.get(prefix, set())
            if name not in here:
                known = ", ".join(sorted(here)) or "none"
                raise InvalidConfigError(
                    f"{_field(path)}: job '{job.name}' has no op or graph named '{name}' here."
                    f"{did_you_mean(name, sorted(here))} Known: {known}."
                )
            if not isinstance(entry, Mapping):
                raise InvalidConfigError(
                    f"{_field(path)}: expected a mapping with 'config' (and/or 'inputs'); "
                    f"got {type(entry).__name__}."
                )
            for key in entry:
                if key not in _OP_ENTRY_KEYS:
                    raise InvalidConfigError(
                        f"{_field(path)}.{key}: unknown key; expected config, inputs or ops."
                        + did_you_mean(key, _OP_ENTRY_KEYS)
                    )
            if "ops" in entry:
                walk(path, entry["ops"])
            given[path] = entry

    walk((), ops)

    op_config: dict[tuple[str, ...], Any] = {}
    input_values: dict[tuple[tuple[str, ...], str], Any] = {}
    for path, step in steps_by_path.items():
        entry = given.get(path, {})
        op_config[path] = resolve_op_config(step.op, entry.get("config"), _field(path) + ".config")
        for name, value in (entry.get("inputs") or {}).items():
            inputs = list(step.op.composition_input_names)
            if name not in inputs:
                raise InvalidConfigError(
                    f"{_field(path)}.inputs.{name}: op '{step.op.name}' has no input '{name}'."
                    f"{did_you_mean(name, inputs)} Its inputs: {', '.join(inputs) or 'none'}."
                )
            input_field = f"{_field(path)}.inputs.{name}"
            input_values[(path, name)] = input_config_value(step.op, name, value, input_field)
    return op_config, input_values


def resolve_op_config(op: Any, value: Any, field: str) -> Any:
    """The config object (or value) an op receives, validated against its declaration."""
    if op.config_class is not None:
        if isinstance(value, op.config_class):
            return value
        if value is None:
            value = {}
        if hasattr(value, "model_dump") and not isinstance(value, op.config_class):
            raise InvalidConfigError(
                f"{field}: expected {op.config_class.__name__}, got {type(value).__name__}."
            )
        if not isinstance(value, Mapping):
            raise InvalidConfigError(
                f"{field}: expected a mapping of {op.config_class.__name__} fields; "
                f"got {type(value).__name__}."
            )
        from kubedag.config.config import validate_model

        return validate_model(op.config_class, dict(value), field)
    if op.config_schema is not None:
        return _check_schema(op.config_schema, value, field)
    if value not in (None, {}):
        raise InvalidConfigError(
            f"{field}: op '{op.name}' takes no config. Remove this entry, or declare a "
            "`config: MyConfig` parameter on the function."
        )
    return None


def check_config_schema(schema: Any, value: Any, field: str) -> Any:
    """Check `value` against a plain `config_schema` (a type, or a dict of field → type)."""
    return _check_schema(schema, value, field)


def _check_schema(schema: Any, value: Any, field: str) -> Any:
    """Minimal check of a plain `config_schema` (a type, or a dict of field → type)."""
    if isinstance(schema, type):
        if value is None:
            raise InvalidConfigError(f"{field}: required ({schema.__name__}) but not given.")
        if not isinstance(value, schema):
            raise InvalidConfigError(
                f"{field}: expected {schema.__name__}, got {shown_value(field, value)}."
            )
        return value
    if isinstance(schema, Mapping):
        value = {} if value is None else value
        if not isinstance(value, Mapping):
            raise InvalidConfigError(f"{field}: expected a mapping; got {type(value).__name__}.")
        for key in value:
            if key not in schema:
                raise InvalidConfigError(
                    f"{field}.{key}: not in the op's config_schema ({', '.join(schema)})."
                    + did_you_mean(key, schema)
                )
        return {
            key: _check_schema(sub, value.get(key), f"{field}.{key}") for key, sub in schema.items()
        }
    return value


def _resolve_resources(job: Any, resources: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for key, entry in resources.items():
        if key not in job.resource_defs and key != "io_manager":
            known = ", ".join(sorted(job.resource_defs)) or "none"
            raise InvalidConfigError(
                f"resources.{key}: no resource '{key}' is bound in job '{job.name}'."
                f"{did_you_mean(key, job.resource_defs)} Bound resources: {known}."
            )
        if not isinstance(entry, Mapping) or set(entry) - {"config"}:
            raise InvalidConfigError(f"resources.{key}: expected {{'config': {{…}}}}.")
        resolved[key] = entry.get("config")
    return resolved


EXECUTOR_SELECTOR_NAMES = ("multiprocess", "in_process")


def _resolve_execution(execution: Mapping[str, Any]) -> dict[str, Any]:
    """`execution: {config: {…}}`, the executor's config. The older form `execution:
    {multiprocess: {config: {…}}}` (or `in_process`) is accepted and becomes
    `{config: {multiprocess: {…}}}`. What goes inside is checked by the executor
    (`kubedag.execution.executor_selection`), which knows its options."""
    if not execution:
        return {}
    if set(execution) == {"config"}:
        config = execution["config"]
        if config is None:
            return {"config": {}}
        if not isinstance(config, Mapping):
            raise InvalidConfigError(
                f"execution.config: expected a mapping of executor options; got "
                f"{type(config).__name__}."
            )
        return {"config": dict(config)}
    if len(execution) == 1:
        name, entry = next(iter(execution.items()))
        if (
            name in EXECUTOR_SELECTOR_NAMES
            and (entry is None or isinstance(entry, Mapping))
            and set(entry or {}) <= {"config"}
        ):
            return {"config": {name: dict((entry or {}).get("config") or {})}}
    key = next(k for k in execution if k != "config")
    raise InvalidConfigError(
        f"execution.{key}: not an execution option; write the executor's config under "
        "execution.config, for example execution: {config: {multiprocess: {max_concurrent: 4}}}."
    )


def _resolve_loggers(job: Any, loggers: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    from kubedag.config.logger_config import resolve_loggers

    return resolve_loggers(job, loggers, _check_schema, DEFAULT_CONSOLE_LEVEL)
