"""Executing one step: load inputs, call user code, store outputs, record what happened.

Everything user code does (the compute function, I/O managers, generators it returns) runs inside
`_user_code`, which turns an exception into a step failure that keeps the user's own traceback.
Retries are decided here, from the step's retry policy or a `RetryRequested` raised by user code,
so every executor retries the same way.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from kubedag.definitions.dynamic import DynamicOutput
from kubedag.definitions.expectations import ExpectationResult
from kubedag.definitions.input_managers import input_manager_key
from kubedag.definitions.observations import AssetObservation, provided_version_tags
from kubedag.definitions.policies import retry_delay
from kubedag.definitions.results import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetMaterialization,
    MaterializeResult,
    Output,
)
from kubedag.definitions.steps import (
    FromAsset,
    FromCollected,
    FromDefault,
    FromMany,
    FromRunConfig,
    FromStepOutput,
    StepOutput,
    StepSpec,
)
from kubedag.errors import (
    AssetCheckFailedError,
    DagsterTypeCheckDidNotPass,
    DagsterTypeCheckError,
    Failure,
    InvariantViolationError,
    KubedagError,
    RetryRequested,
    StepExecutionError,
    StepOutputNotFoundError,
)
from kubedag.execution.python_logs import enter_step, leave_step
from kubedag.execution.type_checks import (
    check_inputs,
    check_output,
    loaded_from_config,
    output_message,
)
from kubedag.records.events import (
    ErrorInfo,
    Event,
    EventType,
    InputData,
    OutputData,
    StepFailureData,
    StepRetryData,
)

_KUBEDAG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class StepFailed(Exception):
    """Internal: the current attempt of a step failed."""

    def __init__(
        self,
        error: ErrorInfo,
        user_exception: BaseException | None,
        *,
        retryable: bool = True,
        user_failure_data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.user_exception = user_exception
        self.retryable = retryable
        self.user_failure_data = user_failure_data


@contextmanager
def _user_code(step: StepSpec, doing: str) -> Iterator[None]:
    """Run user code; turn its exceptions into `StepFailed` with the user's traceback."""
    try:
        yield
    except StepFailed:
        raise
    except Failure as exc:
        error = ErrorInfo.from_exception(exc, skip_frames_from=(_KUBEDAG_DIR,))
        data = {"description": exc.description, "metadata": exc.metadata}
        raise StepFailed(error, exc, retryable=exc.allow_retries, user_failure_data=data) from exc
    except Exception as exc:
        user = ErrorInfo.from_exception(exc, skip_frames_from=(_KUBEDAG_DIR,))
        message = f"Error occurred while {doing} {step.label}: {user.message}"
        error = ErrorInfo(
            message=message, stack=(), cls_name=StepExecutionError.__name__, cause=user
        )
        raise StepFailed(error, exc) from exc


def _event(
    ctx: Any, event_type: EventType, step: StepSpec, message: str, data: Any = None
) -> Event:
    return Event(event_type, ctx.job.name, message, step.key, data, ctx.partition_key)


def skipped_event(ctx: Any, step: StepSpec, reason: str) -> Event:
    return _event(ctx, EventType.STEP_SKIPPED, step, f'Skipped step "{step.key}": {reason}.')


def execute_step(
    ctx: Any, step: StepSpec, *, retries: bool = True, capture_logs: bool = True
) -> Iterator[Event]:
    """Run `step` to a terminal event (success or failure), retrying as its policy allows.

    The step's stdout and stderr (its subprocesses' too) go to the instance's compute log
    manager for as long as the step runs, retries included. `capture_logs=False` is for a
    caller that already captures around more than the step (a step's own process captures its
    resources' set-up and teardown too): captures nest by teeing, so capturing twice would
    write every line to the log twice."""
    events = _execute_step(ctx, step, retries)
    if ctx.job.step_hooks and step.key in ctx.job.step_hooks:
        from kubedag.execution.hooks import with_hooks

        events = with_hooks(ctx, step, events, ctx.job.step_hooks[step.key])
    previous = enter_step(ctx.writer, step.key)  # Python log records now go to this step
    try:
        if not capture_logs:
            yield from events
            return
        with ctx.instance.compute_log_manager.capture(ctx.run.run_id, step.key):
            yield from events
    finally:
        leave_step(previous)


def _execute_step(ctx: Any, step: StepSpec, retries: bool) -> Iterator[Event]:
    attempt = 0
    while True:
        if attempt == 0:
            yield _event(
                ctx, EventType.STEP_START, step, f'Started execution of step "{step.key}".'
            )
        else:
            yield _event(
                ctx,
                EventType.STEP_RESTARTED,
                step,
                f'Started re-execution (attempt # {attempt + 1}) of step "{step.key}".',
            )
        started = time.perf_counter()
        try:
            yield from _attempt(ctx, step, attempt)
        except StepFailed as failure:
            wait = _retry_wait(step, failure, attempt) if retries else None
            if wait is not None:
                yield _event(
                    ctx,
                    EventType.STEP_UP_FOR_RETRY,
                    step,
                    f'Execution of step "{step.key}" failed and will be retried in {wait:.3g}s '
                    f"(retry {attempt + 1}).",
                    StepRetryData(attempt + 1, wait, failure.error),
                )
                if wait > 0:
                    time.sleep(wait)  # the policy's back-off: waiting is the point here
                attempt += 1
                continue
            ctx.record_step_failure(step, failure)
            yield _event(
                ctx,
                EventType.STEP_FAILURE,
                step,
                f'Execution of step "{step.key}" failed.',
                StepFailureData(failure.error, failure.user_failure_data),
            )
            return
        elapsed = (time.perf_counter() - started) * 1000
        yield _event(
            ctx,
            EventType.STEP_SUCCESS,
            step,
            f'Finished execution of step "{step.key}" in {elapsed:.3g}ms.',
        )
        return


def _retry_wait(step: StepSpec, failure: StepFailed, attempt: int) -> float | None:
    """Seconds to wait before the next attempt, or None when the step is done trying."""
    exc = failure.user_exception
    if isinstance(exc, RetryRequested):
        return exc.seconds_to_wait if attempt < exc.max_retries else None
    policy = step.retry_policy
    if policy is None or not failure.retryable or attempt >= policy.max_retries:
        return None
    return retry_delay(policy, attempt + 1)


def _attempt(ctx: Any, step: StepSpec, attempt: int) -> Iterator[Event]:
    context = ctx.context_for(step, attempt)
    signature = step.op.signature
    kwargs: dict[str, Any] = {}
    for name, source in step.inputs.items():
        kwargs[name] = yield from _load_input(ctx, step, name, source)
    if step.op.input_types:
        with _type_checks(step):
            yield from check_inputs(ctx, step, kwargs)
    if signature.context_param is not None:
        kwargs[signature.context_param] = context
    if signature.config_param is not None:
        kwargs[signature.config_param] = context.op_config
    for param, key in signature.resource_params.items():
        kwargs[param] = ctx.resources[key]

    produced: dict[str, bool] = {}
    checks: dict[Any, AssetCheckEvaluation] = {}
    with _user_code(step, "executing"):
        returned = step.op.compute_fn(**kwargs)
    if signature.is_generator:
        items: Iterable[Any] = _iterate_user_generator(step, returned)
    else:
        items = _returned_items(step, returned)
    for item in items:
        if context.pending_events:  # context.log_event(…) since the last item
            yield from _logged_events(ctx, step, context, produced, checks)
        yield from _handle_item(ctx, step, context, item, produced, checks)
    if context.pending_events:
        yield from _logged_events(ctx, step, context, produced, checks)
    if returned is None and not signature.is_generator:
        for output in step.outputs:
            if output.is_nothing and output.name not in produced:
                yield from _materialized(ctx, step, context, output, {}, produced)
    _check_all_produced(step, produced, checks)
    failed = [c for c in checks.values() if c.blocking and not c.passed]
    if failed:
        names = ", ".join(f"'{c.asset_key.to_user_string()}:{c.check_name}'" for c in failed)
        exc = AssetCheckFailedError(
            f"Blocking check {names} did not pass; downstream assets are skipped."
        )
        raise StepFailed(ErrorInfo.from_exception(exc), exc, retryable=False)


@contextmanager
def _type_checks(step: StepSpec) -> Iterator[None]:
    """A failed type check fails the step; only a check function that raised is retried."""
    try:
        yield
    except DagsterTypeCheckDidNotPass as exc:
        raise StepFailed(ErrorInfo.from_exception(exc), exc, retryable=False) from exc
    except DagsterTypeCheckError as exc:
        error = ErrorInfo.from_exception(exc, skip_frames_from=(_KUBEDAG_DIR,))
        raise StepFailed(error, exc) from exc


def _iterate_user_generator(step: StepSpec, generator: Any) -> Iterator[Any]:
    while True:
        with _user_code(step, "executing"):
            try:
                item = next(generator)
            except StopIteration:
                return
        yield item


def _returned_items(step: StepSpec, returned: Any) -> list[Any]:
    if isinstance(returned, Output | MaterializeResult | AssetCheckResult | AssetMaterialization):
        return [returned]
    value_outputs = [o for o in step.outputs if not o.is_nothing and not o.is_dynamic]
    if isinstance(returned, DynamicOutput):
        return [returned]
    if (
        isinstance(returned, list | tuple)
        and returned
        and all(isinstance(r, DynamicOutput) for r in returned)
    ):
        return list(returned)
    if returned is None:
        return [Output(None, value_outputs[0].name)] if len(value_outputs) == 1 else []
    if (
        isinstance(returned, tuple | list)
        and returned
        and all(
            isinstance(r, MaterializeResult | AssetCheckResult | AssetMaterialization)
            for r in returned
        )
    ):
        return list(returned)
    if len(step.outputs) > 1:
        if isinstance(returned, tuple) and len(returned) == len(step.outputs):
            return [
                _positional_output(r, o.name) for r, o in zip(returned, step.outputs, strict=True)
            ]
        _fail(
            step,
            f"it has outputs {', '.join(o.name for o in step.outputs)}, so return a tuple "
            f"with one value per output (or yield dg.Output(value, output_name=…)); got {type(returned).__name__}",
        )
    if step.outputs and step.outputs[0].is_nothing and not isinstance(returned, Output):
        _fail(
            step,
            f"it is declared to return nothing (-> None) but returned a {type(returned).__name__}",
        )
    return [Output(returned, step.outputs[0].name)] if step.outputs else []


def _positional_output(returned: Any, output_name: str) -> Output:
    """A tuple item as the output at its position (an `Output` left unnamed takes its name)."""
    if not isinstance(returned, Output):
        return Output(returned, output_name)
    if returned.output_name == "result" and output_name != "result":
        return Output(returned.value, output_name, returned.metadata, returned.data_version)
    return returned


def _fail(step: StepSpec, why: str, output_name: str | None = None) -> NoReturn:
    """The step's results do not fit its outputs: an invariant violation as in the reference, or,
    for a required output that is missing, `StepOutputNotFoundError`."""
    exc: KubedagError = (
        InvariantViolationError(f"{step.label}: {why}.")
        if output_name is None
        else StepOutputNotFoundError(
            f"{step.label}: {why}.", step_key=step.key, output_name=output_name
        )
    )
    raise StepFailed(ErrorInfo.from_exception(exc), exc, retryable=False)


def _handle_item(
    ctx: Any,
    step: StepSpec,
    context: Any,
    item: Any,
    produced: dict[str, bool],
    checks: dict[Any, AssetCheckEvaluation],
) -> Iterator[Event]:
    if isinstance(item, Output):
        output = step.output(item.output_name)
        if output.is_dynamic:
            _fail(
                step,
                f"output '{output.name}' is a DynamicOut, so yield dg.DynamicOutput(value, "
                f"mapping_key=…) for it; got {type(item).__name__}",
            )
        if output.name in produced:
            _fail(step, f"output '{output.name}' was returned more than once")
        metadata = dict(item.metadata)
        if not output.is_nothing:
            metadata = yield from _store_output(ctx, step, output, item.value, metadata)
        elif not output.is_required:  # recorded, so that what reads it runs
            yield _event(
                ctx,
                EventType.STEP_OUTPUT,
                step,
                f'Yielded output "{output.name}".',
                OutputData(output.name, output.asset_key),
            )
        if output.asset_key is not None:
            tags = provided_version_tags(step, ctx.run.run_id, item.data_version, None)
            yield from _materialized(ctx, step, context, output, metadata, produced, tags)
        produced[output.name] = True
    elif isinstance(item, MaterializeResult):
        output = _output_for_asset(step, item.asset_key)
        if output.name in produced:
            _fail(step, f"asset '{output.asset_key}' was materialized more than once")
        metadata = dict(item.metadata)
        if item.has_value:  # stored even for a Nothing output, as the reference does
            metadata = yield from _store_output(ctx, step, output, item.value, metadata)
        tags = provided_version_tags(step, ctx.run.run_id, item.data_version, item.tags)
        yield from _materialized(ctx, step, context, output, metadata, produced, tags)
        for check in item.check_results:
            yield _check_evaluated(ctx, step, check, checks, default_asset=output.asset_key)
    elif isinstance(item, AssetCheckResult):
        yield _check_evaluated(ctx, step, item, checks, default_asset=None)
    elif isinstance(item, AssetMaterialization):
        yield _event(
            ctx,
            EventType.ASSET_MATERIALIZATION,
            step,
            f"Materialized value {item.asset_key.to_user_string()}.",
            item,
        )
    elif isinstance(item, DynamicOutput):
        yield from _dynamic_output(ctx, step, item, produced)
    elif isinstance(item, ExpectationResult):
        verdict = "passed" if item.success else "failed"
        label = f" {item.label}" if item.label else ""
        yield _event(
            ctx, EventType.STEP_EXPECTATION_RESULT, step, f"Expectation{label} {verdict}", item
        )
    elif isinstance(item, AssetObservation):
        yield _event(
            ctx,
            EventType.ASSET_OBSERVATION,
            step,
            f"Observed {item.asset_key.to_user_string()}.",
            item,
        )
    else:
        _fail(
            step,
            f"it yielded {type(item).__name__}; yield dg.Output, dg.MaterializeResult or dg.AssetCheckResult",
        )


def _dynamic_output(
    ctx: Any, step: StepSpec, item: DynamicOutput, produced: dict[str, bool]
) -> Iterator[Event]:
    output = step.output(item.output_name)
    if not output.is_dynamic:
        _fail(
            step,
            f"it yielded a DynamicOutput for output '{output.name}', which is not declared "
            "with dg.DynamicOut()",
        )
    seen = f"{output.name}[{item.mapping_key}]"
    if seen in produced:
        _fail(
            step,
            f'it yielded a DynamicOutput with mapping_key "{item.mapping_key}" multiple times',
        )
    produced[seen] = True
    produced[output.name] = True
    yield from _store_output(
        ctx, step, output, item.value, dict(item.metadata), mapping_key=item.mapping_key
    )


def _logged_events(
    ctx: Any,
    step: StepSpec,
    context: Any,
    produced: dict[str, bool],
    checks: dict[Any, AssetCheckEvaluation],
) -> Iterator[Event]:
    """The events user code recorded with `context.log_event(…)`, in the order it did."""
    pending, context.pending_events = context.pending_events, []
    for item in pending:
        yield from _handle_item(ctx, step, context, item, produced, checks)


def _output_for_asset(step: StepSpec, key: Any) -> StepOutput:
    asset_outputs = [o for o in step.outputs if o.asset_key is not None]
    if key is None:
        if len(asset_outputs) != 1:
            _fail(
                step, "it materializes several assets, so each MaterializeResult needs asset_key=…"
            )
        return asset_outputs[0]
    for output in asset_outputs:
        if output.asset_key == key:
            return output
    _fail(step, f"it returned a result for asset '{key}', which it does not produce")


def _store_output(
    ctx: Any,
    step: StepSpec,
    output: StepOutput,
    value: Any,
    metadata: dict[str, Any],
    mapping_key: str | None = None,
) -> Generator[Event, None, dict[str, Any]]:
    dagster_type = step.op.output_types.get(output.name) if step.op.output_types else None
    message = f'Yielded output "{output.name}" of type "Any". (Type check passed).'
    data = OutputData(output.name, output.asset_key)
    if dagster_type is not None:
        with _type_checks(step):
            checked = yield from check_output(ctx, step, output, dagster_type, value)
        message = output_message(output, dagster_type)
        data = OutputData(output.name, output.asset_key, checked)
    manager = ctx.io_manager(output.io_manager_key)
    which = ""
    if mapping_key is None:
        out_context = ctx.output_context(step, output)
    else:
        out_context = ctx.output_context(step, output, mapping_key)
        which = f' mapping key "{mapping_key}"'
        message = message.replace(f'"{output.name}"', f'"{output.name}"{which}', 1)
        data = dataclasses.replace(data, mapping_key=mapping_key)
    with _user_code(step, f"storing output '{output.name}' of"):
        manager.handle_output(out_context, value)
    if ctx.output_capture:  # the step has hooks, which see its output values
        ctx.output_capture[step.key][output.name] = value
    yield _event(ctx, EventType.STEP_OUTPUT, step, message, data)
    yield _event(
        ctx,
        EventType.HANDLED_OUTPUT,
        step,
        f'Handled output "{output.name}"{which} using IO manager "{output.io_manager_key}".',
        data,
    )
    # What context.add_output_metadata recorded is merged in by _materialized.
    return {**out_context.added_metadata, **metadata}


def _materialized(
    ctx: Any,
    step: StepSpec,
    context: Any,
    output: StepOutput,
    metadata: dict[str, Any],
    produced: dict[str, bool],
    tags: dict[str, str] | None = None,
) -> Iterator[Event]:
    produced[output.name] = True
    if output.asset_key is None:
        return
    merged = {**context.output_metadata.get(output.name, {}), **metadata}
    partition = ctx.partition_key if _is_partitioned(step) else None
    materialization = AssetMaterialization(output.asset_key, merged, partition, None, tags or {})
    yield _event(
        ctx,
        EventType.ASSET_MATERIALIZATION,
        step,
        f"Materialized value {output.asset_key.to_user_string()}.",
        materialization,
    )


def _is_partitioned(step: StepSpec) -> bool:
    return step.assets_def is not None and step.assets_def.partitions_def is not None


def _check_evaluated(
    ctx: Any,
    step: StepSpec,
    result: AssetCheckResult,
    checks: dict[Any, AssetCheckEvaluation],
    default_asset: Any,
) -> Event:
    candidates = [
        spec
        for spec in step.check_specs
        if (result.check_name is None or spec.name == result.check_name)
        and (
            (
                result.asset_key is None
                and (default_asset is None or spec.asset_key == default_asset)
            )
            or spec.asset_key == result.asset_key
        )
    ]
    if len(candidates) != 1:
        declared = ", ".join(s.key.to_user_string() for s in step.check_specs) or "none"
        _fail(
            step,
            f"it returned a check result (check_name={result.check_name!r}) that matches "
            f"{len(candidates)} of its declared checks ({declared}); set check_name and asset_key",
        )
    spec = candidates[0]
    if spec.key in checks:
        _fail(step, f"check '{spec.key.to_user_string()}' was evaluated more than once")
    evaluation = AssetCheckEvaluation(
        spec.asset_key,
        spec.name,
        result.passed,
        dict(result.metadata),
        result.severity,
        spec.blocking,
        result.description,
    )
    checks[spec.key] = evaluation
    verdict = "passed" if result.passed else "failed"
    return _event(
        ctx,
        EventType.ASSET_CHECK_EVALUATION,
        step,
        f"Asset check '{spec.name}' on '{spec.asset_key.to_user_string()}' {verdict}.",
        evaluation,
    )


def _check_all_produced(step: StepSpec, produced: dict[str, bool], checks: dict[Any, Any]) -> None:
    for output in step.outputs:
        if output.is_required and output.name not in produced and output.asset_key is not None:
            _fail(
                step,
                f"it did not materialize asset '{output.asset_key.to_user_string()}'; "
                "yield a dg.MaterializeResult(asset_key=…) for it, or mark it skippable",
            )
        if (
            output.is_required
            and output.name not in produced
            and output.asset_key is None
            and not output.is_nothing
            and not output.is_dynamic  # a dynamic output may have no values
        ):
            _fail(step, f"it did not return its required output '{output.name}'", output.name)
    for spec in step.check_specs:
        if spec.key not in checks:
            _fail(step, f"it did not return a result for check '{spec.key.to_user_string()}'")


def _load_input(ctx: Any, step: StepSpec, name: str, source: Any) -> Generator[Event, None, Any]:
    override = input_manager_key(step.op, name) if step.op.has_input_managers else None
    if override is not None and isinstance(source, FromDefault | FromRunConfig):
        # An input that nothing feeds, loaded by its input manager with no upstream output.
        return (yield from _load_with(ctx, step, name, override, None, None))
    if isinstance(source, FromDefault):
        return source.value
    if isinstance(source, FromRunConfig):
        if name not in step.op.input_types:
            return ctx.input_value(source)
        with _user_code(step, f"loading input '{name}' from config of"):
            return loaded_from_config(ctx, step, ctx.input_value(source))
    if isinstance(source, FromCollected):  # a step's own process: the parent did not resolve it
        source = FromMany(ctx.collected_sources(source))
    if isinstance(source, FromMany):
        values: list[Any] = []
        for single in source.sources:
            values.append((yield from _load_input(ctx, step, name, single)))
        return values
    if isinstance(source, FromStepOutput):
        upstream_step = ctx.job.get_step(source.step_key)
        output = upstream_step.output(source.output_name)
        if source.mapping_key is None:
            upstream_context = ctx.output_context(upstream_step, output)
        else:
            upstream_context = ctx.output_context(upstream_step, output, source.mapping_key)
        asset_key = output.asset_key
        manager_key = output.io_manager_key
    elif isinstance(source, FromAsset):
        upstream_context = ctx.asset_output_context(source.asset_key)
        asset_key = source.asset_key
        manager_key = source.io_manager_key
    else:  # pragma: no cover - every source type is handled above
        raise TypeError(source)
    if isinstance(source, FromStepOutput) and output.is_nothing:
        return None
    return (
        yield from _load_with(ctx, step, name, override or manager_key, upstream_context, asset_key)
    )


def _load_with(
    ctx: Any, step: StepSpec, name: str, manager_key: str, upstream_context: Any, asset_key: Any
) -> Generator[Event, None, Any]:
    manager = ctx.io_manager(manager_key)
    in_context = ctx.input_context(step, name, upstream_context, asset_key)
    with _user_code(step, f"loading input '{name}' of"):
        value = manager.load_input(in_context)
    yield _event(
        ctx,
        EventType.LOADED_INPUT,
        step,
        f'Loaded input "{name}" using input manager "{manager_key}".',
        InputData(name, asset_key, manager_key),
    )
    return value
