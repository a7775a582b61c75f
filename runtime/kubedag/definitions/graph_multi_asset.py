"""`@graph_multi_asset`: several assets computed by one graph of ops.

The body wires ops together, like a `@graph` body, and returns one op output per entry of
`outs` (a dict keyed by out name, or a tuple in the order of `outs`). Each out becomes an
asset; the op output it is mapped to is stored as that asset (through the out's I/O manager).
`@graph_asset` is the one-asset case (`kubedag.definitions.assets`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.assets import (
    AssetsDefinition,
    AssetSpec,
    _asset_inputs,
    _bind_check_specs,
    _merge_deps,
)
from kubedag.definitions.graph import GraphDefinition, compose
from kubedag.definitions.io_specs import AssetIn, AssetOut
from kubedag.definitions.signature import read_signature
from kubedag.errors import InvalidDefinitionError


def graph_multi_asset(
    *,
    outs: Mapping[str, AssetOut],
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    partitions_def: Any = None,
    hooks: Any = None,
    backfill_policy: Any = None,
    group_name: str | None = None,
    can_subset: bool = False,
    resource_defs: Mapping[str, Any] | None = None,
    check_specs: Sequence[Any] | None = None,
    config: Any = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare the assets `outs` computed by a graph; the body wires the ops together."""
    if hooks:
        raise InvalidDefinitionError(
            "graph_multi_asset: hooks= is not supported yet; put the hooks on the graph's ops."
        )
    if not outs:
        raise InvalidDefinitionError("graph_multi_asset: outs= must name at least one asset.")

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        graph_name = name or fn.__name__
        owner = f"graph_multi_asset '{graph_name}'"
        signature, keys_by_input = _asset_inputs(owner, read_signature(fn, owner=owner), ins)
        nodes, input_names, returned = compose(fn, owner=owner, signature=signature)
        outputs = _outputs_by_out_name(owner, returned, list(outs))
        graph_def = GraphDefinition.from_nodes(
            graph_name,
            nodes,
            input_names,
            outputs,
            description=(fn.__doc__ or "").strip() or None,
            config=config,
        )
        shared_deps = _merge_deps(keys_by_input, None, ins)
        specs: list[AssetSpec] = []
        keys_by_output: dict[str, AssetKey] = {}
        for out_name, out in outs.items():
            key = out.resolve_key(out_name)
            keys_by_output[out_name] = key
            specs.append(
                AssetSpec(
                    key,
                    deps=shared_deps,
                    description=out.description,
                    metadata=out.metadata,
                    group_name=out.group_name or group_name,
                    code_version=out.code_version,
                    owners=out.owners,
                    tags=out.tags,
                    automation_condition=out.automation_condition,
                    kinds=out.kinds,
                    partitions_def=partitions_def,
                    skippable=not out.is_required,
                )
            )
        return AssetsDefinition(
            node=graph_def,
            keys_by_output_name=keys_by_output,
            keys_by_input_name=keys_by_input,
            specs=specs,
            check_specs=_bind_check_specs(owner, None, check_specs),
            partitions_def=partitions_def,
            can_subset=can_subset,
            resource_defs=resource_defs,
            io_manager_keys_by_output={
                n: o.io_manager_key for n, o in outs.items() if o.io_manager_key
            },
        )

    return decorate


def _outputs_by_out_name(
    owner: str, returned: dict[str, Any], out_names: list[str]
) -> dict[str, Any]:
    """The body's returned op outputs keyed by out name: a dict returned as is, a tuple (or a
    single output, for one out) by position."""
    if set(returned) == set(out_names):
        return {n: returned[n] for n in out_names}
    if len(returned) == len(out_names) and not set(returned) & set(out_names):
        return dict(zip(out_names, returned.values(), strict=True))
    missing = [n for n in out_names if n not in returned]
    raise InvalidDefinitionError(
        f"{owner}: the body must return one op output per out ({', '.join(out_names)}); "
        f"{', '.join(missing) or 'some'} not returned. Return a dict keyed by out name."
    )
