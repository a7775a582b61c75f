"""Tables described as metadata: a schema (columns with types, constraints, tags), records (rows
of scalars) and column lineage (which upstream columns each column is computed from).

These are data, so they are frozen dataclasses with the reference's field names and reprs; the
event log stores and rebuilds them through `kubedag.storage.metadata_codec`. Sequences given as
any iterable are kept as lists, as the reference does, so a schema read back from the event log
equals the one written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key

_SCALARS = (str, int, float, bool, type(None))


def _strings(owner: str, name: str, values: Iterable[Any] | None) -> list[str]:
    items = list(values or [])
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{owner}({name}=…) holds strings; got {item!r}.")
    return items


@dataclass(frozen=True, slots=True, init=False)
class TableColumnConstraints:
    """What a column's values must satisfy: nullable, unique, and free-form `other` rules."""

    nullable: bool = True
    unique: bool = False
    other: list[str] = field(default_factory=list)

    def __init__(
        self, nullable: bool = True, unique: bool = False, other: Sequence[str] | None = None
    ) -> None:
        object.__setattr__(self, "nullable", bool(nullable))
        object.__setattr__(self, "unique", bool(unique))
        object.__setattr__(self, "other", _strings("TableColumnConstraints", "other", other))


@dataclass(frozen=True, slots=True, init=False)
class TableConstraints:
    """Table-wide constraints, as free-form text (`"id is the primary key"`)."""

    other: list[str]

    def __init__(self, other: Sequence[str]) -> None:
        object.__setattr__(self, "other", _strings("TableConstraints", "other", other))


@dataclass(frozen=True, slots=True, init=False)
class TableColumn:
    """One column of a table: its name, type (free text, `"string"` unless given), description,
    constraints and tags."""

    name: str
    type: str = "string"
    description: str | None = None
    constraints: TableColumnConstraints = field(default_factory=TableColumnConstraints)
    tags: dict[str, str] = field(default_factory=dict)

    def __init__(
        self,
        name: str,
        type: str = "string",
        description: str | None = None,
        constraints: TableColumnConstraints | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"TableColumn(name=…) must be a str; got {name!r}.")
        if not isinstance(type, str):
            raise TypeError(
                f"TableColumn '{name}': type=… must be a str such as 'int' or 'string'; "
                f"got {type!r}."
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "constraints", constraints or TableColumnConstraints())
        object.__setattr__(self, "tags", dict(tags or {}))


@dataclass(frozen=True, slots=True, init=False)
class TableSchema:
    """The columns of a table, and its table-wide constraints."""

    columns: list[TableColumn]
    constraints: TableConstraints = field(default_factory=lambda: TableConstraints([]))

    def __init__(
        self, columns: Sequence[TableColumn], constraints: TableConstraints | None = None
    ) -> None:
        cols = list(columns)
        for column in cols:
            if not isinstance(column, TableColumn):
                raise TypeError(f"TableSchema(columns=…) holds dg.TableColumn; got {column!r}.")
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "constraints", constraints or TableConstraints([]))

    @staticmethod
    def from_name_type_dict(name_type_dict: Mapping[str, str]) -> TableSchema:
        """A schema of plain columns, from `{"name": "type", …}`."""
        return TableSchema([TableColumn(name, type_) for name, type_ in name_type_dict.items()])


@dataclass(frozen=True, slots=True, init=False)
class TableRecord:
    """One row of a table: column name -> a str, int, float, bool or None."""

    data: dict[str, str | int | float | bool | None]

    def __init__(self, data: Mapping[str, str | int | float | bool | None]) -> None:
        row = dict(data)
        for key, value in row.items():
            if not isinstance(value, _SCALARS):
                raise TypeError(
                    f"TableRecord: column '{key}' holds {value!r}; a record's values are str, "
                    "int, float, bool or None."
                )
        object.__setattr__(self, "data", row)


@dataclass(frozen=True, slots=True, init=False)
class TableColumnDep:
    """One upstream column: an asset and a column of it."""

    asset_key: AssetKey
    column_name: str

    def __init__(self, asset_key: Any, column_name: str) -> None:
        object.__setattr__(self, "asset_key", to_asset_key(asset_key))
        object.__setattr__(self, "column_name", column_name)


@dataclass(frozen=True, slots=True, init=False)
class TableColumnLineage:
    """For each column of a table, the upstream columns it is computed from."""

    deps_by_column: dict[str, list[TableColumnDep]]

    def __init__(self, deps_by_column: Mapping[str, Sequence[TableColumnDep]]) -> None:
        lineage: dict[str, list[TableColumnDep]] = {}
        for column, deps in deps_by_column.items():
            listed = list(deps)
            if len(set(listed)) != len(listed):
                raise ValueError(
                    f"TableColumnLineage: column '{column}' lists the same dependency twice."
                )
            # Sorted by asset then column, as the reference orders them.
            lineage[column] = sorted(listed, key=lambda d: (d.asset_key.path, d.column_name))
        object.__setattr__(self, "deps_by_column", lineage)
