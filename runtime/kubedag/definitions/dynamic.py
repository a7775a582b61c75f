"""Dynamic outputs: an op decides at run time how many values it produces, and the ops mapped
over them run once per value.

    @op(out=DynamicOut())
    def files():
        for name in listdir(...):
            yield DynamicOutput(path(name), mapping_key=name.replace(".", "_"))

    @job
    def process():
        sizes = files().map(size)          # one `size[<mapping key>]` step per file
        total(sizes.collect())             # one step, given the list of every size

While a body is composed, calling an op with a `DynamicOut` returns a `DynamicOutputHandle`.
It cannot feed an input as is: `.map(fn)` calls `fn` with a `MappedOutputHandle` standing for
one of its values (every op called with it is mapped too, and so are their outputs, which can be
mapped again), and `.collect()` gives a `CollectedOutputHandle`, which feeds one input with the
list of all values. Mapping over a dynamic output inside another mapping (nesting) is refused.

How the mapped steps are created once the values exist is `kubedag.definitions.dynamic_steps`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import GenericAlias
from typing import Any

from kubedag.definitions.composition_handles import NodeOutputHandle
from kubedag.definitions.io_specs import Out
from kubedag.errors import InvalidDefinitionError

MAPPING_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class DynamicOut(Out):
    """Declares an output that yields any number of `DynamicOutput`s, each with its own
    mapping key."""

    @property
    def is_dynamic(self) -> bool:
        return True


def check_mapping_key(mapping_key: Any) -> str:
    if not isinstance(mapping_key, str):
        raise InvalidDefinitionError(
            f"DynamicOutput: mapping_key must be a str; got {mapping_key!r}, which is type "
            f"{type(mapping_key).__name__}."
        )
    if not MAPPING_KEY_PATTERN.match(mapping_key):
        raise InvalidDefinitionError(
            f'"{mapping_key}" is not a valid mapping key. Mapping keys must be in regex '
            f"{MAPPING_KEY_PATTERN.pattern} (letters, digits and '_'): they become part of step "
            "keys such as op[mapping_key]."
        )
    return mapping_key


class DynamicOutput:
    """One value of a dynamic output, told apart from the others by its `mapping_key`."""

    __slots__ = ("mapping_key", "metadata", "output_name", "value")

    def __init__(
        self,
        value: Any,
        mapping_key: str,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.value = value
        self.mapping_key = check_mapping_key(mapping_key)
        self.output_name = output_name or "result"
        self.metadata = dict(metadata or {})

    def __class_getitem__(cls, item: Any) -> GenericAlias:  # `-> Iterator[DynamicOutput[int]]`
        return GenericAlias(cls, item)

    def __repr__(self) -> str:
        return f"DynamicOutput(mapping_key={self.mapping_key!r}, output_name={self.output_name!r})"


# -- composition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DynamicOutputHandle(NodeOutputHandle):
    """A dynamic output of a node being composed: `.map(fn)` or `.collect()` it."""

    def map(self, fn: Callable[[Any], Any]) -> Any:
        return fn(
            MappedOutputHandle(self.node_name, self.output_name, self.node_name, self.output_name)
        )

    def collect(self) -> CollectedOutputHandle:
        return CollectedOutputHandle(self.node_name, self.output_name)


@dataclass(frozen=True)
class MappedOutputHandle(NodeOutputHandle):
    """One value of dynamic output (`source_node`, `source_output`), or an output of a node
    mapped over it: one per mapping key at run time."""

    source_node: str = ""
    source_output: str = ""

    def map(self, fn: Callable[[Any], Any]) -> Any:
        return fn(self)

    def collect(self) -> CollectedOutputHandle:
        return CollectedOutputHandle(self.node_name, self.output_name)

    @property
    def is_item(self) -> bool:
        """The value of the dynamic output itself (not an output of a mapped node)."""
        return (self.node_name, self.output_name) == (self.source_node, self.source_output)


@dataclass(frozen=True)
class CollectedOutputHandle(NodeOutputHandle):
    """Every value of a mapped output (or of a dynamic output), as one list."""


def output_handles(
    owner: str,
    definition: Any,
    node_name: str,
    output_names: tuple[str, ...],
    bindings: Mapping[str, Any],
) -> list[NodeOutputHandle]:
    """The handles a node call returns: mapped when an input is mapped, dynamic for its
    dynamic outputs, plain otherwise. Refuses a dynamic output fed to an input as is."""
    sources: set[tuple[str, str]] = set()
    for input_name, binding in bindings.items():
        for single in binding if isinstance(binding, tuple) else (binding,):
            if isinstance(single, DynamicOutputHandle):
                raise InvalidDefinitionError(
                    f"In {owner}, received the dynamic output {single.output_name} from op "
                    f"'{single.node_name}' directly (input '{input_name}' of '{node_name}'). "
                    "Dynamic output must be unpacked by invoking map or collect."
                )
            if isinstance(single, MappedOutputHandle):
                if isinstance(binding, tuple):
                    raise InvalidDefinitionError(
                        f"{owner}: input '{input_name}' of '{node_name}' fans in a mapped "
                        "output; use .collect() to gather the mapped values into a list."
                    )
                sources.add((single.source_node, single.source_output))
    if len(sources) > 1:
        raise InvalidDefinitionError(
            f"{owner}: '{node_name}' is mapped over several dynamic outputs "
            f"({', '.join(f'{n}.{o}' for n, o in sorted(sources))}); a node can be mapped over "
            "one only."
        )
    dynamic = set(dynamic_output_names(definition))
    if sources:
        if dynamic:
            raise InvalidDefinitionError(
                f"{owner}: '{node_name}' has a dynamic output and is mapped over another "
                "dynamic output; dynamic outputs cannot be nested."
            )
        source_node, source_output = next(iter(sources))
        return [MappedOutputHandle(node_name, o, source_node, source_output) for o in output_names]
    return [
        DynamicOutputHandle(node_name, o) if o in dynamic else NodeOutputHandle(node_name, o)
        for o in output_names
    ]


def dynamic_output_names(definition: Any) -> list[str]:
    return [
        o.name for o in getattr(definition, "output_defs", ()) if getattr(o, "is_dynamic", False)
    ]
