"""`dg.execute_job`: run a job with its own executor, here and now, and return its result.

This is the reference's Python entry point for out-of-process execution: unlike
`execute_in_process` and `materialize` (always one process), the job's executor is used, so by
default each step runs in a child process (`multiprocess_executor`). It needs a persistent
instance, or at least persistent I/O managers, since outputs cross processes. With
`reexecution_options` it re-executes an earlier run (`kubedag.execution.reexecution`).

The reference takes `reconstructable(job)` so that each step's fresh interpreter can rebuild the
job. kubedag forks each step from this process by default, which needs nothing rebuilt, so a
plain `JobDefinition` is accepted too, and `reconstructable` only wraps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubedag.definitions.job import JobDefinition
from kubedag.definitions.run_tags import tags_for_run
from kubedag.errors import InvalidInvocationError
from kubedag.execution.executor_selection import check_run_requirements
from kubedag.execution.preparation import prepare_run, storable_run_config
from kubedag.execution.reexecution import ReexecutionOptions, reexecute_run, resolve_step_selection
from kubedag.execution.result import ExecuteInProcessResult
from kubedag.execution.run import execute_run
from kubedag.records.run import Run


@dataclass(frozen=True)
class ReconstructableJob:
    """A job, and (when known) the code location a fresh interpreter would load it from
    (`{"python_file" | "module_name": …, "attribute": …}`, as `Run.code_location`)."""

    job_def: JobDefinition
    code_location: Mapping[str, Any] | None = None

    def get_definition(self) -> JobDefinition:
        return self.job_def


def reconstructable(
    target: JobDefinition | Callable[[], JobDefinition] | ReconstructableJob,
) -> ReconstructableJob:
    """Wrap a job (or a function returning one) for `execute_job`, as in the reference."""
    if isinstance(target, ReconstructableJob):
        return target
    job = target if isinstance(target, JobDefinition) else target()
    if not isinstance(job, JobDefinition):
        raise InvalidInvocationError(
            f"reconstructable: expected a job or a function returning one; got "
            f"{type(job).__name__}."
        )
    return ReconstructableJob(job)


def execute_job(
    job: JobDefinition | ReconstructableJob,
    instance: Any,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = False,
    op_selection: Sequence[str] | None = None,
    reexecution_options: ReexecutionOptions | None = None,
    asset_selection: Sequence[Any] | None = None,
) -> ExecuteInProcessResult:
    """Execute `job` with its executor on `instance`, synchronously.

    `op_selection` takes step keys or queries (`*op`, `op+`); `reexecution_options` re-executes
    an earlier run instead (not together with `op_selection`). Run config, resource and executor
    mistakes raise before a run record exists; a failing step fails the run, and raises only with
    `raise_on_error=True` (the reference's default is False)."""
    reconstructable_job = reconstructable(job)
    job_def = reconstructable_job.get_definition()
    if instance is None:
        raise InvalidInvocationError(
            "execute_job: instance is required; pass dg.Instance.get() or "
            "dg.Instance.from_config({}, home=DIR) (steps run in other processes, which "
            "need a persistent instance)."
        )
    if asset_selection is not None:
        job_def = job_def.with_asset_selection(asset_selection)
    if reexecution_options is not None:
        if op_selection:
            raise InvalidInvocationError(
                "execute_job: reexecution_options and op_selection cannot be used together; "
                "select steps with ReexecutionOptions(parent_run_id, step_selection=[…])."
            )
        run = reexecute_run(
            instance,
            reexecution_options.parent_run_id,
            job_def,
            from_failure=reexecution_options.resume_from_failure,
            step_selection=list(reexecution_options.step_selection) or None,
            run_config=run_config,
            tags=tags,
        )
        return execute_run(job_def, run, instance, raise_on_error=raise_on_error)
    step_keys = None
    if op_selection:
        order = [s.key for s in job_def.steps]
        upstream = {s.key: tuple(s.upstream_step_keys) for s in job_def.steps}
        step_keys = resolve_step_selection(list(op_selection), order, upstream)
    prepared = prepare_run(
        job_def,
        run_config=run_config,
        instance=instance,
        step_keys=step_keys,
        use_job_executor=True,
    )
    code_location = reconstructable_job.code_location
    check_run_requirements(
        prepared.executor,
        Run(job_def.name, code_location=dict(code_location) if code_location else None),
        instance,
    )
    run = instance.create_run(
        job_name=job_def.name,
        run_config=storable_run_config(prepared.config.raw),
        tags=tags_for_run(job_def.run_tags, tags),
        asset_selection=job_def.selection.asset_keys if job_def.selection is not None else None,
        step_keys_to_execute=tuple(prepared.plan.step_keys) if step_keys is not None else None,
        code_location=code_location,
    )
    return execute_run(job_def, run, instance, raise_on_error=raise_on_error)
