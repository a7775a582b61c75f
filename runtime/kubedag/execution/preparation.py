"""Every check of a run that needs no user code, before a run record or a worker exists.

`prepare_run` checks run config, resources, environment variables, the partition, inputs and
the executor, and raises `InvalidConfigError` (or another `KubedagError`) naming the field and
the fix. The in-process run (`execution/run.py`), a run submitted to a launcher
(`runs/submission.py`), a backfill, a re-execution and a spawned step's process all start here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubedag.config.run_config import ResolvedRunConfig, resolve_run_config
from kubedag.definitions.input_managers import input_manager_key
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY, JobDefinition
from kubedag.definitions.partitions import PartitionKeyRange, UnknownPartitionError
from kubedag.definitions.steps import (
    FromRunConfig,
)
from kubedag.errors import InvalidConfigError
from kubedag.execution.executor_selection import (
    ExecutorChoice,
    check_persistent_outputs,
    choose_executor,
)
from kubedag.execution.plan import ExecutionPlan
from kubedag.execution.run_execution import (
    can_list_dynamic_partitions,
    io_manager_keys,
    run_config_input_value,
    run_partition_keys,
)
from kubedag.resources.initialization import check_env_vars
from kubedag.resources.io_manager import (
    FilesystemIOManager,
    InMemoryIOManager,
)


def _default_io_manager(kind: str) -> Any:
    return InMemoryIOManager() if kind == "memory" else FilesystemIOManager()


def _has_key(partitions_def: Any, key: str, instance: Any) -> bool:
    from kubedag.definitions.partitions import PartitionsDefinition

    if not isinstance(partitions_def, PartitionsDefinition):
        return True
    if _needs_store(partitions_def) and not can_list_dynamic_partitions(instance):
        return True  # only the instance knows dynamic keys; checked where it is at hand
    store = instance if can_list_dynamic_partitions(instance) else None
    return partitions_def.has_partition_key(key, dynamic_partitions_store=store)


def _needs_store(partitions_def: Any) -> bool:
    from kubedag.definitions.partitions import (
        DynamicPartitionsDefinition,
        MultiPartitionsDefinition,
    )

    if isinstance(partitions_def, MultiPartitionsDefinition):
        return any(_needs_store(dim.partitions_def) for dim in partitions_def.partitions_defs)
    return isinstance(partitions_def, DynamicPartitionsDefinition)


def validate_partition(
    job: JobDefinition,
    partition_key: str | None,
    partition_key_range: PartitionKeyRange | None = None,
    instance: Any = None,
) -> None:
    partitions_def = job.partitions_def
    if partition_key is not None and partition_key_range is not None:
        raise InvalidConfigError(
            f"partition_key: give partition_key={partition_key!r} or a partition range "
            f"({partition_key_range.start}...{partition_key_range.end}), not both."
        )
    if partition_key is None and partition_key_range is None:
        if partitions_def is not None:
            raise InvalidConfigError(
                f"partition_key: job '{job.name}' materializes partitioned assets; pass "
                "partition_key=… to say which partition to run."
            )
        return
    if partitions_def is None:
        given = partition_key if partition_key is not None else partition_key_range
        raise InvalidConfigError(
            f"partition_key: job '{job.name}' is not partitioned, so the partition "
            f"{given!r} cannot be used."
        )
    if partition_key is not None:
        if not _has_key(partitions_def, partition_key, instance):
            raise InvalidConfigError(
                f"partition_key: {partition_key!r} is not a partition of job '{job.name}' "
                f"({partitions_def})."
            )
        return
    assert partition_key_range is not None
    for end, key in (("start", partition_key_range.start), ("end", partition_key_range.end)):
        if not _has_key(partitions_def, key, instance):
            raise InvalidConfigError(
                f"partition range {end}: {key!r} is not a partition of job '{job.name}' "
                f"({partitions_def})."
            )
    try:
        keys = run_partition_keys(job, None, partition_key_range, instance)
    except UnknownPartitionError as exc:
        raise InvalidConfigError(f"partition range: {exc}") from None
    if not keys:
        raise InvalidConfigError(
            f"partition range {partition_key_range.start}...{partition_key_range.end} of job "
            f"'{job.name}' holds no partition; check that the start comes before the end."
        )


def _needed_resource_keys(job: JobDefinition, plan: ExecutionPlan) -> set[str]:
    """Resources the plan's steps use: their own, and the I/O managers of what they store and
    load. Resources nothing uses are not initialized."""
    keys: set[str] = set()
    for step in plan.steps:
        keys.update(step.op.required_resource_keys)
        keys.update(io_manager_keys(job, step, plan))
        for hook in job.step_hooks.get(step.key, ()):
            keys.update(hook.required_resource_keys)
    return keys


def _check_inputs_provided(
    plan: ExecutionPlan, config: ResolvedRunConfig, input_values: Mapping[str, Any]
) -> None:
    for step in plan.steps:
        for name, source in step.inputs.items():
            if isinstance(source, FromRunConfig) and input_manager_key(step.op, name) is None:
                run_config_input_value(config, input_values, source)


def storable_run_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The run config as it is recorded: Config objects become plain dicts."""

    def convert(value: Any) -> Any:
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json")
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    result = convert(raw)
    assert isinstance(result, dict)
    return result


@dataclass(frozen=True)
class PreparedRun:
    """A run that passed every check that needs no user code: what executing it takes."""

    job: JobDefinition
    config: ResolvedRunConfig
    plan: ExecutionPlan
    resource_defs: dict[str, Any]
    needed_resources: set[str]
    input_values: Mapping[str, Any]
    executor: ExecutorChoice


def prepare_run(
    job: JobDefinition,
    *,
    run_config: Any = None,
    instance: Any = None,
    partition_key: str | None = None,
    step_keys: Iterable[str] | None = None,
    input_values: Mapping[str, Any] | None = None,
    default_io_manager: str | None = None,
    use_job_executor: bool = False,
    partition_key_range: PartitionKeyRange | None = None,
) -> PreparedRun:
    """Check run config, resources, environment variables, the partition, inputs and the
    executor.

    Raises `InvalidConfigError` (and other `KubedagError`s) naming the field and the fix; runs
    no user code and writes nothing, so it can run before a run record or a worker exists.
    `use_job_executor=False` (materialize, execute_in_process) runs every step in this process
    whatever the job's executor; True is for `execute_run` and `dg.execute_job`.
    `partition_key_range` checks a run over several partitions (its range tags) instead of one."""
    config = resolve_run_config(job, run_config)
    executor = choose_executor(job, config.execution, in_process=not use_job_executor)
    plan = ExecutionPlan.build(job.steps, step_keys)
    resource_defs = dict(job.resource_defs)
    if default_io_manager is None:
        persistent = instance is not None and not instance.is_ephemeral
        default_io_manager = "filesystem" if persistent else "memory"
    resource_defs.setdefault(DEFAULT_IO_MANAGER_KEY, _default_io_manager(default_io_manager))
    job.check_resources(resource_defs)
    needed = _needed_resource_keys(job, plan)
    check_env_vars(resource_defs, needed)
    validate_partition(job, partition_key, partition_key_range, instance)
    _check_inputs_provided(plan, config, input_values or {})
    io_keys = set().union(*(io_manager_keys(job, step, None) for step in plan.steps))
    check_persistent_outputs(executor, resource_defs, io_keys)
    return PreparedRun(job, config, plan, resource_defs, needed, dict(input_values or {}), executor)


def check_run_request(
    job: JobDefinition,
    *,
    run_config: Any = None,
    partition_key: str | None = None,
    instance: Any = None,
) -> None:
    """The checks of `prepare_run` that hold wherever the run will execute: the run config
    against the job's config schema, the executor it names, the partition. Raises
    `InvalidConfigError` naming the field. Resources and environment variables are left to
    the run's worker, whose pod has the environment (a code server, which calls this before a
    run is accepted, may not)."""
    config = resolve_run_config(job, run_config)
    choose_executor(job, config.execution, in_process=False)
    validate_partition(job, partition_key, None, instance)
