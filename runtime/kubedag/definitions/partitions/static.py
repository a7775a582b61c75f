"""Static partitions: a fixed list of keys (regions, customers, model variants)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kubedag.definitions.partitions.base import PartitionsDefinition, check_keys
from kubedag.errors import InvalidDefinitionError


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of partition keys, in the order given."""

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str):
            raise InvalidDefinitionError(
                f"StaticPartitionsDefinition: expected a list of keys, got the string "
                f"{partition_keys!r}; write [{partition_keys!r}]."
            )
        keys = list(partition_keys)
        check_keys("StaticPartitionsDefinition", keys)
        self._keys = keys
        self._key_set = frozenset(keys)

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return list(self._keys)

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> bool:
        return partition_key in self._key_set

    def get_num_partitions(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> int:
        return len(self._keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionsDefinition) and other._keys == self._keys

    def __hash__(self) -> int:
        return hash(tuple(self._keys))

    def __repr__(self) -> str:
        return f"StaticPartitionsDefinition(partition_keys={self._keys!r})"

    def __str__(self) -> str:
        return f"{len(self._keys)} static partitions"
