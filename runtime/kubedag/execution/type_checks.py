"""Type checks at step boundaries, and inputs built by their type's loader from run config.

A step checks its typed inputs once they are loaded, before the op runs, and each typed output
before the I/O manager stores it (only inputs and outputs with a declared type are in
`op.input_types` / `op.output_types`, so untyped ones cost nothing). A failed check raises
`DagsterTypeCheckDidNotPass`; a check function that raises is a `DagsterTypeCheckError` with the
user's exception as its cause. Step execution turns both into the step's failure.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Iterator
from typing import Any

from kubedag.definitions.dagster_type import DagsterType
from kubedag.definitions.results import (
    AssetCheckResult,
    AssetMaterialization,
    MaterializeResult,
    Output,
)
from kubedag.definitions.steps import StepOutput, StepSpec
from kubedag.definitions.type_check import TypeCheck, TypeCheckContext
from kubedag.definitions.type_loaders import LoadFromConfig
from kubedag.errors import DagsterTypeCheckDidNotPass, DagsterTypeCheckError, KubedagError
from kubedag.records.events import (
    Event,
    EventType,
    OutputData,
    StepInputData,
    TypeCheckData,
)


class DagsterTypeLoaderContext:
    """What a type loader gets as `context` when it builds an input from run config: the
    run's resources, a logger bound to the step, the op and the run id."""

    def __init__(self, ctx: Any, step: StepSpec) -> None:
        self._ctx = ctx
        self._step = step

    @property
    def resources(self) -> Any:
        return self._ctx.namespace

    @property
    def log(self) -> Any:
        return self._ctx.writer.for_step(self._step.key)

    @property
    def op_def(self) -> Any:
        return self._step.op

    @property
    def run_id(self) -> str:
        return str(self._ctx.run.run_id)

    @property
    def step_key(self) -> str:
        return self._step.key

    @property
    def instance(self) -> Any:
        return self._ctx.instance


def _event(ctx: Any, event_type: EventType, step: StepSpec, message: str, data: Any) -> Event:
    return Event(event_type, ctx.job.name, message, step.key, data, ctx.partition_key)


class _StepTypeCheckContext(TypeCheckContext):
    """A step's type check context, whose logger is made only if a check function uses it
    (most checks never do, and a logger costs more to make than the check)."""

    def __init__(self, ctx: Any, step: StepSpec) -> None:
        super().__init__(ctx.run.run_id, None, ctx.namespace)
        self._writer = ctx.writer
        self._step_key = step.key

    @property
    def log(self) -> Any:
        if self._log is None:
            self._log = self._writer.for_step(self._step_key)
        return self._log


def type_check_context(ctx: Any, step: StepSpec) -> TypeCheckContext:
    return _StepTypeCheckContext(ctx, step)


def _check(
    context: TypeCheckContext,
    step: StepSpec,
    dagster_type: DagsterType,
    value: Any,
    kind: str,
    name: str,
) -> TypeCheck:
    try:
        return dagster_type.type_check(context, value)
    except Exception as exc:
        raise DagsterTypeCheckError(
            f'Error occurred while type-checking {kind} "{name}" of {step.label}, with Python type '
            f"{type(value)} and Dagster type {dagster_type.display_name}",
            step_key=step.key,
            user_exception=exc,
        ) from exc


def _did_not_pass(result: TypeCheck, dagster_type: DagsterType, what: str) -> KubedagError:
    return DagsterTypeCheckDidNotPass(
        f'Type check failed for {what} - expected type "{dagster_type.display_name}". '
        f"Description: {result.description}",
        result.metadata,
        dagster_type,
    )


def _data(result: TypeCheck, label: str) -> TypeCheckData:
    metadata = dict(result.metadata) if result.metadata else {}
    return TypeCheckData(result.success, label, result.description, metadata)


def check_inputs(ctx: Any, step: StepSpec, values: dict[str, Any]) -> Iterator[Event]:
    """Check the step's typed inputs, in order: a STEP_INPUT event for each that passes."""
    context = type_check_context(ctx, step)
    for name, dagster_type in step.op.input_types.items():
        if name not in values:
            continue
        result = _check(context, step, dagster_type, values[name], "input", name)
        if not result.success:
            raise _did_not_pass(result, dagster_type, f'step input "{name}"')
        yield _event(
            ctx,
            EventType.STEP_INPUT,
            step,
            f'Got input "{name}" of type "{dagster_type.display_name}". (Type check passed).',
            StepInputData(name, _data(result, name)),
        )


def check_output(
    ctx: Any, step: StepSpec, output: StepOutput, dagster_type: DagsterType, value: Any
) -> Generator[Event, None, TypeCheckData]:
    """Check one typed output before it is stored. A failure is recorded (a STEP_OUTPUT event
    with the failed check) before it fails the step; a pass is returned for the STEP_OUTPUT
    event written once the value is stored."""
    context = type_check_context(ctx, step)
    result = _check(context, step, dagster_type, value, "output", output.name)
    data = _data(result, output.name)
    if not result.success:
        yield _event(
            ctx,
            EventType.STEP_OUTPUT,
            step,
            f'Yielded output "{output.name}" of type "{dagster_type.display_name}". '
            "Warning! Type check failed.",
            OutputData(output.name, output.asset_key, data),
        )
        raise _did_not_pass(result, dagster_type, f'step output "{output.name}"')
    return data


def output_message(output: StepOutput, dagster_type: DagsterType) -> str:
    return (
        f'Yielded output "{output.name}" of type "{dagster_type.display_name}". '
        "(Type check passed)."
    )


def loaded_from_config(ctx: Any, step: StepSpec, value: Any) -> Any:
    """An input's value from run config: what a user loader builds from its checked config
    (user code: it may raise), or the value itself."""
    if isinstance(value, LoadFromConfig):
        context = DagsterTypeLoaderContext(ctx, step)
        return value.loader.construct_from_config_value(context, value.config_value)
    if isinstance(value, list):
        return [loaded_from_config(ctx, step, item) for item in value]
    return value


# -- direct invocation (`my_op(1)` in a test) ------------------------------------------------


def _invocation_check(op_def: Any, dagster_type: DagsterType, value: Any, what: str) -> None:
    result = dagster_type.type_check(TypeCheckContext.ephemeral(), value)
    if not result.success:
        raise _did_not_pass(result, dagster_type, f'op "{op_def.name}" {what}')


def check_invoked_inputs(op_def: Any, values: dict[str, Any]) -> None:
    """A directly called op's typed arguments, checked before it runs."""
    for name, dagster_type in op_def.input_types.items():
        if name in values:
            _invocation_check(op_def, dagster_type, values[name], f'input "{name}"')


def check_invoked_output(op_def: Any, returned: Any) -> None:
    """What a directly called op returned, checked against its typed outputs: a single value
    (or `Output`), or a tuple with one value per output. Generators are not checked."""
    names = [o.name for o in op_def.output_defs]
    if len(names) == 1:
        values = {names[0]: returned}
    elif isinstance(returned, tuple) and len(returned) == len(names):
        values = dict(zip(names, returned, strict=True))
    else:
        return
    for name, value in values.items():
        dagster_type = op_def.output_types.get(name)
        if isinstance(value, Output):
            value = value.value
        elif not _is_plain_value(value):
            continue
        if dagster_type is not None:
            _invocation_check(op_def, dagster_type, value, f'output "{name}"')


def _is_plain_value(value: Any) -> bool:
    return not isinstance(
        value, MaterializeResult | AssetCheckResult | AssetMaterialization
    ) and not inspect.isgenerator(value)
