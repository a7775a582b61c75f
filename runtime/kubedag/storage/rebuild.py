"""Rebuilding stored frozen dataclasses without running their `__init__`, at the speed of plain
attribute stores.

Why: reading the latest materialization of 10,000 assets builds 40,000 objects, and how each
field gets set decides the cost. A frozen dataclass refuses `obj.field = value`; its own
`__init__` goes through `object.__setattr__` once per field, and so do a slot's descriptor and
`setattr`: each such call costs several times a plain store. A per-instance `__dict__` would make
stores cheap but doubles the objects the garbage collector then walks.

How: the stored classes are declared `@dataclass(frozen=True, slots=True)`. Each gets a
*building twin*, a plain class with the very same `__slots__` and no `__setattr__`: an object is
made as a twin, filled with ordinary stores (which CPython compiles to direct slot writes), and
then given its real class by assigning `__class__`, which CPython allows exactly when the two
layouts are identical and checks on every assignment. The object is frozen from then on, like
any other instance, and equal to one built by `__init__` with the same values.

Per stored layout (`"Class(field,…)"`, see `serialization`), `compile_builder` writes a small
function that picks each field's value from its position, so that no loop over a field list runs
per object. Its source is made only from the class's own field names and integer positions,
never from stored text: reading an event log still cannot run code.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

Builder = Callable[[list[Any]], Any]


@functools.cache
def building_twin(cls: type) -> type:
    """A mutable class with `cls`'s slots, whose instances may become `cls` by `__class__`
    assignment. Fails at import time, naming the fix, if `cls` is not a slotted dataclass
    derived from `object` alone (then the layouts would differ)."""
    slots = cls.__dict__.get("__slots__")
    if not dataclasses.is_dataclass(cls) or slots is None or cls.__bases__ != (object,):
        raise TypeError(
            f"{cls.__name__} is stored in the event log and must be declared with "
            "@dataclass(frozen=True, slots=True), deriving from object only, so that reads can "
            "rebuild it cheaply."
        )
    twin = type(f"_Building{cls.__name__}", (), {"__slots__": tuple(slots), "__module__": __name__})
    probe: Any = object.__new__(twin)
    probe.__class__ = cls  # raises TypeError now, not during a read, if the layouts differ
    return twin


def compile_builder(
    cls: type,
    length: int,
    positions: Sequence[tuple[int, str]],
    tuple_fields: frozenset[str],
    missing: Sequence[tuple[str, Callable[[], Any]]],
    revive: Callable[[Any], Any],
) -> Builder:
    """A function turning a stored array `[layout, value, …]` of `length` items into a `cls`:
    `positions` says where each stored field sits (1-based after the layout string), fields in
    `tuple_fields` come back as tuples (JSON has only lists), `missing` fields take their
    defaults. Containers are passed through `revive` (tagged values inside); scalars and empty
    containers are stored as they are."""
    names = [name for _, name in positions] + [name for name, _ in missing]
    slots = cls.__dict__.get("__slots__", ())
    unknown = [name for name in names if name not in slots or not name.isidentifier()]
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {unknown}.")
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_Twin": building_twin(cls),
        "_cls": cls,
        "_revive": revive,
    }
    lines = [
        "def build(stored):",
        f"    if len(stored) != {int(length)}:",
        '        raise ValueError(f"Stored {stored[0]} has {len(stored) - 1} values.")',
        "    value = _new(_Twin)",
    ]
    for index, name in positions:
        lines.append(f"    item = stored[{int(index)}]")
        if name in tuple_fields:
            lines.append("    if type(item) is list:")
            lines.append("        item = tuple(_revive(item) if item else item)")
        else:
            lines.append("    if item and (type(item) is dict or type(item) is list):")
            lines.append("        item = _revive(item)")
        lines.append(f"    value.{name} = item")
    for number, (name, default) in enumerate(missing):
        namespace[f"_default_{number}"] = default
        lines.append(f"    value.{name} = _default_{number}()")
    lines += ["    value.__class__ = _cls", "    return value"]
    exec("\n".join(lines), namespace)  # source made of field names and integers only
    builder: Builder = namespace["build"]
    return builder
