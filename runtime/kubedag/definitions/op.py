"""Ops: the unit of computation. An asset is an op plus the asset keys it produces.

`@op` reads the function's signature once (see `signature.py`) and records inputs, outputs,
config and resources. Calling an op inside a graph body records a node; calling it anywhere
else runs the function directly, which is how users test it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubedag.definitions.composition import PendingNodeInvocation, current_composition
from kubedag.definitions.dagster_type import declared_types, is_nothing_type
from kubedag.definitions.io_specs import NO_DEFAULT, In, Out
from kubedag.definitions.output_annotations import (
    per_output_annotations,
    unwrap_output_annotation,
)
from kubedag.definitions.policies import RetryPolicy
from kubedag.definitions.signature import (
    NO_ANNOTATION,
    FunctionSignature,
    InputDef,
    OutputDef,
    is_nothing_annotation,
    read_signature,
    with_kwargs_inputs,
)
from kubedag.errors import InvalidDefinitionError


class OpDefinition:
    """A compute function with its declared inputs, outputs, config and resources."""

    def __init__(
        self,
        compute_fn: Callable[..., Any],
        *,
        name: str | None = None,
        ins: Mapping[str, In] | None = None,
        out: Out | Mapping[str, Out] | None = None,
        output_defs: tuple[OutputDef, ...] | None = None,
        config_schema: Any = None,
        required_resource_keys: set[str] | frozenset[str] | None = None,
        retry_policy: RetryPolicy | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        code_version: str | None = None,
        signature: FunctionSignature | None = None,
    ) -> None:
        self.name = name or compute_fn.__name__
        if not self.name.isidentifier():
            raise InvalidDefinitionError(
                f"Op name '{self.name}' is not a valid identifier; use letters, digits and '_'."
            )
        self.compute_fn = compute_fn
        owner = f"op '{self.name}'"
        ins = ins or {}
        data_ins = {n: s for n, s in ins.items() if not is_nothing_type(s.dagster_type)}
        self.signature = with_kwargs_inputs(
            signature or read_signature(compute_fn, owner=owner), data_ins, owner=owner
        )
        self.input_defs = _input_defs(self.signature, ins, owner)
        self.has_input_managers = any(i.input_manager_key for i in self.input_defs)
        self.output_defs = output_defs or _output_defs(self.signature, out)
        # Only typed inputs and outputs are checked at run time (see dagster_type.py).
        self.input_types, self.output_types = declared_types(
            self.input_defs, self.output_defs, owner
        )
        self.config_class = self.signature.config_class
        self.config_schema = config_schema
        if self.signature.config_param and self.config_class is None and config_schema is None:
            raise InvalidDefinitionError(
                f"op '{self.name}': parameter 'config' needs a type annotation with a "
                "dg.Config subclass, e.g. `config: MyConfig`."
            )
        self.resource_params = dict(self.signature.resource_params)
        self.required_resource_keys = frozenset(required_resource_keys or ()) | frozenset(
            self.resource_params.values()
        )
        for dagster_type in (*self.input_types.values(), *self.output_types.values()):
            self.required_resource_keys |= dagster_type.required_resource_keys
        self.retry_policy = retry_policy
        self.tags = dict(tags or {})
        self.description = description or (compute_fn.__doc__ or "").strip() or None
        self.code_version = code_version

    # -- what composition needs -------------------------------------------------------------
    @property
    def composition_input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.input_defs)

    @property
    def composition_positional_input_names(self) -> tuple[str, ...]:
        """Inputs a positional argument can fill: not those collected by `**kwargs`."""
        return tuple(i.name for i in self.input_defs if not i.via_kwargs)

    @property
    def composition_output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.output_defs)

    @property
    def has_config(self) -> bool:
        return self.config_class is not None or self.config_schema is not None

    def input_def(self, name: str) -> InputDef:
        for input_def in self.input_defs:
            if input_def.name == name:
                return input_def
        raise KeyError(name)

    def output_def(self, name: str) -> OutputDef:
        for output_def in self.output_defs:
            if output_def.name == name:
                return output_def
        raise InvalidDefinitionError(
            f"op '{self.name}' has no output '{name}'; its outputs are: "
            f"{', '.join(o.name for o in self.output_defs)}."
        )

    # -- use in a graph body ----------------------------------------------------------------
    def alias(self, name: str) -> PendingNodeInvocation:
        return PendingNodeInvocation(self, alias=name)

    def tag(self, tags: Mapping[str, str]) -> PendingNodeInvocation:
        return PendingNodeInvocation(self, tags=tags)

    def with_retry_policy(self, policy: RetryPolicy) -> PendingNodeInvocation:
        return PendingNodeInvocation(self, retry_policy=policy)

    def with_hooks(self, hook_defs: Any) -> PendingNodeInvocation:
        return PendingNodeInvocation(self).with_hooks(hook_defs)

    def configured(
        self,
        config_or_config_fn: Any,
        name: str | None = None,
        config_schema: Any = None,
        description: str | None = None,
    ) -> OpDefinition:
        """A copy named `name` whose config is fixed, or mapped by a function from a config of
        `config_schema` (see `kubedag.config.mapping`)."""
        from kubedag.definitions.configured import configured_op

        copy: OpDefinition = configured_op(
            self, config_or_config_fn, name, config_schema, description
        )
        return copy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = current_composition()
        if builder is not None:
            return builder.invoke(self, args, kwargs)
        # Direct invocation (tests): runs the function with a context built for the purpose.
        from kubedag.definitions.engine import engine

        return engine().invoke_op(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<OpDefinition {self.name}>"


def _input_defs(
    signature: FunctionSignature, ins: Mapping[str, In], owner: str
) -> tuple[InputDef, ...]:
    """Each input of the signature with what its `In` declares (type, default, metadata), then
    the `Nothing` inputs, which order the op after others and pass it no value."""
    defs = []
    for name, declared in ins.items():
        if is_nothing_type(declared.dagster_type) and name in signature.parameter_names:
            raise InvalidDefinitionError(
                f"{owner}: input '{name}' is of type Nothing, so no value is passed for it; "
                f"remove the parameter '{name}' from the function."
            )
    for input_def in signature.inputs:
        spec = ins.get(input_def.name)
        if spec is None:
            defs.append(input_def)
            continue
        default = spec.default_value if spec.default_value is not NO_DEFAULT else input_def.default
        defs.append(
            InputDef(
                name=input_def.name,
                annotation=spec.dagster_type or input_def.annotation,
                default=default,
                description=spec.description,
                metadata=dict(spec.metadata),
                via_kwargs=input_def.via_kwargs,
                input_manager_key=spec.input_manager_key,
            )
        )
    for name, declared in ins.items():
        if is_nothing_type(declared.dagster_type):
            defs.append(
                InputDef(
                    name=name,
                    annotation=declared.dagster_type,
                    description=declared.description,
                    metadata=dict(declared.metadata),
                    is_nothing=True,
                )
            )
    return tuple(defs)


def _output_defs(
    signature: FunctionSignature, out: Out | Mapping[str, Out] | None
) -> tuple[OutputDef, ...]:
    ret = unwrap_output_annotation(signature.return_annotation)
    if out is None or isinstance(out, Out):
        spec = out or Out()
        annotation = spec.dagster_type or (None if ret is NO_ANNOTATION else ret)
        return (
            OutputDef(
                name="result",
                annotation=annotation,
                is_nothing=is_nothing_type(spec.dagster_type)
                or (is_nothing_annotation(ret) and spec.dagster_type is None),
                is_required=spec.is_required,
                io_manager_key=spec.io_manager_key or "io_manager",
                description=spec.description,
                metadata=dict(spec.metadata),
                is_dynamic=getattr(spec, "is_dynamic", False),
            ),
        )
    annotations = per_output_annotations(ret, len(out))
    return tuple(
        OutputDef(
            name=name,
            annotation=spec.dagster_type or annotations[index],
            is_nothing=is_nothing_type(spec.dagster_type),
            is_required=spec.is_required,
            io_manager_key=spec.io_manager_key or "io_manager",
            description=spec.description,
            metadata=dict(spec.metadata),
            is_dynamic=getattr(spec, "is_dynamic", False),
        )
        for index, (name, spec) in enumerate(out.items())
    )


def op(
    compute_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: set[str] | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    pool: str | None = None,
) -> Any:
    """Declare an op. Inputs come from parameters, outputs from the return annotation or `out`."""

    def decorate(fn: Callable[..., Any]) -> OpDefinition:
        op_tags = dict(tags or {})
        if pool:
            op_tags["kubedag/pool"] = pool
        return OpDefinition(
            fn,
            name=name,
            ins=ins,
            out=out,
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            retry_policy=retry_policy,
            tags=op_tags,
            description=description,
            code_version=code_version,
        )

    return decorate(compute_fn) if compute_fn is not None else decorate
