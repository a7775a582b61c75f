"""Inputs and outputs of ops and assets, as declared by users (`In`, `Out`, `AssetIn`, `AssetOut`).

These are the user-facing declarations. The resolved, per-parameter view that execution uses is
`InputDef` / `OutputDef` in `kubedag.definitions.signature`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key

NO_DEFAULT: Any = type("NoDefault", (), {"__repr__": lambda self: "NO_DEFAULT"})()


@dataclass(frozen=True)
class In:
    """Declares an op input: its type, description, default value and metadata."""

    dagster_type: Any = None
    description: str | None = None
    default_value: Any = NO_DEFAULT
    metadata: Mapping[str, Any] = field(default_factory=dict)
    asset_key: Any = None
    input_manager_key: str | None = None


@dataclass(frozen=True)
class Out:
    """Declares an op output: its type, I/O manager, whether it must be produced, metadata."""

    dagster_type: Any = None
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    code_version: str | None = None


@dataclass(frozen=True)
class AssetIn:
    """Declares which upstream asset feeds a parameter of an asset function."""

    key: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    key_prefix: str | Sequence[str] | None = None
    input_manager_key: str | None = None
    partition_mapping: Any = None
    dagster_type: Any = None

    def resolve_key(self, param_name: str) -> AssetKey:
        if self.key is not None:
            return to_asset_key(self.key)
        key = AssetKey([param_name])
        return key.with_prefix(self.key_prefix) if self.key_prefix else key


@dataclass(frozen=True)
class AssetOut:
    """Declares one asset produced by a `multi_asset` through its `outs=` mapping."""

    key: Any = None
    key_prefix: str | Sequence[str] | None = None
    dagster_type: Any = None
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    group_name: str | None = None
    code_version: str | None = None
    owners: Sequence[str] | None = None
    tags: Mapping[str, str] | None = None
    automation_condition: Any = None
    kinds: set[str] | None = None

    def resolve_key(self, output_name: str) -> AssetKey:
        if self.key is not None:
            return to_asset_key(self.key)
        key = AssetKey([output_name])
        return key.with_prefix(self.key_prefix) if self.key_prefix else key
