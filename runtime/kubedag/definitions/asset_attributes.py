"""Changing the declared attributes of assets after they are defined.

`dg.map_asset_specs(fn, assets)` (map_asset_specs.py) applies `fn` to every `AssetSpec` (of external assets, and of
the assets each `AssetsDefinition` computes) and returns new definitions: the way to add tags,
owners, metadata or code references to many assets at once. `AssetsDefinition.with_attributes`
renames keys and sets groups, tags, metadata or automation conditions per key. Nothing is
changed in place: definitions are values, and the same one may sit in several `Definitions`.

A mapping function must not change an asset's key (that would silently orphan its history);
renaming is what `with_attributes(asset_key_replacements=...)` is for, and it rewrites the
dependencies, inputs and checks that name the old key too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.errors import InvalidDefinitionError

# Not imported from assets.py, which calls these functions (so the two would import each other):
# new definitions and deps are made with the type of the one given.
AssetsDefinition = Any
AssetSpec = Any

IO_MANAGER_KEY = "dagster/io_manager_key"


def replaced_specs(assets_def: AssetsDefinition, specs: Iterable[AssetSpec]) -> AssetsDefinition:
    """A copy of `assets_def` computing the same outputs, with these specs (same keys)."""
    new = list(specs)
    if [s.key for s in new] != list(assets_def.keys):
        raise InvalidDefinitionError(
            f"'{assets_def.node.name}': the new specs must keep the keys "
            f"{[k.to_user_string() for k in assets_def.keys]}."
        )
    return _copy(
        assets_def,
        keys_by_output_name=assets_def.keys_by_output_name,
        keys_by_input_name=assets_def.keys_by_input_name,
        specs=new,
        check_specs=assets_def.check_specs,
    )


def _copy(assets_def: AssetsDefinition, **changes: Any) -> AssetsDefinition:
    copy = type(assets_def)(
        node=assets_def.node,
        partitions_def=assets_def.partitions_def,
        can_subset=assets_def.can_subset,
        resource_defs=assets_def.resource_defs,
        io_manager_keys_by_output=assets_def.io_manager_keys_by_output,
        **changes,
    )
    copy.is_observation = assets_def.is_observation
    return copy


def map_specs_of(
    assets_def: AssetsDefinition, fn: Callable[[AssetSpec], AssetSpec]
) -> AssetsDefinition:
    specs = []
    for spec in assets_def.specs:
        mapped = fn(spec)
        if mapped.key != spec.key:
            raise InvalidDefinitionError(
                f"Asset key {spec.key.to_user_string()} was changed to "
                f"{mapped.key.to_user_string()}. A mapping function must not change keys; use "
                "assets_def.with_attributes(asset_key_replacements={…}) to rename assets."
            )
        specs.append(mapped)
    return replaced_specs(assets_def, specs)


def _per_key(value: Any, key: AssetKey) -> Any:
    """`value` for `key`: a mapping is looked up, anything else applies to every key."""
    if isinstance(value, Mapping):
        return value.get(key)
    return value


def with_attributes(
    assets_def: AssetsDefinition,
    *,
    asset_key_replacements: Mapping[AssetKey, AssetKey] | None = None,
    group_names_by_key: Mapping[AssetKey, str] | None = None,
    tags_by_key: Mapping[AssetKey, Mapping[str, str]] | None = None,
    automation_condition: Any = None,
    metadata_by_key: Mapping[Any, Mapping[str, Any]] | None = None,
) -> AssetsDefinition:
    renames = {to_asset_key(k): to_asset_key(v) for k, v in (asset_key_replacements or {}).items()}
    groups = {to_asset_key(k): v for k, v in (group_names_by_key or {}).items()}
    tags = {to_asset_key(k): v for k, v in (tags_by_key or {}).items()}
    metadata = {to_asset_key(k): v for k, v in (metadata_by_key or {}).items()}
    for key, group in groups.items():
        if key not in assets_def.keys:
            raise InvalidDefinitionError(
                f"with_attributes: group_names_by_key names {key.to_user_string()}, which "
                f"'{assets_def.node.name}' does not produce."
            )
        spec_group = assets_def.spec_for(key).group_name
        if spec_group not in (None, "default", group):
            raise InvalidDefinitionError(
                f"with_attributes: asset {key.to_user_string()} already has group "
                f"'{spec_group}'; it cannot be moved to '{group}'."
            )

    def rename(key: AssetKey) -> AssetKey:
        return renames.get(key, key)

    specs = []
    for spec in assets_def.specs:
        changes: dict[str, Any] = {
            "key": rename(spec.key),
            "deps": [type(d)(rename(d.asset_key), d.partition_mapping) for d in spec.deps],
        }
        if spec.key in groups:
            changes["group_name"] = groups[spec.key]
        if spec.key in tags:
            changes["tags"] = {**spec.tags, **tags[spec.key]}
        if spec.key in metadata:
            changes["metadata"] = {**spec.metadata, **metadata[spec.key]}
        condition = _per_key(automation_condition, spec.key)
        if condition is not None:
            changes["automation_condition"] = condition
        specs.append(spec.replace_attributes(**changes))
    checks = [
        type(c)(
            c.name,
            asset=rename(c.asset_key),
            description=c.description,
            blocking=c.blocking,
            additional_deps=c.additional_deps,
            metadata=c.metadata,
        )
        if c.asset_key in renames
        else c
        for c in assets_def.check_specs
    ]
    return _copy(
        assets_def,
        keys_by_output_name={n: rename(k) for n, k in assets_def.keys_by_output_name.items()},
        keys_by_input_name={n: rename(k) for n, k in assets_def.keys_by_input_name.items()},
        specs=specs,
        check_specs=checks,
    )


def internal_deps_of(
    owner: str,
    internal_asset_deps: Mapping[str, set[AssetKey]],
    keys_by_output: Mapping[str, AssetKey],
    shared_deps: tuple[Any, ...],
    make_dep: Callable[[AssetKey], Any],
) -> dict[str, tuple[Any, ...]]:
    """The dependencies of each output of a multi-asset, from `internal_asset_deps`: only the
    keys listed for an output (an input or dep of the multi-asset, or another of its outputs);
    outputs not listed keep all of the multi-asset's dependencies. `make_dep` makes the
    `AssetDep` of a key that is not among the shared ones."""
    by_key = {dep.asset_key: dep for dep in shared_deps}
    allowed = set(by_key) | set(keys_by_output.values())
    result: dict[str, tuple[Any, ...]] = {}
    for output_name, keys in internal_asset_deps.items():
        if output_name not in keys_by_output:
            raise InvalidDefinitionError(
                f"{owner}: internal_asset_deps names '{output_name}', which is not one of its "
                f"outs {sorted(keys_by_output)}."
            )
        wanted = [to_asset_key(k) for k in keys]
        unknown = sorted(k.to_user_string() for k in wanted if k not in allowed)
        if unknown:
            raise InvalidDefinitionError(
                f"{owner}: internal_asset_deps['{output_name}'] names {unknown}, which are "
                "neither inputs or deps of this multi-asset nor produced by it."
            )
        result[output_name] = tuple(by_key.get(k) or make_dep(k) for k in wanted)
    return result
