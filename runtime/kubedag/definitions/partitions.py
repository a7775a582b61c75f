"""Partitions definitions: how an asset splits into independently materialized pieces.

Static partitions are a fixed list of keys. Time-window partitions cut time into windows (a day,
an hour, …) starting at `start`, in a time zone; a window's key is its start formatted with
`fmt`, and only complete windows exist (`get_partition_keys(current_time=…)`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kubedag.errors import InvalidDefinitionError


class PartitionsDefinition:
    """Base of every partitions definition."""

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        raise NotImplementedError

    def has_partition_key(self, key: str, current_time: datetime | None = None) -> bool:
        return key in set(self.get_partition_keys(current_time))


@dataclass(frozen=True)
class PartitionKeyRange:
    start: str
    end: str

    def keys(self, partitions_def: PartitionsDefinition | None) -> list[str]:
        if partitions_def is None:
            return [self.start] if self.start == self.end else [self.start, self.end]
        keys = partitions_def.get_partition_keys()
        return keys[keys.index(self.start) : keys.index(self.end) + 1]


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of partition keys, e.g. regions."""

    def __init__(self, partition_keys: Sequence[str]) -> None:
        keys = list(partition_keys)
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise InvalidDefinitionError(f"StaticPartitionsDefinition: duplicate keys {dupes}.")
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InvalidDefinitionError(f"StaticPartitionsDefinition: invalid key {key!r}.")
        self._keys = keys
        self._key_set = frozenset(keys)

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return list(self._keys)

    def has_partition_key(self, key: str, current_time: datetime | None = None) -> bool:
        return key in self._key_set

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionsDefinition) and other._keys == self._keys

    def __hash__(self) -> int:
        return hash(tuple(self._keys))

    def __repr__(self) -> str:
        return f"StaticPartitionsDefinition({self._keys!r})"


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime


_UNITS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Windows of a fixed period (hour, day, week, month) from `start`, in `timezone`."""

    def __init__(
        self,
        start: datetime | str,
        fmt: str,
        period: str,
        timezone: str | None = None,
        end: datetime | str | None = None,
        end_offset: int = 0,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
    ) -> None:
        self.timezone = timezone or "UTC"
        self._tz = ZoneInfo(self.timezone)
        self.fmt = fmt
        self.period = period
        self.end_offset = end_offset
        self.minute_offset = minute_offset
        self.hour_offset = hour_offset
        self.day_offset = day_offset
        self.start = self._parse(start)
        self.end = self._parse(end) if end is not None else None

    def _parse(self, value: datetime | str) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=self._tz)
        for fmt in (self.fmt, "%Y-%m-%d", "%Y-%m-%d-%H:%M", "%Y-%m-%dT%H:%M:%S"):
            try:
                return datetime.strptime(value, fmt).replace(tzinfo=self._tz)
            except ValueError:
                continue
        raise InvalidDefinitionError(
            f"Cannot read {value!r} as a date (expected format {self.fmt})."
        )

    def _next(self, moment: datetime) -> datetime:
        if self.period == "month":
            year, month = (
                (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
            )
            return moment.replace(year=year, month=month)
        naive = moment.replace(tzinfo=None) + _UNITS[self.period]
        return naive.replace(tzinfo=self._tz)

    def _windows(self, current_time: datetime | None) -> list[TimeWindow]:
        now = current_time or datetime.now(self._tz)
        if now.tzinfo is None:
            now = now.replace(tzinfo=self._tz)
        windows: list[TimeWindow] = []
        moment = self.start
        limit = self.end
        while True:
            nxt = self._next(moment)
            if limit is not None and nxt > limit:
                break
            if nxt > now:
                break
            windows.append(TimeWindow(moment, nxt))
            moment = nxt
        for _ in range(self.end_offset):
            nxt = self._next(moment)
            windows.append(TimeWindow(moment, nxt))
            moment = nxt
        return windows

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        return [w.start.strftime(self.fmt) for w in self._windows(current_time)]

    def has_partition_key(self, key: str, current_time: datetime | None = None) -> bool:
        try:
            moment = datetime.strptime(key, self.fmt).replace(tzinfo=self._tz)
        except ValueError:
            return False
        return (
            moment >= self.start
            and moment.strftime(self.fmt) == key
            and key in set(self.get_partition_keys(current_time))
        )

    def time_window_for_partition_key(self, key: str) -> TimeWindow:
        start = datetime.strptime(key, self.fmt).replace(tzinfo=self._tz)
        return TimeWindow(start, self._next(start))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeWindowPartitionsDefinition) and (
            (other.start, other.fmt, other.period, other.timezone, other.end, other.end_offset)
            == (self.start, self.fmt, self.period, self.timezone, self.end, self.end_offset)
        )

    def __hash__(self) -> int:
        return hash((self.start, self.fmt, self.period, self.timezone))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start.strftime(self.fmt)!r}, timezone={self.timezone!r})"


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d",
            "day",
            timezone,
            end_date,
            end_offset,
            minute_offset,
            hour_offset,
        )


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d-%H:%M",
            "hour",
            timezone,
            end_date,
            end_offset,
            minute_offset,
        )


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d",
            "week",
            timezone,
            end_date,
            end_offset,
            minute_offset,
            hour_offset,
            day_offset,
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d",
            "month",
            timezone,
            end_date,
            end_offset,
            minute_offset,
            hour_offset,
            day_offset,
        )


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Partitions added and removed at run time, stored by the instance under `name`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        if dynamic_partitions_store is None:
            return []
        return list(dynamic_partitions_store.get_dynamic_partitions(self.name))

    def has_partition_key(self, key: str, current_time: datetime | None = None) -> bool:
        return True  # known only to the instance; checked where the instance is at hand

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DynamicPartitionsDefinition) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition({self.name!r})"


class MultiPartitionKey(str):
    """A key of a multi-dimensional partition: `"2024-01-01|us"`, with its parts by dimension."""

    keys_by_dimension: Mapping[str, str]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        ordered = dict(sorted(keys_by_dimension.items()))
        obj = super().__new__(cls, "|".join(ordered.values()))
        obj.keys_by_dimension = ordered
        return obj


class MultiPartitionsDefinition(PartitionsDefinition):
    """The cross product of two partitions definitions, keyed by dimension name."""

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if len(partitions_defs) != 2:
            raise InvalidDefinitionError("MultiPartitionsDefinition takes exactly two dimensions.")
        self.partitions_defs = dict(sorted(partitions_defs.items()))

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        (name_a, def_a), (name_b, def_b) = self.partitions_defs.items()
        return [
            MultiPartitionKey({name_a: a, name_b: b})
            for a in def_a.get_partition_keys(current_time, dynamic_partitions_store)
            for b in def_b.get_partition_keys(current_time, dynamic_partitions_store)
        ]

    def key_object(self, key: str) -> MultiPartitionKey:
        parts = key.split("|")
        return MultiPartitionKey(dict(zip(self.partitions_defs, parts, strict=True)))

    def has_partition_key(self, key: str, current_time: datetime | None = None) -> bool:
        parts = key.split("|")
        return len(parts) == 2 and all(
            d.has_partition_key(p, current_time)
            for d, p in zip(self.partitions_defs.values(), parts, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MultiPartitionsDefinition)
            and other.partitions_defs == self.partitions_defs
        )

    def __hash__(self) -> int:
        return hash(tuple(self.partitions_defs))
