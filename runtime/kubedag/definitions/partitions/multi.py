"""Multi-dimensional partitions: the cross product of two definitions (date by region).

A key joins one key per dimension with "|", dimensions ordered by name, so the key of
`{"region": "us", "date": "2024-01-01"}` is "2024-01-01|us" whatever order they were given in.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from kubedag.definitions.partitions.base import (
    PartitionKeyRange,
    PartitionsDefinition,
    UnknownPartitionError,
)
from kubedag.errors import InvalidDefinitionError

MULTIPARTITION_KEY_DELIMITER = "|"
_RESERVED_CHARACTERS = {"|", ",", "[", "]"}


class PartitionDimensionKey(NamedTuple):
    dimension_name: str
    partition_key: str


class PartitionDimensionDefinition(NamedTuple):
    name: str
    partitions_def: PartitionsDefinition


class MultiPartitionKey(str):
    """A key of a multi-dimensional partition: `"2024-01-01|us"`, with its parts by dimension."""

    dimension_keys: list[PartitionDimensionKey]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        parts = [
            PartitionDimensionKey(name, keys_by_dimension[name])
            for name in sorted(keys_by_dimension)
        ]
        obj = super().__new__(
            cls, MULTIPARTITION_KEY_DELIMITER.join(p.partition_key for p in parts)
        )
        obj.dimension_keys = parts
        return obj

    def __getnewargs__(self) -> tuple[dict[str, str]]:  # type: ignore[override]
        return (self.keys_by_dimension,)

    @property
    def keys_by_dimension(self) -> dict[str, str]:
        return {part.dimension_name: part.partition_key for part in self.dimension_keys}


class MultiPartitionsDefinition(PartitionsDefinition):
    """The cross product of two partitions definitions, keyed by dimension name."""

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if len(partitions_defs) != 2:
            raise InvalidDefinitionError(
                f"MultiPartitionsDefinition takes exactly two dimensions, got "
                f"{len(partitions_defs)} ({', '.join(partitions_defs) or 'none'})."
            )
        from kubedag.definitions.partitions.static import StaticPartitionsDefinition

        for name, partitions_def in partitions_defs.items():
            if isinstance(partitions_def, MultiPartitionsDefinition) or not isinstance(
                partitions_def, PartitionsDefinition
            ):
                raise InvalidDefinitionError(
                    f"MultiPartitionsDefinition dimension {name!r}: expected a static, "
                    f"time-window or dynamic partitions definition, got {partitions_def!r}."
                )
            if isinstance(partitions_def, StaticPartitionsDefinition):
                for key in partitions_def.get_partition_keys():
                    if _RESERVED_CHARACTERS & set(key):
                        raise InvalidDefinitionError(
                            f"MultiPartitionsDefinition dimension {name!r}: key {key!r} contains "
                            "one of | , [ ] which multi-partition keys reserve; rename it."
                        )
        self._dimensions = [
            PartitionDimensionDefinition(name, partitions_defs[name])
            for name in sorted(partitions_defs)
        ]

    @property
    def partitions_defs(self) -> Sequence[PartitionDimensionDefinition]:
        return list(self._dimensions)

    @property
    def partition_dimension_names(self) -> list[str]:
        return [dim.name for dim in self._dimensions]

    def get_partitions_def_for_dimension(self, dimension_name: str) -> PartitionsDefinition:
        for dim in self._dimensions:
            if dim.name == dimension_name:
                return dim.partitions_def
        raise InvalidDefinitionError(
            f"MultiPartitionsDefinition has no dimension {dimension_name!r}; its dimensions are "
            f"{', '.join(self.partition_dimension_names)}."
        )

    def get_partition_key_from_str(self, partition_key_str: str) -> MultiPartitionKey:
        parts = partition_key_str.split(MULTIPARTITION_KEY_DELIMITER)
        if len(parts) != len(self._dimensions):
            raise UnknownPartitionError(
                f"partition {partition_key_str!r}: a key of this multi-partitions definition has "
                f"one part per dimension ({' | '.join(self.partition_dimension_names)}), for "
                "example '2024-01-01|us'."
            )
        return MultiPartitionKey(
            {dim.name: part for dim, part in zip(self._dimensions, parts, strict=True)}
        )

    # The key object a context hands to user code (`context.partition_key.keys_by_dimension`).
    key_object = get_partition_key_from_str

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        (name_a, def_a), (name_b, def_b) = self._dimensions
        keys_a = def_a.get_partition_keys(current_time, dynamic_partitions_store)
        keys_b = def_b.get_partition_keys(current_time, dynamic_partitions_store)
        return [
            MultiPartitionKey({name_a: a, name_b: b}) for a, b in itertools.product(keys_a, keys_b)
        ]

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> bool:
        try:
            key = self.get_partition_key_from_str(str(partition_key))
        except UnknownPartitionError:
            return False
        return all(
            dim.partitions_def.has_partition_key(
                key.keys_by_dimension[dim.name], current_time, dynamic_partitions_store
            )
            for dim in self._dimensions
        )

    def get_partition_keys_in_range(
        self, partition_key_range: PartitionKeyRange, dynamic_partitions_store: Any = None
    ) -> list[str]:
        """Every key whose part in each dimension lies in that dimension's sub-range."""
        start = self.get_partition_key_from_str(partition_key_range.start)
        end = self.get_partition_key_from_str(partition_key_range.end)
        per_dimension = [
            dim.partitions_def.get_partition_keys_in_range(
                PartitionKeyRange(
                    start.keys_by_dimension[dim.name], end.keys_by_dimension[dim.name]
                ),
                dynamic_partitions_store=dynamic_partitions_store,
            )
            for dim in self._dimensions
        ]
        names = self.partition_dimension_names
        return [
            MultiPartitionKey(dict(zip(names, parts, strict=True)))
            for parts in itertools.product(*per_dimension)
        ]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MultiPartitionsDefinition) and other._dimensions == self._dimensions
        )

    def __hash__(self) -> int:
        return hash(tuple((dim.name, repr(dim.partitions_def)) for dim in self._dimensions))

    def __repr__(self) -> str:
        dims = ", ".join(f"{dim.name!r}: {dim.partitions_def!r}" for dim in self._dimensions)
        return f"MultiPartitionsDefinition({{{dims}}})"

    def __str__(self) -> str:
        return "Multi-partitioned, with dimensions: " + ", ".join(
            f"{dim.name.capitalize()}: {dim.partitions_def}" for dim in self._dimensions
        )
