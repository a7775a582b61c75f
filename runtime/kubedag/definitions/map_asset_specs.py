"""`dg.map_asset_specs(fn, iterable)`: one function applied to the specs of external assets
and of assets definitions alike (see `asset_attributes.py` for what may change)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kubedag.definitions.assets import AssetsDefinition, AssetSpec
from kubedag.errors import InvalidDefinitionError


def map_asset_specs(func: Callable[[AssetSpec], AssetSpec], iterable: Iterable[Any]) -> list[Any]:
    """`func` applied to every spec of `iterable`: to each `AssetSpec`, and to the specs of each
    `AssetsDefinition` (which keeps its keys). Anything else is an error."""
    mapped: list[Any] = []
    for item in iterable:
        if isinstance(item, AssetSpec):
            mapped.append(func(item))
        elif isinstance(item, AssetsDefinition):
            mapped.append(item.map_asset_specs(func))
        else:
            raise InvalidDefinitionError(
                f"map_asset_specs: {item!r} is neither a dg.AssetSpec nor an assets definition."
            )
    return mapped
