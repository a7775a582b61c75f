"""Running a step's hooks once the step has ended.

`step_execution.execute_step` hands a step's events through `with_hooks` when the job attaches
hooks to it (`JobDefinition.step_hooks`; a job without hooks never comes here). The events pass
on unchanged; once the step has ended, each hook's `hook_fn` gets a `HookContext` and the step's
events, in name order, and each leaves one event: HOOK_COMPLETED when its function ran,
HOOK_SKIPPED when its trigger did not match (a success hook after a failure), HOOK_ERRORED
when it raised. A hook that raises is logged at ERROR and does not change the run's outcome.

This runs where the step ran (a step's own process, with the multiprocess executor), so the
hook sees the same resources and output values as the step.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from kubedag.definitions.hooks import HookDefinition, HookExecutionResult
from kubedag.definitions.steps import StepSpec
from kubedag.execution.hook_context import HookContext, HookNode
from kubedag.records.events import ErrorInfo, Event, EventType, HookErroredData
from kubedag.resources.namespace import ResourceNamespace

_KUBEDAG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def with_hooks(
    ctx: Any, step: StepSpec, events: Iterator[Event], hooks: tuple[HookDefinition, ...]
) -> Iterator[Event]:
    """`events` (one step's), then the events of running `hooks` after it."""
    captured: dict[str, Any] = {}
    ctx.output_capture[step.key] = captured
    step_events: list[Event] = []
    try:
        for event in events:
            step_events.append(event)
            yield event
    finally:
        ctx.output_capture.pop(step.key, None)
    exception = _step_exception(ctx, step, step_events)
    for hook in hooks:
        yield _run_hook(ctx, step, hook, step_events, captured, exception)


def _step_exception(ctx: Any, step: StepSpec, events: list[Event]) -> BaseException | None:
    if not any(event.is_step_failure for event in events):
        return None
    for failed_step, failure in reversed(ctx.step_failures):
        if failed_step.key == step.key:
            exc: BaseException | None = failure.user_exception
            return exc
    return None


def hook_context(
    ctx: Any,
    step: StepSpec,
    hook: HookDefinition,
    output_values: dict[str, Any],
    exception: BaseException | None,
) -> HookContext:
    resources = ResourceNamespace({key: ctx.resources[key] for key in hook.required_resource_keys})
    return HookContext(
        log=ctx.writer.for_step(step.key),
        resources=resources,
        hook_def=hook,
        op=HookNode(step.node_path[-1], step.op, dict(step.tags)),
        step_key=step.key,
        run_id=ctx.run.run_id,
        job_name=ctx.job.name,
        op_config=ctx.config.op_config.get(step.node_path),
        op_exception=exception,
        op_output_values=dict(output_values),
        op_output_metadata={},
        instance=ctx.instance,
    )


def _run_hook(
    ctx: Any,
    step: StepSpec,
    hook: HookDefinition,
    step_events: list[Event],
    output_values: dict[str, Any],
    exception: BaseException | None,
) -> Event:
    def event(event_type: EventType, message: str, data: Any = None) -> Event:
        return Event(event_type, ctx.job.name, message, step.key, data, ctx.partition_key)

    label = f'"{step.node_path[-1]}"'
    try:
        context = hook_context(ctx, step, hook, output_values, exception)
        result = hook.hook_fn(context, list(step_events))
        if not isinstance(result, HookExecutionResult):
            raise TypeError(
                f"hook '{hook.name}' returned {result!r}; a hook function returns a "
                "HookExecutionResult (@success_hook and @failure_hook do)."
            )
    except Exception as exc:
        error = ErrorInfo.from_exception(exc, skip_frames_from=(_KUBEDAG_DIR,))
        return event(
            EventType.HOOK_ERRORED,
            f'Error occurred during the execution of hook "{hook.name}" triggered for '
            f"{label}: {error.message}",
            HookErroredData(hook.name, error),
        )
    if result.is_skipped:
        return event(
            EventType.HOOK_SKIPPED,
            f'Skipped the execution of hook "{hook.name}". It did not meet its triggering '
            f"condition during the execution of {label}.",
        )
    return event(
        EventType.HOOK_COMPLETED,
        f'Finished the execution of hook "{hook.name}" triggered for {label}.',
    )
