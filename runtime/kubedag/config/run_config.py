"""Run config: the per-run values for ops, resources, loggers and the executor.

A run config is a dict shaped like the reference's schema:
`{"ops": {name: {"config": …, "inputs": …}}, "resources": {key: {"config": …}},
"loggers": {"console": {"config": {"log_level": …}}}, "execution": {"config": …}}`
or a `RunConfig` object. `resolve_run_config` checks it against a job and turns it into the
values each step needs; every mistake is reported with its dotted path before anything runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedag.config.config_errors import ConfigCheck, ConfigError, config_error
from kubedag.config.input_values import input_config_value
from kubedag.config.schema import resolved_field
from kubedag.config.suggestions import did_you_mean
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
    """Check `run_config` (merged over the job's default config, or mapped by the job's
    `ConfigMapping`) against `job`. Every problem is collected, then all are raised together in
    one `InvalidConfigError`, each with its dotted path."""
    check = ConfigCheck()
    given = to_config_dict(run_config)
    raw = _job_run_config(job, given, check)
    # What a run stores (and checks again in each of its processes): the config as given when
    # the job maps its config, since the mapping is applied to it each time.
    stored = given if raw is not given and _maps_config(job) else raw
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            check.errors.append(
                ConfigError(
                    key,
                    f"run_config.{key}: not a run config section; expected one of "
                    f"{', '.join(TOP_LEVEL_KEYS)}.{did_you_mean(key, TOP_LEVEL_KEYS)}",
                    "FIELD_NOT_DEFINED",
                )
            )
    check_run_config_size(raw)
    op_config, input_values = _resolve_ops(job, _section(raw, "ops", check), check)
    console_log_level, logger_configs = _resolve_loggers(
        job, _section(raw, "loggers", check), check
    )
    resolved = ResolvedRunConfig(
        op_config=op_config,
        input_values=input_values,
        resource_config=_resolve_resources(job, _section(raw, "resources", check), check),
        console_log_level=console_log_level,
        execution=_resolve_execution(_section(raw, "execution", check), check),
        raw=stored,
        logger_configs=logger_configs,
    )
    if check.errors:
        raise config_error(check.errors, f"Invalid run config for job '{job.name}'", raw)
    return resolved


def _maps_config(job: Any) -> bool:
    mapping_module = sys.modules.get("kubedag.config.mapping")  # not loaded: no job has one
    return mapping_module is not None and isinstance(job.config, mapping_module.ConfigMapping)


def _job_run_config(job: Any, given: dict[str, Any], check: ConfigCheck) -> dict[str, Any]:
    """The run config to check: `given` over the job's default config, or, for a job whose
    config is a `ConfigMapping`, what its function makes of `given`."""
    if not _maps_config(job):
        return merge_config(to_config_dict(job.config), given)
    check_run_config_size(given)
    mapped = job.config.resolve(given, "", check, f"job '{job.name}'")
    if check.errors:
        raise config_error(
            check.errors, f"Invalid run config for the config mapping of job '{job.name}'", given
        )
    if not isinstance(mapped, Mapping):
        raise InvalidConfigError(
            f"The config mapping function of job '{job.name}' must return a run config dict; "
            f"got {type(mapped).__name__}."
        )
    return to_config_dict(mapped)


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


def _section(raw: Mapping[str, Any], name: str, check: ConfigCheck) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, Mapping):
        check.errors.append(
            ConfigError(name, f"run_config.{name}: must be a mapping; got {type(value).__name__}.")
        )
        return {}
    return dict(value)


_OP_ENTRY_KEYS = ("config", "inputs", "ops", "outputs")


def _field(path: tuple[str, ...]) -> str:
    return "ops." + ".ops.".join(path)


def _add(check: ConfigCheck, path: str, message: str, reason: str = "FIELD_NOT_DEFINED") -> None:
    """A problem whose message starts with its own path."""
    check.errors.append(ConfigError(path, message, reason))


def _mapped_graphs(job: Any) -> dict[tuple[str, ...], Any]:
    """Node path -> graph, for every graph node of the job (graphs may map their config)."""
    found: dict[tuple[str, ...], Any] = {}

    def walk(graph: Any, prefix: tuple[str, ...]) -> None:
        for node in getattr(graph, "nodes", ()):
            definition = node.definition
            if hasattr(definition, "nodes"):
                path = (*prefix, node.name)
                found[path] = definition
                walk(definition, path)

    walk(getattr(job, "graph", None), ())
    for step in job.steps:  # graph-backed assets: their graph is the first part of the path
        node = getattr(getattr(step, "assets_def", None), "node", None)
        root: tuple[str, ...] = (str(getattr(node, "name", "")),)
        if hasattr(node, "nodes") and step.node_path[:1] == root and root not in found:
            found[root] = node
            walk(node, root)
    return found


def _resolve_ops(
    job: Any, ops: Mapping[str, Any], check: ConfigCheck
) -> tuple[dict[tuple[str, ...], Any], dict[tuple[tuple[str, ...], str], Any]]:
    steps_by_path = {step.node_path: step for step in job.steps}
    children: dict[tuple[str, ...], set[str]] = {}
    for path in steps_by_path:
        for depth in range(len(path)):
            children.setdefault(path[:depth], set()).add(path[depth])
    graphs = _mapped_graphs(job) if any(len(path) > 1 for path in steps_by_path) else {}
    failed: set[tuple[str, ...]] = set()
    if _has_mapping(getattr(job, "graph", None)):  # the job's own graph maps its config
        for key in ops:
            if key != "config":
                _add(check, f"ops.{key}", f"ops.{key}: the ops of job '{job.name}' are "
                     "configured through its graph's config mapping; give ops.config instead.")  # fmt: skip
        ops = _graph_ops(job.graph, (), {"config": ops.get("config")}, check, failed)

    given: dict[tuple[str, ...], Mapping[str, Any]] = {}

    def walk(prefix: tuple[str, ...], entries: Mapping[str, Any]) -> None:
        here = children.get(prefix, set())
        for name, entry in entries.items():
            path = (*prefix, name)
            if name not in here:
                known = ", ".join(sorted(here)) or "none"
                _add(
                    check,
                    _field(path),
                    f"{_field(path)}: job '{job.name}' has no op or graph named '{name}' here."
                    f"{did_you_mean(name, sorted(here))} Known: {known}.",
                )
                continue
            if entry is None and path in graphs:
                entry = {}
            if not isinstance(entry, Mapping):
                _add(
                    check,
                    _field(path),
                    f"{_field(path)}: expected a mapping with 'config' (and/or 'inputs'); "
                    f"got {type(entry).__name__}.",
                    "RUNTIME_TYPE_MISMATCH",
                )
                continue
            for key in entry:
                if key not in _OP_ENTRY_KEYS:
                    _add(
                        check,
                        f"{_field(path)}.{key}",
                        f"{_field(path)}.{key}: unknown key; expected config, inputs or ops."
                        + did_you_mean(key, _OP_ENTRY_KEYS),
                    )
            if path in graphs:
                walk(path, _graph_ops(graphs[path], path, entry, check, failed))
            elif "ops" in entry:
                walk(path, entry["ops"])
            given[path] = entry
        for name in sorted(here):  # mapped graphs left out of run config map their defaults
            path = (*prefix, name)
            if path in graphs and path not in given and name not in entries:
                given[path] = {}
                walk(path, _graph_ops(graphs[path], path, {}, check, failed))

    walk((), ops)

    op_config: dict[tuple[str, ...], Any] = {}
    input_values: dict[tuple[tuple[str, ...], str], Any] = {}
    for path, step in steps_by_path.items():
        if failed and any(path[: len(prefix)] == prefix for prefix in failed):
            continue
        entry = given.get(path, {})
        op_config[path] = resolve_op_config(
            step.op, entry.get("config"), _field(path) + ".config", check
        )
        for name, value in (entry.get("inputs") or {}).items():
            inputs = list(step.op.composition_input_names)
            if name not in inputs:
                _add(
                    check,
                    f"{_field(path)}.inputs.{name}",
                    f"{_field(path)}.inputs.{name}: op '{step.op.name}' has no input '{name}'."
                    f"{did_you_mean(name, inputs)} Its inputs: {', '.join(inputs) or 'none'}.",
                )
                continue
            input_field = f"{_field(path)}.inputs.{name}"
            try:
                input_values[(path, name)] = input_config_value(step.op, name, value, input_field)
            except InvalidConfigError as exc:
                _collect(check, exc, input_field)
    return op_config, input_values


def _has_mapping(graph: Any) -> bool:
    return graph is not None and callable(getattr(graph.config, "resolve", None))


def _graph_ops(
    graph: Any,
    path: tuple[str, ...],
    entry: Mapping[str, Any],
    check: ConfigCheck,
    failed: set[tuple[str, ...]],
) -> Mapping[str, Any]:
    """The config of a graph node's ops: its `ops` entry, or what the graph's config mapping
    makes of its `config` entry. A graph whose mapping cannot run goes into `failed`: its ops'
    config is not checked, as it does not exist."""
    mapping = graph.config
    where = _field(path) + ".config" if path else "ops.config"
    if not _has_mapping(graph):
        if entry.get("config") not in (None, {}):
            _add(
                check,
                where,
                f"{where}: graph '{graph.name}' takes no config (it has no config mapping); "
                f"configure its ops under {_field(path)}.ops.",
            )
        return entry.get("ops") or {}
    before = len(check.errors)
    mapped = mapping.resolve(entry.get("config"), where, check, f"graph '{graph.name}'")
    if len(check.errors) > before:
        failed.add(path)
        return {}
    if not isinstance(mapped, Mapping):
        _add(
            check,
            where,
            f"{where}: the config mapping of graph '{graph.name}' must return a dict of its "
            f"ops' config; got {type(mapped).__name__}.",
            "RUNTIME_TYPE_MISMATCH",
        )
        failed.add(path)
        return {}
    return merge_config(mapped, entry.get("ops") or {})


def resolve_op_config(op: Any, value: Any, field: str, check: ConfigCheck | None = None) -> Any:
    """The config object (or value) an op receives, validated against its declaration. With
    `check`, problems are added to it; without, they are raised."""
    if check is not None:
        return _op_config(op, value, field, check)
    own = ConfigCheck()
    result = _op_config(op, value, field, own)
    if own.errors:
        raise config_error(own.errors, f"Invalid config for op '{op.name}'", value)
    return result


def _op_config(op: Any, value: Any, field: str, check: ConfigCheck) -> Any:
    if op.config_class is not None:
        if isinstance(value, op.config_class):
            return value
        if value is None:
            value = {}
        if hasattr(value, "model_dump") and not isinstance(value, op.config_class):
            check.add(field, f"expected {op.config_class.__name__}, got {type(value).__name__}.")
            return value
        if not isinstance(value, Mapping):
            check.add(
                field,
                f"expected a mapping of {op.config_class.__name__} fields; "
                f"got {type(value).__name__}.",
            )
            return value
        from kubedag.config.config import check_model

        return check_model(op.config_class, dict(value), field, check)
    if op.config_schema is not None:
        return resolved_field(op.config_schema).process_root(value, field, check)
    if value not in (None, {}):
        check.add(
            field,
            f"op '{op.name}' takes no config. Remove this entry, or declare a "
            "`config: MyConfig` parameter on the function.",
            "FIELD_NOT_DEFINED",
        )
    return None


def check_config_schema(schema: Any, value: Any, field: str) -> Any:
    """Check `value` against a plain `config_schema`, raising every problem; the value comes
    back with defaults filled in."""
    from kubedag.config.schema import check_value

    return check_value(schema, value, field)


def _schema_of(definition: Any) -> Any:
    """The legacy `config_schema` of a function-style resource (`@resource`), or None."""
    if not callable(getattr(definition, "resource_fn", None)):
        return None
    return getattr(definition, "config_schema", None)


def _needed_resources(job: Any) -> set[str]:
    needed = set(job.resource_requirements()) | {"io_manager"}
    pending = list(needed)
    while pending:
        definition = job.resource_defs.get(pending.pop())
        for dep in getattr(definition, "required_resource_keys", ()) or ():
            if dep not in needed:
                needed.add(dep)
                pending.append(dep)
    return needed


def _resolve_resources(
    job: Any, resources: Mapping[str, Any], check: ConfigCheck
) -> dict[str, Any]:
    resolved = {}
    for key, entry in resources.items():
        if key not in job.resource_defs and key != "io_manager":
            known = ", ".join(sorted(job.resource_defs)) or "none"
            _add(
                check,
                f"resources.{key}",
                f"resources.{key}: no resource '{key}' is bound in job '{job.name}'."
                f"{did_you_mean(key, job.resource_defs)} Bound resources: {known}.",
            )
            continue
        if not isinstance(entry, Mapping) or set(entry) - {"config"}:
            _add(check, f"resources.{key}", f"resources.{key}: expected {{'config': {{…}}}}.")
            continue
        resolved[key] = entry.get("config")
    schemas = {key: _schema_of(d) for key, d in job.resource_defs.items()}
    schemas = {key: schema for key, schema in schemas.items() if schema is not None}
    if schemas:
        needed = _needed_resources(job) if set(schemas) - set(resolved) else set()
        for key, schema in schemas.items():
            if key in resolved or key in needed:
                resolved[key] = resolved_field(schema).process_root(
                    resolved.get(key), f"resources.{key}.config", check
                )
    return resolved


EXECUTOR_SELECTOR_NAMES = ("multiprocess", "in_process")


def _resolve_execution(execution: Mapping[str, Any], check: ConfigCheck) -> dict[str, Any]:
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
            _add(
                check,
                "execution.config",
                "execution.config: expected a mapping of executor options; got "
                f"{type(config).__name__}.",
                "RUNTIME_TYPE_MISMATCH",
            )
            return {}
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
    _add(
        check,
        f"execution.{key}",
        f"execution.{key}: not an execution option; write the executor's config under "
        "execution.config, for example execution: {config: {multiprocess: {max_concurrent: 4}}}.",
    )
    return {}


def _resolve_loggers(
    job: Any, loggers: Mapping[str, Any], check: ConfigCheck
) -> tuple[int, dict[str, Any]]:
    """The console level and each logger's config (see `logger_config.py`), one logger at a
    time, so that a problem with one does not hide those of the others."""
    from kubedag.config.logger_config import resolve_loggers

    level, configs = DEFAULT_CONSOLE_LEVEL, {}
    for key, entry in loggers.items():
        try:
            one_level, one = resolve_loggers(job, {key: entry}, check_config_schema, level)
        except InvalidConfigError as exc:
            _collect(check, exc, f"loggers.{key}")
            continue
        level = one_level
        configs.update(one)
    return level, configs


def _collect(check: ConfigCheck, exc: InvalidConfigError, field: str) -> None:
    """The problems of an `InvalidConfigError` raised by a part of the checking that stops at
    its first one, added to `check`."""
    if exc.errors:
        check.errors.extend(exc.errors)
    else:
        check.errors.append(ConfigError(field, str(exc)))
