"""Metadata values: the typed values of `metadata={...}` on assets, outputs and events.

A value says what it is, so that it can be shown as what it is: a number, a link, a path, a
Markdown text, a table, another asset. `MetadataValue.url("https://…")` and the other static
constructors build them; raw Python values are turned into them by `normalize_metadata`, as the
reference does, when an event records them: an `int` becomes an `IntMetadataValue`, a `str` a
`TextMetadataValue`, a `dict` or `list` a `JsonMetadataValue`, an `AssetKey` a
`DagsterAssetMetadataValue`, a `TableSchema` a `TableSchemaMetadataValue`, `None` a
`NullMetadataValue`, an `os.PathLike` a `PathMetadataValue`. Any other type is an
`InvalidMetadataError` that names the key and the type. Every value has `.value`, the plain
value behind it.

Each value class is a small frozen dataclass (equality and hashing by value, the reference's
field names and reprs); the event log stores them by class and field names
(`kubedag.storage.metadata_codec`).
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.metadata.table import (
    TableColumn,
    TableColumnLineage,
    TableRecord,
    TableSchema,
)
from kubedag.errors import KubedagError


class InvalidMetadataError(KubedagError):
    """A metadata value has a type that no kind of metadata value stands for."""


def _require(owner: str, name: str, value: Any, types: type | tuple[type, ...]) -> None:
    if not isinstance(value, types):
        kinds = types if isinstance(types, tuple) else (types,)
        wanted = " or ".join(t.__name__ for t in kinds)
        raise TypeError(f"{owner}({name}=…) must be a {wanted}; got {value!r}.")


class MetadataValue:
    """Base of every metadata value; its static methods build each kind."""

    __slots__ = ()

    @property
    def value(self) -> Any:
        """The plain value behind this metadata value."""
        raise NotImplementedError

    def __init__(self) -> None:  # every kind has an __init__ of its own
        raise TypeError(
            "MetadataValue is abstract: build a value with MetadataValue.int(…), .text(…), "
            ".url(…) and the like."
        )

    # -- the reference's constructors -------------------------------------------------------
    @staticmethod
    def text(text: str) -> TextMetadataValue:
        return TextMetadataValue(text)

    @staticmethod
    def url(url: str) -> UrlMetadataValue:
        return UrlMetadataValue(url)

    @staticmethod
    def path(path: str | os.PathLike[str]) -> PathMetadataValue:
        return PathMetadataValue(path)

    @staticmethod
    def notebook(path: str | os.PathLike[str]) -> NotebookMetadataValue:
        return NotebookMetadataValue(path)

    @staticmethod
    def json(data: Sequence[Any] | Mapping[str, Any]) -> JsonMetadataValue:
        return JsonMetadataValue(data)

    @staticmethod
    def md(data: str) -> MarkdownMetadataValue:
        return MarkdownMetadataValue(data)

    @staticmethod
    def python_artifact(python_artifact: Callable[..., Any]) -> PythonArtifactMetadataValue:
        return PythonArtifactMetadataValue(python_artifact.__module__, python_artifact.__name__)

    @staticmethod
    def float(value: builtins.float) -> FloatMetadataValue:
        return FloatMetadataValue(value)

    @staticmethod
    def int(value: builtins.int) -> IntMetadataValue:
        return IntMetadataValue(value)

    @staticmethod
    def bool(value: builtins.bool) -> BoolMetadataValue:
        return BoolMetadataValue(value)

    @staticmethod
    def timestamp(value: builtins.float | datetime) -> TimestampMetadataValue:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(
                    f"MetadataValue.timestamp({value.isoformat()}): a datetime needs a time "
                    "zone (e.g. datetime(…, tzinfo=timezone.utc)); a naive one is ambiguous."
                )
            return TimestampMetadataValue(value.timestamp())
        return TimestampMetadataValue(value)

    @staticmethod
    def dagster_run(run_id: str) -> DagsterRunMetadataValue:
        return DagsterRunMetadataValue(run_id)

    @staticmethod
    def asset(asset_key: AssetKey) -> DagsterAssetMetadataValue:
        return DagsterAssetMetadataValue(asset_key)

    @staticmethod
    def job(
        job_name: str, location_name: str, *, repository_name: str | None = None
    ) -> DagsterJobMetadataValue:
        return DagsterJobMetadataValue(job_name, location_name, repository_name)

    @staticmethod
    def table(
        records: Sequence[TableRecord], schema: TableSchema | None = None
    ) -> TableMetadataValue:
        return TableMetadataValue(records, schema)

    @staticmethod
    def table_schema(schema: TableSchema) -> TableSchemaMetadataValue:
        return TableSchemaMetadataValue(schema)

    @staticmethod
    def column_lineage(lineage: TableColumnLineage) -> TableColumnLineageMetadataValue:
        return TableColumnLineageMetadataValue(lineage)

    @staticmethod
    def null() -> NullMetadataValue:
        return NullMetadataValue()

    @staticmethod
    def pool(pool: str) -> PoolMetadataValue:
        return PoolMetadataValue(pool)


# -- scalars ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TextMetadataValue(MetadataValue):
    text: str  # type: ignore[assignment]  # the field shadows the constructor, as in the reference

    def __post_init__(self) -> None:
        _require("TextMetadataValue", "text", self.text, str)

    @property
    def value(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class UrlMetadataValue(MetadataValue):
    url: str  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _require("UrlMetadataValue", "url", self.url, str)

    @property
    def value(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True, init=False)
class PathMetadataValue(MetadataValue):
    fspath: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "fspath", os.fspath(path))

    @property
    def value(self) -> str:
        return self.fspath


@dataclass(frozen=True, slots=True, init=False)
class NotebookMetadataValue(MetadataValue):
    fspath: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "fspath", os.fspath(path))

    @property
    def value(self) -> str:
        return self.fspath


@dataclass(frozen=True, slots=True)
class JsonMetadataValue(MetadataValue):
    data: Any

    def __post_init__(self) -> None:
        if self.data is not None and not isinstance(self.data, Mapping | Sequence):
            raise TypeError(
                f"JsonMetadataValue(data=…) must be a dict or a list; got {self.data!r}."
            )
        try:
            json.dumps(self.data)
        except (TypeError, ValueError) as exc:
            raise InvalidMetadataError(
                f"JsonMetadataValue: the data is not JSON serializable ({exc}); give only "
                "dicts, lists, strings, numbers, booleans and None."
            ) from None

    def __hash__(self) -> builtins.int:
        return hash(json.dumps(self.data, sort_keys=True))

    @property
    def value(self) -> Any:
        return self.data


@dataclass(frozen=True, slots=True)
class MarkdownMetadataValue(MetadataValue):
    md_str: str

    def __post_init__(self) -> None:
        _require("MarkdownMetadataValue", "md_str", self.md_str, str)

    @property
    def value(self) -> str:
        return self.md_str


@dataclass(frozen=True, slots=True)
class PythonArtifactMetadataValue(MetadataValue):
    module: str
    name: str

    @property
    def value(self) -> PythonArtifactMetadataValue:
        return self


@dataclass(frozen=True, slots=True)
class FloatMetadataValue(MetadataValue):
    value: float | None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.value is not None:
            _require("FloatMetadataValue", "value", self.value, float)


@dataclass(frozen=True, slots=True)
class IntMetadataValue(MetadataValue):
    value: int | None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.value is not None:
            _require("IntMetadataValue", "value", self.value, int)


@dataclass(frozen=True, slots=True)
class BoolMetadataValue(MetadataValue):
    value: bool | None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.value is not None:
            _require("BoolMetadataValue", "value", self.value, bool)


@dataclass(frozen=True, slots=True)
class TimestampMetadataValue(MetadataValue):
    """A point in time, as seconds since the Unix epoch."""

    value: float  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _require("TimestampMetadataValue", "value", self.value, float)


@dataclass(frozen=True, slots=True)
class NullMetadataValue(MetadataValue):
    @property
    def value(self) -> None:
        return None


# -- references to other things kubedag knows ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class DagsterRunMetadataValue(MetadataValue):
    run_id: str

    def __post_init__(self) -> None:
        _require("DagsterRunMetadataValue", "run_id", self.run_id, str)

    @property
    def value(self) -> str:
        return self.run_id


@dataclass(frozen=True, slots=True)
class DagsterAssetMetadataValue(MetadataValue):
    asset_key: AssetKey

    def __post_init__(self) -> None:
        _require("DagsterAssetMetadataValue", "asset_key", self.asset_key, AssetKey)

    @property
    def value(self) -> AssetKey:
        return self.asset_key


@dataclass(frozen=True, slots=True)
class DagsterJobMetadataValue(MetadataValue):
    job_name: str
    location_name: str
    repository_name: str | None = None

    @property
    def value(self) -> DagsterJobMetadataValue:
        return self


@dataclass(frozen=True, slots=True, init=False)
class PoolMetadataValue(MetadataValue):
    """A concurrency pool, by name."""

    name: str

    def __init__(self, pool: str) -> None:
        _require("PoolMetadataValue", "pool", pool, str)
        object.__setattr__(self, "name", pool)

    @property
    def value(self) -> str:
        return self.name


# -- tables -------------------------------------------------------------------------------------
def infer_column_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, builtins.int):
        return "int"
    if isinstance(value, builtins.float):
        return "float"
    return "string"


@dataclass(frozen=True, slots=True, init=False)
class TableMetadataValue(MetadataValue):
    """Rows of a table, with their schema (inferred from the first row when not given)."""

    records: list[TableRecord]
    schema: TableSchema

    def __init__(self, records: Sequence[TableRecord], schema: TableSchema | None = None) -> None:
        rows = list(records)
        for row in rows:
            _require("TableMetadataValue", "records", row, TableRecord)
        if schema is None:
            if not rows:
                raise ValueError(
                    "MetadataValue.table([]): an empty table needs schema=dg.TableSchema(…); "
                    "with no rows there is nothing to infer the columns from."
                )
            schema = TableSchema(
                [TableColumn(name, infer_column_type(v)) for name, v in rows[0].data.items()]
            )
        object.__setattr__(self, "records", rows)
        object.__setattr__(self, "schema", schema)

    @staticmethod
    def infer_column_type(value: Any) -> str:
        return infer_column_type(value)

    @property
    def value(self) -> TableMetadataValue:
        return self


@dataclass(frozen=True, slots=True)
class TableSchemaMetadataValue(MetadataValue):
    schema: TableSchema

    def __post_init__(self) -> None:
        _require("TableSchemaMetadataValue", "schema", self.schema, TableSchema)

    @property
    def value(self) -> TableSchema:
        return self.schema


@dataclass(frozen=True, slots=True, init=False)
class TableColumnLineageMetadataValue(MetadataValue):
    lineage: TableColumnLineage

    def __init__(self, column_lineage: TableColumnLineage) -> None:
        _require(
            "TableColumnLineageMetadataValue", "column_lineage", column_lineage, TableColumnLineage
        )
        object.__setattr__(self, "lineage", column_lineage)

    @property
    def value(self) -> TableColumnLineage:
        return self.lineage


# -- normalizing raw values ---------------------------------------------------------------------
def normalize_value(key: str, value: Any) -> MetadataValue:
    """The metadata value standing for `value` (see the module docstring)."""
    if isinstance(value, MetadataValue):
        return value
    kind = type(value)
    if kind is str:
        return TextMetadataValue(value)
    if kind is builtins.bool:
        return BoolMetadataValue(value)
    if kind is builtins.int:
        return IntMetadataValue(value)
    if kind is builtins.float:
        return FloatMetadataValue(value)
    if value is None:
        return NullMetadataValue()
    if isinstance(value, dict | list):
        return JsonMetadataValue(value)
    if isinstance(value, AssetKey):
        return DagsterAssetMetadataValue(value)
    if isinstance(value, TableSchema):
        return TableSchemaMetadataValue(value)
    if isinstance(value, TableColumnLineage):
        return TableColumnLineageMetadataValue(value)
    if isinstance(value, os.PathLike):
        return PathMetadataValue(value)
    if isinstance(value, str):
        return TextMetadataValue(str(value))
    if isinstance(value, builtins.bool):
        return BoolMetadataValue(builtins.bool(value))
    if isinstance(value, builtins.int):
        return IntMetadataValue(builtins.int(value))
    if isinstance(value, builtins.float):
        return FloatMetadataValue(builtins.float(value))
    raise InvalidMetadataError(
        f"Could not resolve the metadata value for {key!r} to a known type: its type is "
        f"{type(value).__name__}. Wrap it in the MetadataValue kind that fits (e.g. "
        f"dg.MetadataValue.text(str(value))), or pass a str, int, float, bool, dict, list, "
        "None, AssetKey, TableSchema or path."
    )


def normalize_metadata(metadata: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    """`metadata` with every raw value turned into the metadata value it stands for."""
    if not metadata:
        return {}
    normalized: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise InvalidMetadataError(f"Metadata keys are strings; got {key!r}.")
        normalized[key] = value if isinstance(value, MetadataValue) else normalize_value(key, value)
    return normalized


class MetadataEntry:
    """The reference's older form of one metadata item: a label and a value (normalized)."""

    __slots__ = ("description", "entry_data", "label")

    def __init__(
        self,
        label: str,
        description: str | None = None,
        entry_data: Any = None,
        value: Any = None,
    ) -> None:
        self.label = label
        self.description = description
        self.entry_data = normalize_value(label, value if value is not None else entry_data)

    @property
    def value(self) -> MetadataValue:
        return self.entry_data

    def __eq__(self, other: object) -> builtins.bool:
        return isinstance(other, MetadataEntry) and (
            self.label,
            self.description,
            self.entry_data,
        ) == (other.label, other.description, other.entry_data)

    def __hash__(self) -> builtins.int:
        return hash((self.label, self.description, self.entry_data))

    def __repr__(self) -> str:
        return (
            f"MetadataEntry(label={self.label!r}, description={self.description!r}, "
            f"entry_data={self.entry_data!r})"
        )
