"""What every partitions definition offers, and the range of keys a run may cover.

A partitions definition splits an asset into pieces materialized independently, each named by a
string key. Its keys are ordered; a `PartitionKeyRange` names the keys from `start` to `end`,
both included, in that order (what a backfill over a range, or one run over several partitions,
works on).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from kubedag.errors import InvalidDefinitionError, KubedagError

# Substrings the reference refuses in keys: "..." separates the ends of a range on command lines.
INVALID_KEY_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


class UnknownPartitionError(KubedagError, ValueError):
    """A partition key (or a range end) is not a partition of the definition."""


class PartitionKeyRange(NamedTuple):
    """The keys from `start` to `end` of a partitions definition, both included."""

    start: str
    end: str


class PartitionsDefinition:
    """Base of every partitions definition: ordered string keys.

    Subclasses implement `get_partition_keys`; the rest has a generic form here that time-window
    definitions override with arithmetic. `dynamic_partitions_store` is what holds dynamic
    partitions (the `Instance`); `current_time` decides which time windows exist yet.
    """

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> Sequence[str]:
        raise NotImplementedError

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> bool:
        return partition_key in self.get_partition_keys(current_time, dynamic_partitions_store)

    def get_first_partition_key(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> str | None:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[0] if keys else None

    def get_last_partition_key(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> str | None:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[-1] if keys else None

    def get_num_partitions(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> int:
        return len(self.get_partition_keys(current_time, dynamic_partitions_store))

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        dynamic_partitions_store: Any = None,
    ) -> Sequence[str]:
        """The keys from `partition_key_range.start` to `.end`, both included, in order."""
        keys = list(self.get_partition_keys(dynamic_partitions_store=dynamic_partitions_store))
        start = _index_of(keys, partition_key_range.start, "start", self)
        end = _index_of(keys, partition_key_range.end, "end", self)
        if end < start:
            raise UnknownPartitionError(
                f"partition range {partition_key_range.start}...{partition_key_range.end}: the "
                "end comes before the start; swap them."
            )
        return keys[start : end + 1]

    def validate_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> None:
        """Raise `UnknownPartitionError` naming the key when it is not a partition."""
        if not self.has_partition_key(partition_key, current_time, dynamic_partitions_store):
            raise UnknownPartitionError(
                f"partition {partition_key!r} is not a partition of {self}; "
                f"{describe_keys(self, current_time, dynamic_partitions_store)}"
            )


def describe_keys(
    partitions_def: PartitionsDefinition,
    current_time: datetime | None = None,
    dynamic_partitions_store: Any = None,
) -> str:
    """A short hint of the valid keys, for error messages: the first and the last."""
    try:
        keys = partitions_def.get_partition_keys(current_time, dynamic_partitions_store)
    except Exception:  # a hint must never hide the error it belongs to
        return "list the keys with get_partition_keys()."
    if not keys:
        return "it has no partitions yet."
    if len(keys) <= 5:
        return "valid keys are " + ", ".join(repr(k) for k in keys) + "."
    return f"valid keys run from {keys[0]!r} to {keys[-1]!r} ({len(keys)} keys)."


def _index_of(keys: list[str], key: str, end: str, partitions_def: PartitionsDefinition) -> int:
    try:
        return keys.index(key)
    except ValueError:
        raise UnknownPartitionError(
            f"partition range {end} {key!r} is not a partition of {partitions_def}; "
            f"{describe_keys(partitions_def)}"
        ) from None


def check_keys(owner: str, keys: Sequence[str]) -> None:
    """Refuse keys the reference refuses: empty, duplicated, or with a reserved substring."""
    seen: set[str] = set()
    for key in keys:
        if not isinstance(key, str) or not key:
            raise InvalidDefinitionError(
                f"{owner}: partition keys are non-empty strings; got {key!r}."
            )
        bad = [part for part in INVALID_KEY_SUBSTRINGS if part in key]
        if bad:
            raise InvalidDefinitionError(
                f"{owner}: partition key {key!r} contains {bad[0]!r}, which is reserved "
                "(ranges are written FROM...TO); choose another key."
            )
        if key in seen:
            raise InvalidDefinitionError(
                f"{owner}: partition key {key!r} appears twice; each key must be unique."
            )
        seen.add(key)
