"""`validate_run_config(job, run_config)`: check a run config against a job without running it,
and see it the way the job's steps will: defaults filled in, environment sources read, a job's
config mapping applied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedag.config.run_config import ResolvedRunConfig, resolve_run_config
from kubedag.errors import InvalidDefinitionError


def validate_run_config(
    job_def: Any, run_config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The processed run config: `{"ops": {name: {"config": …, "inputs": …}}, "resources":
    {key: {"config": …}}, "execution": {"config": …}, "loggers": …}`. A nested graph's ops sit
    under its `ops`. Raises `DagsterInvalidConfigError` (`InvalidConfigError`) listing every
    problem with its path."""
    from kubedag.execution.executor_selection import choose_executor

    if not hasattr(job_def, "steps") or not hasattr(job_def, "resource_defs"):
        raise InvalidDefinitionError(
            f"validate_run_config: expected a job (dg.JobDefinition); got {job_def!r}. An asset "
            "job from define_asset_job is resolved by Definitions: defs.get_job_def(name)."
        )
    resolved = resolve_run_config(job_def, run_config)
    choice = choose_executor(job_def, resolved.execution, in_process=False)
    return _processed(job_def, resolved, choice.config)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) and not isinstance(value, type) else value


def _processed(job: Any, resolved: ResolvedRunConfig, executor_config: Any) -> dict[str, Any]:
    ops: dict[str, Any] = {}
    inputs: dict[tuple[str, ...], dict[str, Any]] = {}
    for (path, name), value in resolved.input_values.items():
        inputs.setdefault(path, {})[name] = value
    for step in job.steps:
        level = ops
        for part in step.node_path[:-1]:
            level = level.setdefault(part, {"config": None, "ops": {}})["ops"]
        level[step.node_path[-1]] = {
            "config": _plain(resolved.op_config.get(step.node_path)),
            "inputs": inputs.get(step.node_path, {}),
        }
    resources = {
        key: {"config": _plain(resolved.resource_config.get(key))}
        for key in sorted({*job.resource_defs, *resolved.resource_config, "io_manager"})
    }
    loggers = {key: {"config": config} for key, config in resolved.logger_configs.items()}
    return {
        "ops": ops,
        "resources": resources,
        "execution": {"config": dict(executor_config or {})},
        "loggers": loggers,
    }
