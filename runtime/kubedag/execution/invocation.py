"""Calling an asset or op directly, as tests do: `my_asset(context, upstream_value)`.

Positional arguments fill the function's parameters in order (after the context); keyword
arguments fill them by name, and also the inputs declared in `ins=` that the function collects
with `**kwargs`. Whatever is left is taken from the context: config from
`build_asset_context(asset_config=…)` (validated against the `Config` class), resources from
`build_asset_context(resources=…)` — also when the function itself takes no context. The function's return value comes back unchanged.
"""

from __future__ import annotations

from typing import Any

from kubedag.errors import InvalidInvocationError
from kubedag.execution.context import (
    AssetExecutionContext,
    OpExecutionContext,
    StepExecutionContext,
    build_asset_context,
    build_op_context,
)
from kubedag.execution.type_checks import check_invoked_inputs, check_invoked_output


def invoke_directly(op_def: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    signature = op_def.signature
    params = list(signature.parameter_names)
    # Inputs that only `ins=` declares go into the function's **kwargs: by name only, and, as
    # in the reference, only those given (no default filled in, none required).
    kwargs_inputs = [i.name for i in op_def.input_defs if i.via_kwargs]
    remaining_args = list(args)
    call: dict[str, Any] = {}
    owner = f"'{op_def.name}'"

    context: StepExecutionContext | None = None
    if remaining_args and isinstance(remaining_args[0], StepExecutionContext):
        context = remaining_args.pop(0)
    elif signature.context_param and signature.context_param in kwargs:
        context = kwargs.pop(signature.context_param)
    # A context given to a function without a context parameter still supplies config and
    # resources; it is just not passed on.
    made_context = False
    if signature.context_param is not None:
        if context is None:
            context = build_asset_context() if _is_asset(op_def) else build_op_context()
            made_context = True
        context._op_def = op_def
        params.remove(signature.context_param)

    if len(remaining_args) > len(params):
        raise InvalidInvocationError(
            f"{owner} takes {len(params)} argument(s) besides the context "
            f"({', '.join(params) or 'none'}) but was given {len(remaining_args)}."
            + (
                f" Pass {', '.join(f'{n}=…' for n in kwargs_inputs)} by name: the function "
                "collects them with **kwargs."
                if kwargs_inputs
                else ""
            )
        )
    call.update(zip(params, remaining_args, strict=False))
    for name, value in kwargs.items():
        if name not in params and name not in kwargs_inputs:
            accepted = [*params, *kwargs_inputs]
            raise InvalidInvocationError(
                f"{owner} has no parameter '{name}'; it takes: {', '.join(accepted) or 'nothing'}."
            )
        if name in call:
            raise InvalidInvocationError(f"{owner} got two values for parameter '{name}'.")
        call[name] = value

    if signature.config_param is not None and signature.config_param not in call:
        call[signature.config_param] = _config_from_context(op_def, context)
    elif signature.config_param is not None and isinstance(call[signature.config_param], dict):
        call[signature.config_param] = _config_from_context(
            op_def, None, call[signature.config_param]
        )
    for param, key in signature.resource_params.items():
        if param in call:
            continue
        if context is not None and key in context.resources:
            call[param] = context.resources[key]
        else:
            raise InvalidInvocationError(
                f"{owner} needs resource '{key}': pass it as {param}=…, or build the context "
                f"with build_asset_context(resources={{'{key}': …}})."
            )
    missing = []
    for input_def in op_def.input_defs:
        if input_def.name not in call and not input_def.via_kwargs:
            if input_def.has_default:
                call[input_def.name] = input_def.default
            else:
                missing.append(input_def.name)
    if missing:
        raise InvalidInvocationError(
            f"{owner} is missing value(s) for input(s): {', '.join(missing)}. Pass upstream "
            "values as arguments."
        )
    if context is not None and signature.context_param is not None:
        call[signature.context_param] = context
    if op_def.input_types:
        check_invoked_inputs(op_def, call)

    given_config = _NO_CONFIG
    if context is not None and op_def.config_schema is not None and op_def.config_class is None:
        # A legacy `config_schema`: the op sees its config as a run would give it, checked and
        # with defaults filled in, for this call only (the context may be used again).
        given_config = context._op_config
        context._op_config = _config_from_context(op_def, context)
    try:
        returned = op_def.compute_fn(**call)
        if op_def.output_types:
            check_invoked_output(op_def, returned)
        return returned
    finally:
        if given_config is not _NO_CONFIG and context is not None:
            context._op_config = given_config
        if made_context and context is not None:
            context.__exit__(None, None, None)


_NO_CONFIG = object()


def _is_asset(op_def: Any) -> bool:
    annotation = op_def.compute_fn.__annotations__.get("context")
    return annotation not in (
        OpExecutionContext,
        "OpExecutionContext",
        "dg.OpExecutionContext",
    ) and (
        annotation in (AssetExecutionContext, "AssetExecutionContext", "dg.AssetExecutionContext")
        or annotation is None
    )


def _config_from_context(
    op_def: Any, context: StepExecutionContext | None, value: Any = None
) -> Any:
    from kubedag.config.run_config import resolve_op_config

    if value is None and context is not None:
        value = context.op_config
    return resolve_op_config(op_def, value, f"config of '{op_def.name}'")
