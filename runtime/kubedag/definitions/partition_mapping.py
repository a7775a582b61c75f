"""Partition mappings: which upstream partitions a downstream partition reads.

When a partitioned asset depends on another asset, a mapping turns the downstream partition
keys being materialized into the upstream keys to load. Defaults, as in the reference:

- both time-window partitioned: `TimeWindowPartitionMapping()`, every upstream window that
  overlaps the downstream ones (daily → hourly reads 24 hours, hourly → daily reads its day);
- both partitioned otherwise: `IdentityPartitionMapping()`, the same keys;
- either side unpartitioned: `AllPartitionMapping()`, every upstream partition.

Override per dependency with `AssetIn(partition_mapping=…)` or `AssetDep(…, partition_mapping=…)`.
Mappings are pure: keys in, keys out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubedag.definitions.partitions import (
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    UnknownPartitionError,
)
from kubedag.errors import InvalidDefinitionError


class PartitionMapping:
    """Base of every mapping: downstream partition keys → upstream partition keys."""

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class IdentityPartitionMapping(PartitionMapping):
    """The downstream key, upstream (both assets share their partitions)."""

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        return list(downstream_keys)


@dataclass(frozen=True)
class AllPartitionMapping(PartitionMapping):
    """Every upstream partition (an unpartitioned summary of a partitioned asset)."""

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        return list(upstream_def.get_partition_keys(current_time, dynamic_partitions_store))


@dataclass(frozen=True)
class LastPartitionMapping(PartitionMapping):
    """Only the upstream's last partition."""

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        last = upstream_def.get_last_partition_key(current_time, dynamic_partitions_store)
        return [last] if last is not None else []


@dataclass(frozen=True)
class SpecificPartitionsPartitionMapping(PartitionMapping):
    """Always the same upstream keys."""

    partition_keys: Sequence[str] = ()

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        return list(self.partition_keys)


@dataclass(frozen=True)
class StaticPartitionMapping(PartitionMapping):
    """An explicit map from downstream keys to upstream keys (a key or a set of keys each).

    Written upstream key → downstream key(s), as in the reference:
    `StaticPartitionMapping({"us-east": "us", "us-west": "us", "eu-1": "eu"})`.
    """

    downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Sequence[str]] = field(
        default_factory=dict
    )

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        wanted = set(downstream_keys)
        result = []
        for (
            upstream,
            downstream,
        ) in self.downstream_partition_keys_by_upstream_partition_key.items():
            targets = {downstream} if isinstance(downstream, str) else set(downstream)
            if targets & wanted:
                result.append(upstream)
        return result


@dataclass(frozen=True)
class TimeWindowPartitionMapping(PartitionMapping):
    """Upstream windows that overlap the downstream windows, shifted by whole downstream
    partitions: `start_offset=-1` also reads the previous one (yesterday, for a daily asset).

    Mapped windows outside the upstream's partitions raise `UnknownPartitionError`, unless
    `allow_nonexistent_upstream_partitions=True` drops them.
    """

    start_offset: int = 0
    end_offset: int = 0
    allow_nonexistent_upstream_partitions: bool = False

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        down = _time_window_def(downstream_def, "downstream")
        up = _time_window_def(upstream_def, "upstream")
        if down.timezone != up.timezone:
            raise InvalidDefinitionError(
                f"TimeWindowPartitionMapping: the partitions are in time zones {down.timezone!r} "
                f"and {up.timezone!r}; give both assets the same timezone."
            )
        if not downstream_keys:
            return []
        windows = [down.time_window_for_partition_key(key) for key in downstream_keys]
        span = TimeWindow(
            min((w.start for w in windows), key=lambda d: d.timestamp()),
            max((w.end for w in windows), key=lambda d: d.timestamp()),
        )
        start = _shift(down, span.start, self.start_offset)
        end = _shift(down, span.end, self.end_offset)
        if end.timestamp() <= start.timestamp():
            return []
        return self._existing(up, _overlapping_keys(up, TimeWindow(start, end)), current_time)

    def _existing(
        self, up: TimeWindowPartitionsDefinition, keys: list[str], current_time: datetime | None
    ) -> list[str]:
        missing = [key for key in keys if not up.has_partition_key(key, current_time)]
        if missing and not self.allow_nonexistent_upstream_partitions:
            raise UnknownPartitionError(
                f"TimeWindowPartitionMapping: upstream partitions {', '.join(missing[:3])}"
                f"{' …' if len(missing) > 3 else ''} do not exist in {up}; start the downstream "
                "asset later, or pass allow_nonexistent_upstream_partitions=True."
            )
        return [key for key in keys if key not in set(missing)]


def _time_window_def(partitions_def: Any, side: str) -> TimeWindowPartitionsDefinition:
    if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
        raise InvalidDefinitionError(
            f"TimeWindowPartitionMapping: the {side} asset must have time-window partitions "
            f"(daily, hourly, …), not {partitions_def!r}."
        )
    return partitions_def


def _shift(
    partitions_def: TimeWindowPartitionsDefinition, moment: datetime, offset: int
) -> datetime:
    """`moment` (a window boundary) moved by `offset` windows of `partitions_def`."""
    if offset == 0:
        return moment
    ticks = (
        partitions_def._ticks.ascending(moment.timestamp(), inclusive=False)
        if offset > 0
        else partitions_def._ticks.descending(moment.timestamp(), inclusive=False)
    )
    for _ in range(abs(offset)):
        moment = next(ticks)
    return moment


def _overlapping_keys(up: TimeWindowPartitionsDefinition, window: TimeWindow) -> list[str]:
    """Keys of the upstream windows that overlap `window`: the one containing its start, then
    every one starting inside it."""
    containing_start = next(up._ticks.descending(window.start.timestamp(), inclusive=True))
    end = window.end.timestamp()
    keys = []
    for upstream_window in up._windows_from(containing_start.timestamp()):
        if upstream_window.start.timestamp() >= end:
            break
        keys.append(up.format_key(upstream_window.start))
    return keys


@dataclass(frozen=True)
class DimensionPartitionMapping:
    """One dimension of a `MultiPartitionMapping`: which upstream dimension, how mapped."""

    dimension_name: str
    partition_mapping: PartitionMapping


@dataclass(frozen=True)
class MultiPartitionMapping(PartitionMapping):
    """Map each dimension of a multi-partitioned downstream asset on its own:
    `{downstream dimension: DimensionPartitionMapping(upstream dimension, mapping)}`."""

    downstream_mappings_by_upstream_dimension: Mapping[str, DimensionPartitionMapping] = field(
        default_factory=dict
    )

    def upstream_keys(
        self,
        downstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> list[str]:
        if not isinstance(upstream_def, MultiPartitionsDefinition) or not isinstance(
            downstream_def, MultiPartitionsDefinition
        ):
            raise InvalidDefinitionError(
                "MultiPartitionMapping: both assets must be multi-partitioned."
            )
        result: list[str] = []
        for key in downstream_keys:
            parts = downstream_def.get_partition_key_from_str(str(key)).keys_by_dimension
            per_dimension: dict[str, list[str]] = {}
            for down_dim, mapping in self.downstream_mappings_by_upstream_dimension.items():
                up_def = upstream_def.get_partitions_def_for_dimension(mapping.dimension_name)
                down_dim_def = downstream_def.get_partitions_def_for_dimension(down_dim)
                per_dimension[mapping.dimension_name] = mapping.partition_mapping.upstream_keys(
                    [parts[down_dim]], down_dim_def, up_def, current_time, dynamic_partitions_store
                )
            for name in upstream_def.partition_dimension_names:
                per_dimension.setdefault(
                    name,
                    list(
                        upstream_def.get_partitions_def_for_dimension(name).get_partition_keys(
                            current_time, dynamic_partitions_store
                        )
                    ),
                )
            (name_a, keys_a), (name_b, keys_b) = sorted(per_dimension.items())
            for a in keys_a:
                for b in keys_b:
                    candidate = MultiPartitionKey({name_a: a, name_b: b})
                    if candidate not in result:
                        result.append(candidate)
        return result


def infer_partition_mapping(
    partition_mapping: PartitionMapping | None,
    downstream_def: PartitionsDefinition | None,
    upstream_def: PartitionsDefinition | None,
) -> PartitionMapping:
    """The mapping a dependency uses: the one given, else the reference's default."""
    if partition_mapping is not None:
        return partition_mapping
    if upstream_def is None or downstream_def is None:
        return AllPartitionMapping()
    if isinstance(upstream_def, TimeWindowPartitionsDefinition) and isinstance(
        downstream_def, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    return IdentityPartitionMapping()


def upstream_partition_keys(
    partition_mapping: PartitionMapping | None,
    downstream_keys: Sequence[str],
    downstream_def: PartitionsDefinition | None,
    upstream_def: PartitionsDefinition | None,
    current_time: datetime | None = None,
    dynamic_partitions_store: Any = None,
) -> list[str] | None:
    """The upstream keys to load for `downstream_keys`, or None when the upstream asset is not
    partitioned (there is one value to load)."""
    if upstream_def is None:
        return None
    mapping = infer_partition_mapping(partition_mapping, downstream_def, upstream_def)
    key_free = AllPartitionMapping | LastPartitionMapping | SpecificPartitionsPartitionMapping
    if downstream_def is None and not isinstance(mapping, key_free):
        mapping = AllPartitionMapping()
    return mapping.upstream_keys(
        downstream_keys, downstream_def, upstream_def, current_time, dynamic_partitions_store
    )
