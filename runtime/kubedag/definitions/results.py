"""What user code returns or yields from a step, and what kubedag records about it.

`Output`, `MaterializeResult` and `AssetCheckResult` are what a function gives back;
`AssetMaterialization` and `AssetCheckEvaluation` are the facts recorded in the event log; like
the events that carry them they are slotted frozen dataclasses, cheap to rebuild in bulk from the
event log (see `kubedag.records.events`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import GenericAlias
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.definitions.metadata import normalized as normalize_metadata


def _metadata(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value else {}


class Output:
    """A value produced by an op or asset, with optional metadata and an output name."""

    __slots__ = ("data_version", "metadata", "output_name", "value")

    def __init__(
        self,
        value: Any = None,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
        data_version: str | None = None,
    ) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata = normalize_metadata(metadata)
        self.data_version = data_version

    def __repr__(self) -> str:
        return f"Output(output_name={self.output_name!r}, metadata={self.metadata!r})"

    def __class_getitem__(cls, item: Any) -> GenericAlias:  # `-> dg.Output[int]`
        return GenericAlias(cls, item)


class AssetCheckSeverity(Enum):
    WARN = "WARN"
    ERROR = "ERROR"


class AssetCheckResult:
    """The outcome of one asset check."""

    __slots__ = ("asset_key", "check_name", "description", "metadata", "passed", "severity")

    def __init__(
        self,
        *,
        passed: bool,
        check_name: str | None = None,
        asset_key: Any = None,
        metadata: Mapping[str, Any] | None = None,
        severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
        description: str | None = None,
    ) -> None:
        if not isinstance(passed, bool):
            raise TypeError(
                f"AssetCheckResult(passed=…) must be a bool; got {type(passed).__name__}. "
                "Wrap numpy or pandas booleans in bool(…)."
            )
        self.passed = passed
        self.check_name = check_name
        self.asset_key = to_asset_key(asset_key) if asset_key is not None else None
        self.metadata = normalize_metadata(metadata)
        self.severity = severity
        self.description = description

    def __repr__(self) -> str:
        return (
            f"AssetCheckResult(passed={self.passed}, check_name={self.check_name!r}, "
            f"asset_key={self.asset_key!r})"
        )


class MaterializeResult:
    """Reports that an asset was materialized by the function itself (no I/O manager involved,
    unless `value` is given)."""

    __slots__ = ("asset_key", "check_results", "data_version", "metadata", "tags", "value")

    _NO_VALUE: Any = object()

    def __init__(
        self,
        *,
        asset_key: Any = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: list[AssetCheckResult] | None = None,
        data_version: str | None = None,
        tags: Mapping[str, str] | None = None,
        value: Any = _NO_VALUE,
    ) -> None:
        self.asset_key = to_asset_key(asset_key) if asset_key is not None else None
        self.metadata = _metadata(metadata)
        self.check_results = list(check_results or [])
        self.data_version = data_version
        self.tags = dict(tags or {})
        self.value = value

    @property
    def has_value(self) -> bool:
        return self.value is not MaterializeResult._NO_VALUE

    def __repr__(self) -> str:
        return f"MaterializeResult(asset_key={self.asset_key!r}, metadata={self.metadata!r})"


@dataclass(frozen=True, slots=True)
class AssetMaterialization:
    """The recorded fact that a new version of an asset (or one of its partitions) exists."""

    asset_key: AssetKey
    metadata: dict[str, Any] = field(default_factory=dict)
    partition: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.asset_key, AssetKey):
            object.__setattr__(self, "asset_key", to_asset_key(self.asset_key))
        object.__setattr__(self, "metadata", normalize_metadata(self.metadata))

    @staticmethod
    def of(
        asset_key: Any,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        description: str | None = None,
    ) -> AssetMaterialization:
        return AssetMaterialization(
            to_asset_key(asset_key), _metadata(metadata), partition, description
        )


@dataclass(frozen=True, slots=True)
class AssetCheckEvaluation:
    """The recorded outcome of an asset check in a run."""

    asset_key: AssetKey
    check_name: str
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    blocking: bool = False
    description: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", normalize_metadata(self.metadata))
