"""Software-defined assets: `@asset`, `@multi_asset`, `@graph_asset` and `AssetSpec`.

An `AssetsDefinition` is a node (an op, or a graph of ops) plus the asset keys its outputs
produce and the asset keys its inputs read. An `AssetSpec` alone, without a function, declares an
external asset: something kubedag knows and depends on but never materializes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions import asset_attributes
from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.definitions.composition import current_composition
from kubedag.definitions.dagster_type import is_nothing_type, with_asset_in_types
from kubedag.definitions.graph import GraphDefinition, compose
from kubedag.definitions.input_managers import with_input_manager_keys
from kubedag.definitions.io_specs import AssetIn, AssetOut
from kubedag.definitions.op import OpDefinition
from kubedag.definitions.policies import RetryPolicy
from kubedag.definitions.results import MaterializeResult
from kubedag.definitions.signature import (
    NO_ANNOTATION,
    FunctionSignature,
    OutputDef,
    is_nothing_annotation,
    read_signature,
    with_kwargs_inputs,
)
from kubedag.errors import InvalidDefinitionError

DEFAULT_GROUP = "default"


@dataclass(frozen=True)
class AssetDep:
    """A dependency of an asset on another asset (data or ordering only)."""

    asset: Any
    partition_mapping: Any = None

    @property
    def asset_key(self) -> AssetKey:
        return to_asset_key(self.asset)


def to_asset_deps(values: Iterable[Any] | None) -> tuple[AssetDep, ...]:
    deps: list[AssetDep] = []
    for value in values or ():
        if isinstance(value, AssetDep):
            deps.append(AssetDep(to_asset_key(value.asset), value.partition_mapping))
        elif isinstance(value, AssetsDefinition):
            deps.extend(AssetDep(key) for key in value.keys)
        else:
            deps.append(AssetDep(to_asset_key(value)))
    return tuple(deps)


@dataclass(frozen=True)
class AssetSpec:
    """Everything declared about one asset except how to compute it."""

    key: AssetKey
    deps: tuple[AssetDep, ...] = ()
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    skippable: bool = False
    group_name: str | None = None
    code_version: str | None = None
    automation_condition: Any = None
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    kinds: frozenset[str] = frozenset()
    partitions_def: Any = None

    def __init__(
        self,
        key: Any,
        *,
        deps: Iterable[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        skippable: bool = False,
        group_name: str | None = None,
        code_version: str | None = None,
        automation_condition: Any = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        partitions_def: Any = None,
    ) -> None:
        values = {
            "key": to_asset_key(key),
            "deps": to_asset_deps(deps),
            "description": description,
            "metadata": dict(metadata or {}),
            "skippable": skippable,
            "group_name": group_name,
            "code_version": code_version,
            "automation_condition": automation_condition,
            "owners": tuple(owners or ()),
            "tags": dict(tags or {}),
            "kinds": frozenset(kinds or ()),
            "partitions_def": partitions_def,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        for owner in self.owners:
            if not (owner.startswith("team:") or "@" in owner):
                raise InvalidDefinitionError(
                    f"AssetSpec '{self.key.to_user_string()}': owner '{owner}' must be an email "
                    "address or 'team:<name>'."
                )

    def replace_attributes(self, **changes: Any) -> AssetSpec:
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        current.update(changes)
        return AssetSpec(**current)

    def merge_attributes(
        self,
        *,
        deps: Iterable[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> AssetSpec:
        return self.replace_attributes(
            deps=[*self.deps, *to_asset_deps(deps)],
            metadata={**self.metadata, **(metadata or {})},
            owners=[*self.owners, *(owners or ())],
            tags={**self.tags, **(tags or {})},
            kinds={*self.kinds, *(kinds or ())},
        )

    def with_io_manager_key(self, io_manager_key: str) -> AssetSpec:
        """This spec, loaded and stored through the I/O manager `io_manager_key`."""
        return self.merge_attributes(metadata={asset_attributes.IO_MANAGER_KEY: io_manager_key})

    @property
    def effective_group(self) -> str:
        return self.group_name or DEFAULT_GROUP


class AssetsDefinition:
    """One computation (op or graph) and the assets it materializes."""

    hook_defs: frozenset[Any] = frozenset()  # run after its step(s): `with_hooks`, `hooks=`

    is_observation = False  # observes instead (definitions/observations.py)

    def __init__(
        self,
        *,
        node: OpDefinition | GraphDefinition,
        keys_by_output_name: Mapping[str, AssetKey],
        keys_by_input_name: Mapping[str, AssetKey],
        specs: Sequence[AssetSpec],
        check_specs: Sequence[Any] = (),
        partitions_def: Any = None,
        can_subset: bool = False,
        resource_defs: Mapping[str, Any] | None = None,
        io_manager_keys_by_output: Mapping[str, str] | None = None,
    ) -> None:
        self.node = node
        self.keys_by_output_name = dict(keys_by_output_name)
        self.keys_by_input_name = dict(keys_by_input_name)
        self.specs = tuple(specs)
        self.check_specs = tuple(check_specs)
        self.partitions_def = partitions_def
        self.can_subset = can_subset
        self.resource_defs = dict(resource_defs or {})
        self._specs_by_key = {spec.key: spec for spec in self.specs}
        self.output_names_by_key = {key: name for name, key in self.keys_by_output_name.items()}
        self.io_manager_keys_by_output = dict(io_manager_keys_by_output or {})

    # -- identity ---------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[AssetKey, ...]:
        return tuple(spec.key for spec in self.specs)

    @property
    def key(self) -> AssetKey:
        if len(self.specs) != 1:
            raise InvalidDefinitionError(
                f"'{self.node.name}' produces {len(self.specs)} assets; use .keys instead of .key."
            )
        return self.specs[0].key

    @property
    def op(self) -> OpDefinition:
        if not isinstance(self.node, OpDefinition):
            raise InvalidDefinitionError(f"'{self.node.name}' is a graph-backed asset, not an op.")
        return self.node

    @property
    def node_def(self) -> OpDefinition | GraphDefinition:
        return self.node

    @property
    def check_keys(self) -> tuple[Any, ...]:
        return tuple(spec.key for spec in self.check_specs)

    def spec_for(self, key: AssetKey) -> AssetSpec:
        return self._specs_by_key[key]

    def with_hooks(self, hook_defs: Iterable[Any]) -> AssetsDefinition:
        """The same assets, with `hook_defs` running after their step in every job."""
        import copy

        from kubedag.definitions.hooks import to_hook_set

        hooked = copy.copy(self)
        hooked.hook_defs = self.hook_defs | to_hook_set(hook_defs, f"asset '{self.node.name}'")
        return hooked

    def get_asset_spec(self, key: Any = None) -> AssetSpec:
        """The spec of `key`, or of this definition's only asset."""
        return self.spec_for(to_asset_key(key)) if key is not None else self.spec_for(self.key)

    @property
    def specs_by_key(self) -> dict[AssetKey, AssetSpec]:
        return dict(self._specs_by_key)

    def map_asset_specs(self, fn: Callable[[AssetSpec], AssetSpec]) -> AssetsDefinition:
        mapped: AssetsDefinition = asset_attributes.map_specs_of(self, fn)
        return mapped

    def with_attributes(self, **attributes: Any) -> AssetsDefinition:
        """A copy with keys renamed (`asset_key_replacements`) or groups, tags, metadata or
        automation conditions set per key (see `asset_attributes.with_attributes`)."""
        changed: AssetsDefinition = asset_attributes.with_attributes(self, **attributes)
        return changed

    @property
    def asset_deps(self) -> dict[AssetKey, set[AssetKey]]:
        return {spec.key: {dep.asset_key for dep in spec.deps} for spec in self.specs}

    @property
    def dependency_keys(self) -> set[AssetKey]:
        return {dep.asset_key for spec in self.specs for dep in spec.deps}

    @property
    def group_names_by_key(self) -> dict[AssetKey, str]:
        return {spec.key: spec.effective_group for spec in self.specs}

    @property
    def required_resource_keys(self) -> frozenset[str]:
        if isinstance(self.node, OpDefinition):
            return self.node.required_resource_keys
        return frozenset(
            key
            for n in self.node.nodes
            for key in getattr(n.definition, "required_resource_keys", ())
        )

    def io_manager_key_for(self, key: AssetKey) -> str:
        return self.io_manager_keys_by_output.get(self.output_names_by_key[key], "io_manager")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self.node, GraphDefinition):
            raise InvalidDefinitionError(
                f"graph asset '{self.node.name}' cannot be called directly; call its ops, or "
                "materialize it with dg.materialize([...])."
            )
        if current_composition() is not None:
            return self.node(*args, **kwargs)
        # Direct invocation (tests): the context is bound to this asset for the call.
        from kubedag.definitions.engine import engine

        return engine().invoke_op(self, args, kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self.keys)
        return f"<AssetsDefinition {keys}>"


# -- @asset ---------------------------------------------------------------------------------


def _asset_inputs(
    owner: str,
    signature: FunctionSignature,
    ins: Mapping[str, AssetIn] | None,
) -> tuple[FunctionSignature, dict[str, AssetKey]]:
    """The signature with every `ins` entry as an input (those no parameter takes go through
    `**kwargs`), and the asset key each input reads."""
    ins = {n: a for n, a in (ins or {}).items() if not is_nothing_type(a.dagster_type)}
    signature = with_kwargs_inputs(signature, ins, owner=owner)
    keys = {name: (ins.get(name) or AssetIn()).resolve_key(name) for name in signature.input_names}
    return with_input_manager_keys(with_asset_in_types(signature, ins), ins), keys


def _merge_deps(
    keys_by_input: Mapping[str, AssetKey],
    deps: Iterable[Any] | None,
    ins: Mapping[str, AssetIn] | None = None,
) -> tuple[AssetDep, ...]:
    """One dependency per upstream asset: from an input (with its `AssetIn`'s partition
    mapping) or from `deps`; a mapping given on either side wins over none."""
    merged: dict[AssetKey, AssetDep] = {}
    for name, key in keys_by_input.items():
        asset_in = (ins or {}).get(name)
        mapping = asset_in.partition_mapping if asset_in is not None else None
        merged[key] = AssetDep(key, mapping)
    for name, asset_in in (ins or {}).items():  # AssetIn(dagster_type=Nothing): a dep only
        if is_nothing_type(asset_in.dagster_type):
            key = asset_in.resolve_key(name)
            merged.setdefault(key, AssetDep(key, asset_in.partition_mapping))
    for dep in to_asset_deps(deps):
        known = merged.get(dep.asset_key)
        if known is None or (known.partition_mapping is None and dep.partition_mapping):
            merged[dep.asset_key] = dep
    return tuple(merged.values())


def _returns_no_value(signature: FunctionSignature) -> bool:
    ret = signature.return_annotation
    return is_nothing_annotation(ret) or ret is MaterializeResult


def asset(
    compute_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    key: Any = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    dagster_type: Any = None,
    partitions_def: Any = None,
    op_tags: Mapping[str, str] | None = None,
    group_name: str | None = None,
    output_required: bool = True,
    automation_condition: Any = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    check_specs: Sequence[Any] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    pool: str | None = None,
    hooks: Iterable[Any] | None = None,
) -> Any:
    """Declare an asset computed by the decorated function."""

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        if key is not None and (name or key_prefix):
            raise InvalidDefinitionError(
                f"asset '{fn.__name__}': give either key=… or name=/key_prefix=…, not both."
            )
        asset_key = to_asset_key(key) if key is not None else AssetKey([name or fn.__name__])
        if key_prefix:
            asset_key = asset_key.with_prefix(key_prefix)
        owner = f"asset '{asset_key.to_user_string()}'"
        signature, keys_by_input = _asset_inputs(owner, read_signature(fn, owner=owner), ins)
        spec = AssetSpec(
            asset_key,
            deps=_merge_deps(keys_by_input, deps, ins),
            description=description or (fn.__doc__ or "").strip() or None,
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            automation_condition=automation_condition,
            owners=owners,
            tags=tags,
            kinds=[*(kinds or ()), *([compute_kind] if compute_kind else [])],
            partitions_def=partitions_def,
        )
        ret = signature.return_annotation
        annotation = dagster_type or (None if ret is NO_ANNOTATION else ret)
        output = OutputDef(
            name="result",
            annotation=annotation,
            is_nothing=_returns_no_value(signature),
            is_required=output_required,
            io_manager_key=io_manager_key or "io_manager",
        )
        all_tags = {**(op_tags or {}), **({"kubedag/pool": pool} if pool else {})}
        op_def = OpDefinition(
            fn,
            name=asset_key.to_python_identifier(),
            output_defs=(output,),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            retry_policy=retry_policy,
            tags=all_tags,
            description=spec.description,
            code_version=code_version,
            signature=signature,
        )
        checks = _bind_check_specs(owner, asset_key, check_specs)
        return AssetsDefinition(
            node=op_def,
            keys_by_output_name={"result": asset_key},
            keys_by_input_name=keys_by_input,
            specs=[spec],
            check_specs=checks,
            partitions_def=partitions_def,
            resource_defs=resource_defs,
            io_manager_keys_by_output={"result": output.io_manager_key},
        )

    hooked = _applying_hooks(decorate, hooks)
    return hooked(compute_fn) if compute_fn is not None else hooked


def _bind_check_specs(
    owner: str, asset_key: AssetKey | None, specs: Sequence[Any] | None
) -> tuple[Any, ...]:
    bound = []
    for spec in specs or ():
        if asset_key is not None and spec.asset_key != asset_key:
            raise InvalidDefinitionError(
                f"{owner}: check spec '{spec.name}' targets asset "
                f"'{spec.asset_key.to_user_string()}', not this asset."
            )
        bound.append(spec)
    return tuple(bound)


# -- @multi_asset ---------------------------------------------------------------------------


def _applying_hooks(
    decorate: Callable[[Callable[..., Any]], AssetsDefinition], hooks: Iterable[Any] | None
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """`decorate`, whose assets also get `hooks` (the decorators' `hooks=`)."""
    if not hooks:
        return decorate
    hook_list = list(hooks)
    return lambda fn: decorate(fn).with_hooks(hook_list)


def multi_asset(
    compute_fn: Callable[..., Any] | None = None,
    *,
    specs: Sequence[AssetSpec] | None = None,
    outs: Mapping[str, AssetOut] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    partitions_def: Any = None,
    op_tags: Mapping[str, str] | None = None,
    can_subset: bool = False,
    group_name: str | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    check_specs: Sequence[Any] | None = None,
    pool: str | None = None,
    hooks: Iterable[Any] | None = None,
    internal_asset_deps: Mapping[str, set[AssetKey]] | None = None,
) -> Any:
    """Declare several assets produced by one function (`specs=` or `outs=`)."""

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        op_name = name or fn.__name__
        owner = f"multi_asset '{op_name}'"
        if bool(specs) == bool(outs):
            raise InvalidDefinitionError(f"{owner}: give exactly one of specs=[…] or outs={{…}}.")
        signature, keys_by_input = _asset_inputs(owner, read_signature(fn, owner=owner), ins)
        shared_deps = _merge_deps(keys_by_input, deps, ins)
        asset_specs: list[AssetSpec] = []
        outputs: list[OutputDef] = []
        keys_by_output: dict[str, AssetKey] = {}
        if specs:
            for spec in specs:
                spec_group = spec.group_name or group_name
                merged = spec.replace_attributes(
                    deps=[*shared_deps, *spec.deps],
                    group_name=spec_group,
                    partitions_def=spec.partitions_def or partitions_def,
                    code_version=spec.code_version or code_version,
                )
                output_name = spec.key.to_python_identifier()
                asset_specs.append(merged)
                keys_by_output[output_name] = spec.key
                outputs.append(
                    OutputDef(
                        name=output_name,
                        is_nothing=True,
                        is_required=not spec.skippable,
                        io_manager_key=spec.metadata.get(
                            asset_attributes.IO_MANAGER_KEY, "io_manager"
                        ),
                    )
                )
        else:
            for output_name, out in (outs or {}).items():
                out_key = out.resolve_key(output_name)
                asset_specs.append(
                    AssetSpec(
                        out_key,
                        deps=shared_deps,
                        description=out.description,
                        metadata=out.metadata,
                        group_name=out.group_name or group_name,
                        code_version=out.code_version or code_version,
                        owners=out.owners,
                        tags=out.tags,
                        automation_condition=out.automation_condition,
                        kinds=out.kinds,
                        partitions_def=partitions_def,
                        skippable=not out.is_required,
                    )
                )
                keys_by_output[output_name] = out_key
                outputs.append(
                    OutputDef(
                        name=output_name,
                        annotation=out.dagster_type,
                        is_nothing=out.dagster_type is not None
                        and is_nothing_annotation(out.dagster_type),
                        is_required=out.is_required,
                        io_manager_key=out.io_manager_key or "io_manager",
                    )
                )
        if internal_asset_deps:
            narrowed = asset_attributes.internal_deps_of(
                owner, internal_asset_deps, keys_by_output, shared_deps, AssetDep
            )
            names = {key: name for name, key in keys_by_output.items()}
            asset_specs = [
                s.replace_attributes(deps=narrowed[names[s.key]]) if names[s.key] in narrowed else s
                for s in asset_specs
            ]
        all_tags = {**(op_tags or {}), **({"kubedag/pool": pool} if pool else {})}
        op_def = OpDefinition(
            fn,
            name=op_name,
            output_defs=tuple(outputs),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            retry_policy=retry_policy,
            tags=all_tags,
            description=description,
            code_version=code_version,
            signature=signature,
        )
        return AssetsDefinition(
            node=op_def,
            keys_by_output_name=keys_by_output,
            keys_by_input_name=keys_by_input,
            specs=asset_specs,
            check_specs=_bind_check_specs(owner, None, check_specs),
            partitions_def=partitions_def,
            can_subset=can_subset,
            resource_defs=resource_defs,
            io_manager_keys_by_output={o.name: o.io_manager_key for o in outputs},
        )

    hooked = _applying_hooks(decorate, hooks)
    return hooked(compute_fn) if compute_fn is not None else hooked


# -- @graph_asset ---------------------------------------------------------------------------


def graph_asset(
    compose_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    key: Any = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    partitions_def: Any = None,
    automation_condition: Any = None,
    code_version: str | None = None,
    check_specs: Sequence[Any] | None = None,
    kinds: Iterable[str] | None = None,
    config: Any = None,
) -> Any:
    """Declare an asset computed by a graph of ops; the body wires the ops together. `config`
    is the graph's `ConfigMapping` (see `kubedag.config.mapping`)."""

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        asset_key = to_asset_key(key) if key is not None else AssetKey([name or fn.__name__])
        if key_prefix:
            asset_key = asset_key.with_prefix(key_prefix)
        owner = f"graph_asset '{asset_key.to_user_string()}'"
        signature, keys_by_input = _asset_inputs(owner, read_signature(fn, owner=owner), ins)
        nodes, input_names, outputs = compose(fn, owner=owner, signature=signature)
        if list(outputs) != ["result"]:
            raise InvalidDefinitionError(
                f"{owner}: the body must return exactly one op output (the asset's value)."
            )
        graph_def = GraphDefinition.from_nodes(
            asset_key.to_python_identifier(),
            nodes,
            input_names,
            outputs,
            description=description or (fn.__doc__ or "").strip() or None,
            config=config,
        )
        spec = AssetSpec(
            asset_key,
            deps=_merge_deps(keys_by_input, deps, ins),
            description=graph_def.description,
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            automation_condition=automation_condition,
            owners=owners,
            tags=tags,
            kinds=kinds,
            partitions_def=partitions_def,
        )
        return AssetsDefinition(
            node=graph_def,
            keys_by_output_name={"result": asset_key},
            keys_by_input_name=keys_by_input,
            specs=[spec],
            check_specs=_bind_check_specs(owner, asset_key, check_specs),
            partitions_def=partitions_def,
        )

    return decorate(compose_fn) if compose_fn is not None else decorate
