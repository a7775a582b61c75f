"""Metadata values in the event log: how `serialization` stores and rebuilds them.

A metadata value (and a table schema, record, column, lineage or code reference inside one) is
stored as a single-key object tagged `__m`, like the other tagged values of `serialization`:
`{"__m": ["IntMetadataValue(value)", 3]}`. The first string names the class and its fields, so
a body written before a field was added still decodes, the new field taking its default; a
class this version does not know is an error that says so.

Values are rebuilt without their `__init__` (what was stored was valid when it was written),
only from a fixed registry of classes: reading an event log never runs code.

Event logs written before metadata values existed hold raw values (`{"rows": 3}`); reading them
turns each into the metadata value it stands for (`stored_metadata`), so old and new events look
the same to callers. A raw value of a type that has no metadata kind (older versions stored
anything) comes back as text: its repr, as those versions stored it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from kubedag.definitions.metadata import code_references, table, values
from kubedag.definitions.metadata.values import (
    InvalidMetadataError,
    MetadataValue,
    TextMetadataValue,
    normalize_value,
)

METADATA_TAG = "__m"

_CLASSES: tuple[type, ...] = (
    *(
        cls
        for cls in vars(values).values()
        if isinstance(cls, type) and issubclass(cls, MetadataValue) and cls is not MetadataValue
    ),
    code_references.CodeReferencesMetadataValue,
    code_references.LocalFileCodeReference,
    code_references.UrlCodeReference,
    table.TableColumnConstraints,
    table.TableConstraints,
    table.TableColumn,
    table.TableSchema,
    table.TableRecord,
    table.TableColumnDep,
    table.TableColumnLineage,
)
_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _CLASSES
}
_LAYOUTS: dict[type, str] = {cls: f"{cls.__name__}({','.join(_FIELDS[cls])})" for cls in _CLASSES}
_set = object.__setattr__


def encode(value: Any) -> dict[str, list[Any]] | None:
    """The stored form of a metadata value (or table part, or code reference); None for any
    other value."""
    layout = _LAYOUTS.get(type(value))
    if layout is None:
        return None
    return {METADATA_TAG: [layout, *(getattr(value, name) for name in _FIELDS[type(value)])]}


_PLAIN: frozenset[type] = frozenset(
    {
        values.IntMetadataValue,
        values.FloatMetadataValue,
        values.BoolMetadataValue,
        values.TextMetadataValue,
    }
)


def compact_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata for a flat materialization row: ints, floats, booleans and texts as the plain
    JSON values they read back as (`stored_metadata`), which parse several times faster than
    tagged objects; every other value tagged."""
    return {
        key: item.value
        if type(item) in _PLAIN and item.value is not None  # type: ignore[attr-defined]
        else item
        for key, item in metadata.items()
    }


def _same(value: Any) -> Any:
    return value


def _defaults(cls: type) -> dict[str, Callable[[], Any]]:
    found: dict[str, Callable[[], Any]] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            found[f.name] = functools.partial(_same, f.default)
        elif f.default_factory is not dataclasses.MISSING:
            found[f.name] = f.default_factory
    return found


_DEFAULTS: dict[type, dict[str, Callable[[], Any]]] = {cls: _defaults(cls) for cls in _CLASSES}


def decode(stored: list[Any], revive: Callable[[Any], Any]) -> Any:
    """A value back from `["Class(field,…)", value, …]`; `revive` rebuilds tagged values in
    the fields."""
    layout = stored[0]
    name, _, rest = layout.partition("(")
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown stored metadata class {name!r}; written by a newer kubedag?")
    names = rest.removesuffix(")").split(",") if rest != ")" else []
    if len(names) != len(stored) - 1:
        raise ValueError(f"Stored {layout} has {len(stored) - 1} values.")
    fields = _FIELDS[cls]
    value: Any = object.__new__(cls)
    given = set()
    for field_name, item in zip(names, stored[1:], strict=True):
        if field_name in fields:
            if item and (type(item) is dict or type(item) is list):
                item = revive(item)
            _set(value, field_name, item)
            given.add(field_name)
    for field_name in fields:
        if field_name not in given:
            default = _DEFAULTS[cls].get(field_name)
            if default is None:
                raise ValueError(f"Stored {name} has no value for {field_name!r}.")
            _set(value, field_name, default())
    return value


def stored_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Stored metadata with every raw value (written by an older kubedag) as the metadata value
    it stands for; metadata of metadata values only is returned as it is."""
    for item in metadata.values():
        if not isinstance(item, MetadataValue):
            break
    else:
        return metadata
    return {key: _stored_value(key, item) for key, item in metadata.items()}


def _stored_value(key: str, item: Any) -> MetadataValue:
    try:
        return normalize_value(key, item)
    except (InvalidMetadataError, TypeError, ValueError):
        return TextMetadataValue(item if isinstance(item, str) else repr(item))


def with_metadata_values(data: Any) -> Any:
    """A rebuilt event payload whose `metadata` holds metadata values only (see
    `stored_metadata`)."""
    metadata = getattr(data, "metadata", None)
    if metadata and type(metadata) is dict:
        normalized = stored_metadata(metadata)
        if normalized is not metadata:
            _set(data, "metadata", normalized)
    return data
