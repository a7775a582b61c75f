"""Calling an asset or op directly, as tests do: `my_asset(context, upstream_value)`.

The argument rules are the reference's:

- A function with a context parameter needs a context: first positionally (`None` builds one),
  or by the parameter's name (`context=…`). Called with no arguments at all, or with a first
  argument that is not a context, it raises `InvalidInvocationError`. A function without one
  may still be given a context first; it supplies config and resources and is not passed on.
- Config comes from `config=` (a dict, checked against the `Config` class or legacy
  `config_schema`, or a `Config` instance), positionally at the config parameter's place, or
  from the context (`build_op_context(op_config=…)`); both at once raises.
- Resource parameters come by keyword or position, or from the context's resources; both at
  once raises. Keys in `required_resource_keys` must be in the context's resources
  (`InvalidDefinitionError` otherwise, as in the reference).
- Inputs come positionally (in the function's order, skipping context, config and resources)
  or by name; too many arguments, two values for one input or a missing input raise
  `InvalidInvocationError`; a value for a `Nothing` input too. A keyword argument that names
  no input raises for a function with `**kwargs`, and is ignored by one without (when the
  count of arguments fits), as in the reference.

For the call, the context is bound to the definition (its `asset_key`, `op_def`, config and
resources are those of this call); a context cannot be bound to two calls at once. The
function's return value comes back unchanged (typed values are checked first).
"""

from __future__ import annotations

import inspect
from typing import Any

from kubedag.definitions.assets import AssetsDefinition
from kubedag.errors import InvalidDefinitionError, InvalidInvocationError, InvocationKeyError
from kubedag.execution.context import (
    AssetExecutionContext,
    OpExecutionContext,
    StepExecutionContext,
    build_asset_context,
    build_op_context,
)
from kubedag.execution.type_checks import check_invoked_inputs, check_invoked_output

_UNSET: Any = object()


def invoke_directly(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call the op (or the op of the asset) `target` with `args` and `kwargs` by the rules above."""
    assets_def = target if isinstance(target, AssetsDefinition) else None
    op_def = target.node if assets_def is not None else target
    signature = op_def.signature
    remaining = list(args)
    given = dict(kwargs)

    context = _take_context(op_def, assets_def, remaining, given)
    made_context = context is None and signature.context_param is not None
    if made_context:
        context = build_asset_context() if _is_asset(op_def, assets_def) else build_op_context()

    # Positional arguments by the function's parameters: resources and config are taken out,
    # the rest are inputs in order (extra ones too, for the error below).
    params = [p for p in signature.parameter_names if p != signature.context_param]
    resource_args: dict[str, Any] = {}
    config_arg = given.pop("config", _UNSET)
    input_args: list[Any] = []
    for index, value in enumerate(remaining):
        param = params[index] if index < len(params) else None
        if param is not None and param in signature.resource_params:
            resource_args[param] = value
        elif param is not None and param == signature.config_param:
            config_arg = value
        else:
            input_args.append(value)
    for param in signature.resource_params:
        if param in given:
            resource_args[param] = given.pop(param)
    if signature.config_param not in (None, "config") and signature.config_param in given:
        config_arg = given.pop(signature.config_param)

    cleanup: list[Any] = []  # what ends with the call: the binding, a context built for it
    if made_context and context is not None:
        cleanup.append(lambda: context.__exit__(None, None, None))
    try:
        _check_resources(op_def, context, resource_args)
        call = _inputs(op_def, input_args, given)
        if context is not None and context._op_config is not None and config_arg is not _UNSET:
            raise InvalidInvocationError("Cannot provide config in both context and kwargs.")
        op_config = _op_config(op_def, context, config_arg)
        if signature.config_param is not None:
            call[signature.config_param] = op_config
        for param, key in signature.resource_params.items():
            call[param] = _resource(op_def, context, resource_args, param, key)
        if op_def.input_types:
            check_invoked_inputs(op_def, call)
        if context is not None:
            binding = _Binding(context, op_def, assets_def, resource_args, op_config)
            binding.bind()
            cleanup.insert(0, binding.unbind)
            if signature.context_param is not None:
                call[signature.context_param] = context
        returned = _checked(op_def, op_def.compute_fn(**call))
    except BaseException:
        _run(cleanup)
        raise
    if inspect.isgenerator(returned):
        # The context stays bound (and alive) while the caller iterates, as in the reference.
        return _until_exhausted(returned, cleanup)
    _run(cleanup)
    return returned


def _until_exhausted(generator: Any, cleanup: list[Any]) -> Any:
    try:
        yield from generator
    finally:
        _run(cleanup)


def _run(cleanup: list[Any]) -> None:
    for step in cleanup:
        step()


def _take_context(op_def: Any, assets_def: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The context the call was given (taken out of `args`/`kwargs`), or None."""
    name = op_def.signature.context_param
    if name is None:
        if args and isinstance(args[0], StepExecutionContext):
            return args.pop(0)
        return None
    missing = (
        f"Decorated function '{op_def.name}' has context argument, but no context was "
        "provided when invoking."
    )
    if not args and not kwargs:
        raise InvalidInvocationError(f"{missing} Pass one first: {_builder(op_def, assets_def)}.")
    if args:
        first = args.pop(0)
        if first is not None and not isinstance(first, StepExecutionContext):
            raise InvalidInvocationError(
                f"{missing} Its first argument is a {type(first).__name__}; pass "
                f"{_builder(op_def, assets_def)} (or None) first."
            )
        return first
    if name not in kwargs:
        raise InvalidInvocationError(
            f"Decorated function '{op_def.name}' has context argument '{name}', but no value "
            f"for '{name}' was found when invoking. Provided kwargs: {', '.join(kwargs)}."
        )
    value = kwargs.pop(name)
    if value is not None and not isinstance(value, StepExecutionContext):
        raise InvalidInvocationError(
            f"'{op_def.name}': {name}= must be a context ({_builder(op_def, assets_def)}); "
            f"got a {type(value).__name__}."
        )
    return value


def _builder(op_def: Any, assets_def: Any) -> str:
    asset = _is_asset(op_def, assets_def)
    return "dg.build_asset_context()" if asset else "dg.build_op_context()"


def _check_resources(op_def: Any, context: Any, resource_args: dict[str, Any]) -> None:
    available = set(context.resources) if context is not None else set()
    if resource_args and available:
        raise InvalidInvocationError("Cannot provide resources in both context and kwargs.")
    explicit = op_def.required_resource_keys - set(op_def.signature.resource_params.values())
    for key in sorted(explicit - available):
        raise InvalidDefinitionError(
            f"resource with key '{key}' required by op '{op_def.name}' was not provided. "
            f"Provide it in the context: dg.build_op_context(resources={{'{key}': …}})."
        )


def _inputs(op_def: Any, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The inputs' values by name, by the reference's rules for positional and named ones."""
    signature = op_def.signature
    label = f"op '{op_def.name}'"
    nothing = [i.name for i in op_def.input_defs if i.is_nothing]
    for name in nothing:
        if name in kwargs:
            raise InvalidInvocationError(
                f"Attempted to provide value for nothing input '{name}'. Nothing dependencies "
                "are ignored when directly invoking ops."
            )
    inputs = [i for i in op_def.input_defs if not i.is_nothing]
    if len(inputs) < len(args) + len(kwargs):
        suggestion = (
            "This may be because you attempted to provide a value for a nothing dependency. "
            "Nothing dependencies are ignored when directly invoking ops."
            if nothing
            else "This may be because an argument was provided for the context parameter, "
            "but no context parameter was defined for the op."
        )
        names = ", ".join(i.name for i in inputs) or "none"
        raise InvalidInvocationError(
            f"Too many input arguments were provided for {label}: it takes {len(inputs)} "
            f"({names}), and was given {len(args) + len(kwargs)}. {suggestion}"
        )
    positional = [i for i in inputs if not i.via_kwargs and i.name in signature.parameter_names]
    if len(args) > len(positional):
        raise InvalidInvocationError(
            f"{label} has {len(positional)} positional inputs, but {len(args)} positional "
            "inputs were provided."
            + (
                f" Pass {', '.join(f'{i.name}=…' for i in inputs if i.via_kwargs)} by name: "
                "the function collects them with **kwargs."
                if any(i.via_kwargs for i in inputs)
                else ""
            )
        )
    values: dict[str, Any] = {}
    for input_def, value in zip(positional, args, strict=False):
        if input_def.name in kwargs:
            raise InvalidInvocationError(
                f"{label} got multiple values for argument '{input_def.name}'."
            )
        values[input_def.name] = value
    missing = []
    for input_def in positional[len(args) :]:
        if input_def.name in kwargs:
            values[input_def.name] = kwargs[input_def.name]
        elif input_def.has_default:
            values[input_def.name] = input_def.default
        else:
            missing.append(input_def.name)
    if missing:
        quoted = ", ".join(f'"{name}"' for name in missing)
        raise InvalidInvocationError(
            f"No value provided for required input{'s' if len(missing) > 1 else ''} {quoted}."
        )
    known = {i.name for i in inputs}
    for name, value in kwargs.items():
        if name in values:
            continue
        if name not in known and signature.kwargs_param is not None:
            raise InvocationKeyError(
                f"{label} has no input '{name}'; its inputs: {', '.join(sorted(known)) or 'none'}."
            )
        if name in known:  # an input collected by **kwargs
            values[name] = value
        # Otherwise ignored, as in the reference (the count of arguments fitted).
    return values


def _op_config(op_def: Any, context: Any, config_arg: Any) -> Any:
    """The config this call runs with: what the function's config parameter gets, and what
    `context.op_config` says for a legacy `config_schema`."""
    from kubedag.config.run_config import resolve_op_config

    value = context._op_config if config_arg is _UNSET and context is not None else config_arg
    if value is _UNSET:
        value = None
    config_class = op_def.config_class
    if config_class is not None and isinstance(value, config_class):
        return value
    if config_class is None and op_def.config_schema is None:
        return value
    return resolve_op_config(op_def, value, f"config of '{op_def.name}'")


def _resource(
    op_def: Any, context: Any, resource_args: dict[str, Any], param: str, key: str
) -> Any:
    if param in resource_args:
        return resource_args[param]
    if context is not None and key in context.resources:
        return context.resources[key]
    raise InvocationKeyError(
        f"'{op_def.name}' needs resource '{key}': pass it as {param}=…, or build the context "
        f"with build_op_context(resources={{'{key}': …}})."
    )


class _Binding:
    """The context bound to one call: its definition, config and resources; put back after."""

    def __init__(
        self,
        context: Any,
        op_def: Any,
        assets_def: Any,
        resource_args: dict[str, Any],
        op_config: Any,
    ) -> None:
        self.context = context
        self.op_def = op_def
        self.assets_def = assets_def
        self.resource_args = resource_args
        self.op_config = op_config

    def bind(self) -> None:
        context = self.context
        current = getattr(context, "_invoking", None)
        if current is not None:
            raise InvalidInvocationError(
                f"This context is currently being used to execute {current}. The context "
                f"cannot be used to execute another op until {current} has finished executing."
            )
        self.saved = (context._op_def, context._assets_def, context._op_config, context._resources)
        context._invoking = self.op_def.name
        context._op_def = self.op_def
        if self.assets_def is not None:
            context._assets_def = self.assets_def
        if self.op_def.config_class is None and self.op_def.config_schema is not None:
            context._op_config = self.op_config
        if self.resource_args:
            from kubedag.resources.namespace import ResourceNamespace

            keys = self.op_def.signature.resource_params
            context._resources = ResourceNamespace(
                {keys[param]: value for param, value in self.resource_args.items()}
            )

    def unbind(self) -> None:
        context = self.context
        context._op_def, context._assets_def, context._op_config, context._resources = self.saved
        context._invoking = None


def _checked(op_def: Any, returned: Any) -> Any:
    if op_def.output_types:
        check_invoked_output(op_def, returned)
    return returned


def _is_asset(op_def: Any, assets_def: Any) -> bool:
    """Whether a context built for the call should be an asset's: for an asset, unless its
    context parameter says `OpExecutionContext`, and for an op that asks for one."""
    name = op_def.signature.context_param
    annotation = op_def.compute_fn.__annotations__.get(name) if name else None
    if annotation in (OpExecutionContext, "OpExecutionContext", "dg.OpExecutionContext"):
        return False
    return assets_def is not None or annotation in (
        AssetExecutionContext,
        "AssetExecutionContext",
        "dg.AssetExecutionContext",
    )
