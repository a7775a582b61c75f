"""Dynamic partitions: keys added and removed while the system runs (files that arrived,
customers that signed up). The instance stores them under the definition's name; sensors add
them with `build_add_request`, code with `instance.add_dynamic_partitions(name, keys)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kubedag.definitions.partitions.base import PartitionsDefinition
from kubedag.errors import InvalidDefinitionError


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Partitions whose keys live in the instance, under `name`."""

    def __init__(self, name: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidDefinitionError(
                "DynamicPartitionsDefinition: give it a name "
                '(DynamicPartitionsDefinition(name="files")); the instance stores its keys '
                "under that name."
            )
        self.name = name

    def _store(self, store: Any) -> Any:
        if store is None:
            raise InvalidDefinitionError(
                f"DynamicPartitionsDefinition {self.name!r}: its keys live in the instance; "
                "pass dynamic_partitions_store=instance (context.instance in an asset)."
            )
        return store

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return list(self._store(dynamic_partitions_store).get_dynamic_partitions(self.name))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> bool:
        store = self._store(dynamic_partitions_store)
        return bool(store.has_dynamic_partition(self.name, partition_key))

    def build_add_request(self, partition_keys: Sequence[str]) -> Any:
        """A request (for a sensor's result) to add `partition_keys` to this definition."""
        from kubedag.definitions.run_request import AddDynamicPartitionsRequest

        return AddDynamicPartitionsRequest(self.name, partition_keys)

    def build_delete_request(self, partition_keys: Sequence[str]) -> Any:
        """A request (for a sensor's result) to remove `partition_keys` from this definition."""
        from kubedag.definitions.run_request import DeleteDynamicPartitionsRequest

        return DeleteDynamicPartitionsRequest(self.name, partition_keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DynamicPartitionsDefinition) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("dynamic", self.name))

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition(name={self.name!r})"

    def __str__(self) -> str:
        return f'Dynamic partitions: "{self.name}"'
