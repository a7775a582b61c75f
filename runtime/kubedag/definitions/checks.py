"""Asset checks: data-quality tests attached to an asset, run as their own steps.

A check's function may take the asset's value as a parameter named after the asset (the last part
of its key); the value is loaded through the asset's I/O manager. A *blocking* check that does
not pass stops everything downstream of its asset and fails the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.definitions.assets import AssetDep, to_asset_deps
from kubedag.definitions.io_specs import AssetIn
from kubedag.definitions.op import OpDefinition
from kubedag.definitions.policies import RetryPolicy
from kubedag.definitions.signature import OutputDef, read_signature
from kubedag.errors import InvalidDefinitionError


@dataclass(frozen=True)
class AssetCheckKey:
    """Identity of a check: the asset it checks and the check's name."""

    asset_key: AssetKey
    name: str

    def to_user_string(self) -> str:
        return f"{self.asset_key.to_user_string()}:{self.name}"


@dataclass(frozen=True)
class AssetCheckSpec:
    """Declaration of one check on one asset."""

    name: str
    asset_key: AssetKey
    description: str | None = None
    blocking: bool = False
    additional_deps: tuple[AssetDep, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        name: str,
        *,
        asset: Any,
        description: str | None = None,
        blocking: bool = False,
        additional_deps: Iterable[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "asset_key", to_asset_key(asset))
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "blocking", blocking)
        object.__setattr__(self, "additional_deps", to_asset_deps(additional_deps))
        object.__setattr__(self, "metadata", dict(metadata or {}))

    @property
    def key(self) -> AssetCheckKey:
        return AssetCheckKey(self.asset_key, self.name)


class AssetChecksDefinition:
    """An op that evaluates one or more asset checks."""

    def __init__(
        self,
        *,
        node: OpDefinition,
        specs: Sequence[AssetCheckSpec],
        keys_by_input_name: Mapping[str, AssetKey],
        resource_defs: Mapping[str, Any] | None = None,
    ) -> None:
        self.node = node
        self.specs = tuple(specs)
        self.keys_by_input_name = dict(keys_by_input_name)
        self.resource_defs = dict(resource_defs or {})

    @property
    def check_keys(self) -> tuple[AssetCheckKey, ...]:
        return tuple(spec.key for spec in self.specs)

    @property
    def check_specs(self) -> tuple[AssetCheckSpec, ...]:
        return self.specs

    @property
    def op(self) -> OpDefinition:
        return self.node

    @property
    def asset_keys(self) -> set[AssetKey]:
        return {spec.asset_key for spec in self.specs}

    @property
    def dependency_keys(self) -> set[AssetKey]:
        deps = set(self.keys_by_input_name.values()) | self.asset_keys
        deps.update(dep.asset_key for spec in self.specs for dep in spec.additional_deps)
        return deps

    @property
    def required_resource_keys(self) -> frozenset[str]:
        return self.node.required_resource_keys

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.node(*args, **kwargs)

    def __repr__(self) -> str:
        names = ", ".join(k.to_user_string() for k in self.check_keys)
        return f"<AssetChecksDefinition {names}>"


def _check_inputs(
    owner: str,
    fn: Callable[..., Any],
    asset_keys: set[AssetKey],
    additional_ins: Mapping[str, AssetIn] | None,
) -> dict[str, AssetKey]:
    """Map each data parameter to the asset it reads: the checked asset by its name, or an
    `additional_ins` entry."""
    signature = read_signature(fn, owner=owner)
    if signature.kwargs_param is not None:
        raise InvalidDefinitionError(
            f"{owner}: parameter '**{signature.kwargs_param}' is not supported; a check takes "
            "each asset it reads as a parameter of its own (the checked asset by name, others "
            "listed in additional_ins)."
        )
    by_name = {key.path[-1]: key for key in asset_keys}
    ins = dict(additional_ins or {})
    keys: dict[str, AssetKey] = {}
    for name in signature.input_names:
        if name in ins:
            keys[name] = ins[name].resolve_key(name)
        elif name in by_name:
            keys[name] = by_name[name]
        else:
            raise InvalidDefinitionError(
                f"{owner}: parameter '{name}' is neither the checked asset "
                f"({', '.join(sorted(by_name))}) nor listed in additional_ins; rename it or add "
                f"additional_ins={{'{name}': dg.AssetIn(key=…)}}."
            )
    return keys


def asset_check(
    compute_fn: Callable[..., Any] | None = None,
    *,
    asset: Any,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    additional_ins: Mapping[str, AssetIn] | None = None,
    additional_deps: Iterable[Any] | None = None,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    metadata: Mapping[str, Any] | None = None,
    op_tags: Mapping[str, str] | None = None,
    compute_kind: str | None = None,
) -> Any:
    """Declare a check on one asset. The function returns an `AssetCheckResult`."""

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        check_name = name or fn.__name__
        spec = AssetCheckSpec(
            check_name,
            asset=asset,
            description=description or (fn.__doc__ or "").strip() or None,
            blocking=blocking,
            additional_deps=additional_deps,
            metadata=metadata,
        )
        owner = f"asset_check '{spec.key.to_user_string()}'"
        keys_by_input = _check_inputs(owner, fn, {spec.asset_key}, additional_ins)
        op_def = OpDefinition(
            fn,
            name=spec.asset_key.to_python_identifier(check_name),
            output_defs=(OutputDef(name="result", is_nothing=True),),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            retry_policy=retry_policy,
            tags=op_tags,
            description=spec.description,
        )
        return AssetChecksDefinition(
            node=op_def, specs=[spec], keys_by_input_name=keys_by_input, resource_defs=resource_defs
        )

    return decorate(compute_fn) if compute_fn is not None else decorate


def multi_asset_check(
    compute_fn: Callable[..., Any] | None = None,
    *,
    specs: Sequence[AssetCheckSpec],
    name: str | None = None,
    description: str | None = None,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    additional_ins: Mapping[str, AssetIn] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    op_tags: Mapping[str, str] | None = None,
    can_subset: bool = False,
) -> Any:
    """Declare several checks evaluated by one function that yields `AssetCheckResult`s."""

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        op_name = name or fn.__name__
        if not specs:
            raise InvalidDefinitionError(f"multi_asset_check '{op_name}': specs=[…] is empty.")
        seen = set()
        for spec in specs:
            if spec.key in seen:
                raise InvalidDefinitionError(
                    f"multi_asset_check '{op_name}': check '{spec.key.to_user_string()}' "
                    "appears twice in specs."
                )
            seen.add(spec.key)
        owner = f"multi_asset_check '{op_name}'"
        keys_by_input = _check_inputs(owner, fn, {s.asset_key for s in specs}, additional_ins)
        op_def = OpDefinition(
            fn,
            name=op_name,
            output_defs=(OutputDef(name="result", is_nothing=True),),
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            retry_policy=retry_policy,
            tags=op_tags,
            description=description,
        )
        return AssetChecksDefinition(
            node=op_def, specs=specs, keys_by_input_name=keys_by_input, resource_defs=resource_defs
        )

    return decorate(compute_fn) if compute_fn is not None else decorate
