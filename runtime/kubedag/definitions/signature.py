"""Reading a user function's signature: which parameter is the context, which the config, which
are resources and which are data inputs.

Users declare all of this by naming and annotating parameters, as in the reference:
`def orders(context: AssetExecutionContext, config: MyConfig, db: MyDb, raw: pd.DataFrame)`.
The decision is made once, when the definition is created, so execution never inspects a
signature again.

A `**kwargs` parameter collects the inputs declared in `ins=` that no named parameter takes
(`@asset(ins={"a": AssetIn("x"), "b": AssetIn("y")}) def sink(**leaves)`): execution passes
every input by name, so they land in it without further work. `*args` is refused: inputs have
names, and a position says nothing about which input a value is.

Config and resource classes live in modules that import pydantic, which is slow to import. A
parameter can only be annotated with such a class if its module is already imported, so the
checks below look in `sys.modules` instead of importing it.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.io_specs import NO_DEFAULT
from kubedag.errors import InvalidDefinitionError

CONTEXT_PARAM_NAMES = frozenset({"context", "_context", "_"})


class _ResourceParamMarker:
    def __repr__(self) -> str:
        return "ResourceParam"


RESOURCE_PARAM_MARKER = _ResourceParamMarker()


@dataclass(frozen=True)
class InputDef:
    """One data input of a compute function."""

    name: str
    annotation: Any = None
    default: Any = NO_DEFAULT
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_nothing: bool = False
    via_kwargs: bool = False  # declared only in `ins=`, passed through the `**kwargs` parameter
    input_manager_key: str | None = None  # loaded by this input manager, not the upstream's

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class OutputDef:
    """One output of a compute function."""

    name: str = "result"
    annotation: Any = None
    is_nothing: bool = False
    is_required: bool = True
    io_manager_key: str = "io_manager"
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_dynamic: bool = False  # a `DynamicOut`: any number of values, one per mapping key


@dataclass(frozen=True)
class FunctionSignature:
    """What each parameter of a compute function is for."""

    context_param: str | None
    config_param: str | None
    config_class: Any
    resource_params: dict[str, str]
    inputs: tuple[InputDef, ...]
    return_annotation: Any  # NO_ANNOTATION when the function has none
    is_generator: bool
    kwargs_param: str | None  # the `**kwargs` parameter's name, if the function has one
    parameter_names: tuple[str, ...]  # every named parameter, in order (not `**kwargs`)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def named_input_names(self) -> tuple[str, ...]:
        """The inputs that are parameters of their own, in order: the ones a positional
        argument can fill."""
        return tuple(i.name for i in self.inputs if not i.via_kwargs)


def _loaded_class(module: str, name: str) -> type | None:
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def is_config_class(annotation: Any) -> bool:
    config = _loaded_class("kubedag.config.config", "Config")
    return config is not None and isinstance(annotation, type) and issubclass(annotation, config)


def is_resource_annotation(annotation: Any) -> bool:
    """A parameter is a resource when annotated with a resource class or `ResourceParam[T]`."""
    if typing.get_origin(annotation) is typing.Annotated:
        return any(m is RESOURCE_PARAM_MARKER for m in annotation.__metadata__)
    if not isinstance(annotation, type):
        return False
    for module, name in (
        ("kubedag.resources.resource", "ConfigurableResource"),
        ("kubedag.resources.definition", "ResourceDefinition"),
        ("kubedag.resources.io_manager", "IOManager"),
    ):
        cls = _loaded_class(module, name)
        if cls is not None and issubclass(annotation, cls):
            return True
    return False


def is_context_annotation(annotation: Any) -> bool:
    base = _loaded_class("kubedag.execution.context", "StepExecutionContext")
    return base is not None and isinstance(annotation, type) and issubclass(annotation, base)


NO_ANNOTATION: Any = inspect.Signature.empty


def is_nothing_annotation(annotation: Any) -> bool:
    """True for an explicit `-> None`: such an output carries no value and is never stored."""
    return annotation is None or annotation is type(None) or annotation == "None"


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError):
        # Annotations that name something not importable at definition time: keep them as text.
        return inspect.signature(fn)


def read_signature(fn: Callable[..., Any], *, owner: str) -> FunctionSignature:
    """Classify every parameter of `fn`; `owner` names the definition in error messages."""
    sig = _signature(fn)
    params = list(sig.parameters.values())
    context_param: str | None = None
    config_param: str | None = None
    config_class: Any = None
    resources: dict[str, str] = {}
    inputs: list[InputDef] = []
    kwargs_param: str | None = None
    for index, param in enumerate(params):
        ann = param.annotation if param.annotation is not inspect.Parameter.empty else None
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            raise InvalidDefinitionError(
                f"{owner}: parameter '*{param.name}' is not supported: inputs are passed by "
                "name, not by position. Declare each input as a parameter, or declare them in "
                "ins={…} and collect them with a '**kwargs' parameter."
            )
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            kwargs_param = param.name
            continue
        if (index == 0 and param.name in CONTEXT_PARAM_NAMES and not is_config_class(ann)) or (
            is_context_annotation(ann)
        ):
            if index != 0:
                raise InvalidDefinitionError(
                    f"{owner}: the context parameter '{param.name}' must come first."
                )
            context_param = param.name
        elif is_config_class(ann) or (param.name == "config" and ann is None):
            config_param = param.name
            config_class = ann
        elif is_resource_annotation(ann):
            resources[param.name] = param.name
        else:
            default = param.default if param.default is not inspect.Parameter.empty else NO_DEFAULT
            inputs.append(InputDef(name=param.name, annotation=ann, default=default))
    ret = sig.return_annotation
    return FunctionSignature(
        context_param=context_param,
        config_param=config_param,
        config_class=config_class,
        resource_params=resources,
        inputs=tuple(inputs),
        return_annotation=ret,
        is_generator=inspect.isgeneratorfunction(fn),
        kwargs_param=kwargs_param,
        parameter_names=tuple(p.name for p in params if p.name != kwargs_param),
    )


def with_kwargs_inputs(
    signature: FunctionSignature, names: Iterable[str], *, owner: str
) -> FunctionSignature:
    """`signature` with the inputs `names` that no parameter takes added as inputs passed
    through its `**kwargs` parameter, in the order given.

    A name that is a data parameter already is left alone. Without a `**kwargs` parameter an
    extra name is an error, and so is a name taken by the context, config or a resource.
    """
    known = set(signature.input_names)
    extra = [name for name in dict.fromkeys(names) if name not in known]
    if not extra:
        return signature
    for name in extra:
        if name == "context":
            raise InvalidDefinitionError(
                f"{owner}: ins names 'context', which is reserved for the execution "
                "context. Give the input another name."
            )
        if name in signature.parameter_names:
            raise InvalidDefinitionError(
                f"{owner}: ins names '{name}', which is the function's context, "
                "config or resource parameter, not a data input. Rename the input."
            )
        if signature.kwargs_param is None:
            raise InvalidDefinitionError(
                f"{owner}: ins names '{name}', which is not a parameter of the "
                f"function. Add a parameter '{name}', or a '**kwargs' parameter to collect it."
            )
    added = tuple(InputDef(name=name, via_kwargs=True) for name in extra)
    return dataclasses.replace(signature, inputs=(*signature.inputs, *added))


def is_union_with_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)
