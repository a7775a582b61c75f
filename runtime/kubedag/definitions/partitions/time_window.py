"""Time-window partitions: time cut into windows (hours, days, weeks, months, any cron).

Each window runs from one tick of `cron_schedule` (in `timezone`) to the next; its key is its
start formatted with `fmt`. The first window starts at the first tick at or after `start`; the
last one ends at or before `end` (when given) and, unless `end_offset` says otherwise, before the
current time: only complete windows exist, so a daily partition for today appears tomorrow.
`end_offset=1` adds the window in progress, `-1` drops the last complete one. `exclusions`
(datetimes, or cron expressions whose ticks are excluded) remove the windows starting there.

Daylight saving follows the cron rules of `kubedag.clock.cron`: a daily window on the day
the clocks change lasts 23 or 25 hours; hourly windows are always one hour, so the repeated hour
gives two windows, the second keyed with its UTC offset ("2024-11-03-01:00-0500") unless `fmt`
already has `%z`.
"""

from __future__ import annotations

import functools
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from kubedag.clock.cron import check_cron, cron_ticks, is_hourly_cron, zone
from kubedag.definitions.partitions.base import (
    PartitionKeyRange,
    PartitionsDefinition,
    UnknownPartitionError,
)
from kubedag.definitions.partitions.ticks import FixedStepTicks, tick_source
from kubedag.errors import InvalidDefinitionError

DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_HOURLY_FORMAT = "%Y-%m-%d-%H:%M"
_BOUND_FORMATS = ("%Y-%m-%d", "%Y-%m-%d-%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


class TimeWindow(NamedTuple):
    """An interval of time, closed at `start` and open at `end`."""

    start: datetime
    end: datetime


class ScheduleType(Enum):
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


def cron_schedule_for(
    schedule_type: ScheduleType | str, minute_offset: int, hour_offset: int, day_offset: int | None
) -> str:
    """The cron of a regular cadence: hourly at `minute_offset`, daily at `hour_offset:…`, …"""
    kind = ScheduleType(schedule_type.upper()) if isinstance(schedule_type, str) else schedule_type
    if kind is ScheduleType.HOURLY:
        return f"{minute_offset} * * * *"
    if kind is ScheduleType.DAILY:
        return f"{minute_offset} {hour_offset} * * *"
    if kind is ScheduleType.WEEKLY:
        return f"{minute_offset} {hour_offset} * * {day_offset or 0}"
    return f"{minute_offset} {hour_offset} {day_offset or 1} * *"


# -- keys <-> datetimes ---------------------------------------------------------------------

_DATE_DIRECTIVES = set("YymdjbBaAwuUWVGC")
_TIME_DIRECTIVES = set("HIMSpf")


def _fast_formatter(fmt: str) -> Callable[[datetime], str] | None:
    """strftime(fmt) as a lookup of the date part and the time part, when fmt splits that way.

    Formatting is most of the cost of listing keys; hourly keys share their date part 24 times
    and repeat the same 24 time parts, so both are formatted once and concatenated.
    """
    tokens = re.findall(r"%.|[^%]+", fmt)
    kinds = []
    for token in tokens:
        if not token.startswith("%") or token == "%%":
            kinds.append("literal")
        elif token[1] in _DATE_DIRECTIVES:
            kinds.append("date")
        elif token[1] in _TIME_DIRECTIVES:
            kinds.append("time")
        else:
            return None  # %z, %c, … depend on more than the wall clock's date and time
    times = [i for i, kind in enumerate(kinds) if kind == "time"]
    split = times[0] if times else len(tokens)
    if "date" in kinds[split:]:
        return None
    date_fmt, time_fmt = "".join(tokens[:split]), "".join(tokens[split:])
    date_parts: dict[date, str] = {}
    time_parts: dict[tuple[int, int, int, int], str] = {}

    def formatted(moment: datetime) -> str:
        day = moment.date()
        head = date_parts.get(day)
        if head is None:
            head = date_parts[day] = day.strftime(date_fmt)
        if not time_fmt:
            return head
        clock = (moment.hour, moment.minute, moment.second, moment.microsecond)
        tail = time_parts.get(clock)
        if tail is None:
            tail = time_parts[clock] = moment.strftime(time_fmt)
        return head + tail

    return formatted


def _is_second_occurrence(moment: datetime) -> bool:
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def _with_offset(fmt: str) -> str:
    return fmt if "%z" in fmt else fmt + "%z"


@functools.lru_cache(maxsize=8192)
def parse_key(key: str, timezone: str, fmt: str) -> datetime:
    """The start a key names: `fmt`, or `fmt` plus a UTC offset (a repeated hour's second
    occurrence). Raises `ValueError` when the key does not have that form."""
    try:
        parsed = datetime.strptime(key, fmt)
    except ValueError:
        parsed = datetime.strptime(key, _with_offset(fmt))
    tz = zone(timezone)
    if parsed.tzinfo is not None:
        return datetime.fromtimestamp(parsed.timestamp(), tz)
    return parsed.replace(tzinfo=tz, fold=0)


# -- the definition ---------------------------------------------------------------------------


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Windows between the ticks of `cron_schedule` in `timezone`, keyed by their start."""

    def __init__(
        self,
        start: datetime | str,
        fmt: str,
        end: datetime | str | None = None,
        schedule_type: ScheduleType | str | None = None,
        timezone: str | None = None,
        end_offset: int = 0,
        minute_offset: int | None = None,
        hour_offset: int | None = None,
        day_offset: int | None = None,
        cron_schedule: str | None = None,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        owner = type(self).__name__
        self.timezone = timezone or "UTC"
        try:
            self._tz: ZoneInfo = zone(self.timezone)
        except ValueError as exc:
            raise InvalidDefinitionError(f"{owner}.{exc}") from None
        if not isinstance(fmt, str) or "%" not in fmt:
            raise InvalidDefinitionError(
                f"{owner}.fmt: {fmt!r} is not a date format; use strftime codes, for example "
                "'%Y-%m-%d'."
            )
        self.fmt = fmt
        if not isinstance(end_offset, int):
            raise InvalidDefinitionError(
                f"{owner}.end_offset: expected an integer, got {end_offset!r}."
            )
        self.end_offset = end_offset
        self.cron_schedule = _resolve_cron(
            owner, cron_schedule, schedule_type, minute_offset, hour_offset, day_offset
        )
        self.start = self._parse_bound(start, "start")
        self.end = self._parse_bound(end, "end") if end else None
        self.exclusions = _resolve_exclusions(owner, exclusions, self._tz)
        self._excluded_stamps = frozenset(
            e.timestamp() for e in self.exclusions if isinstance(e, datetime)
        )
        self._excluded_crons = tuple(e for e in self.exclusions if isinstance(e, str))
        self._start_ts = self.start.timestamp()
        self._end_ts = self.end.timestamp() if self.end is not None else None
        self._every_hour = is_hourly_cron(self.cron_schedule)
        self._ticks = tick_source(self.cron_schedule, self.timezone)
        self._fast_format = _fast_formatter(fmt) if "%z" not in fmt else None
        self._keys_cache: OrderedDict[tuple[float, float], tuple[str, ...]] = OrderedDict()
        self._validate_granularity(owner)

    # -- construction helpers -----------------------------------------------------------------
    def _parse_bound(self, value: datetime | str | None, name: str) -> datetime:
        owner = type(self).__name__
        if isinstance(value, datetime):
            # As the reference does: the wall-clock time is read in the definition's timezone.
            return value.replace(tzinfo=self._tz)
        if isinstance(value, str):
            try:
                return parse_key(value, self.timezone, self.fmt)
            except ValueError:
                pass
            for candidate in _BOUND_FORMATS:
                try:
                    return datetime.strptime(value, candidate).replace(tzinfo=self._tz)
                except ValueError:
                    continue
        raise InvalidDefinitionError(
            f"{owner}.{name}: cannot read {value!r} as a date; give a datetime or a string in "
            f"the format {self.fmt!r} (for example {datetime(2024, 1, 1).strftime(self.fmt)!r})."
        )

    def _validate_granularity(self, owner: str) -> None:
        windows = self._windows_from(self._start_ts)
        first, second = next(windows), next(windows)
        if self.format_key(first.start) == self.format_key(second.start):
            raise InvalidDefinitionError(
                f"{owner}.fmt: {self.fmt!r} gives the same key to two windows of "
                f"{self.cron_schedule!r} ({self.format_key(first.start)!r}); use a format as "
                "fine as the cron, for example '%Y-%m-%d-%H:%M' for hourly windows."
            )

    # -- keys -------------------------------------------------------------------------------------
    def format_key(self, moment: datetime) -> str:
        """The key of the window starting at `moment` (a tick, in this definition's zone)."""
        if self._every_hour and "%z" not in self.fmt and _is_second_occurrence(moment):
            return moment.strftime(_with_offset(self.fmt))
        if self._fast_format is not None:
            return self._fast_format(moment)
        return moment.strftime(self.fmt)

    def _parse(self, key: str) -> datetime:
        try:
            return parse_key(key, self.timezone, self.fmt)
        except (ValueError, TypeError):
            raise UnknownPartitionError(
                f"partition {key!r} does not have the key format {self.fmt!r} of {self} "
                f"(for example {self.format_key(self.start)!r})."
            ) from None

    # -- windows ----------------------------------------------------------------------------------
    def _is_excluded(self, tick: datetime) -> bool:
        if not self.exclusions:
            return False
        if tick.timestamp() in self._excluded_stamps:
            return True
        return any(
            next(cron_ticks(cron, self.timezone, tick, inclusive=True)).timestamp()
            == tick.timestamp()
            for cron in self._excluded_crons
        )

    def _excluded_flags(self, first: datetime) -> Callable[[datetime], bool]:
        """A check for ascending ticks from `first`: walks the exclusions alongside them."""
        if not self._excluded_crons:
            stamps = self._excluded_stamps
            return lambda tick: tick.timestamp() in stamps
        stream = cron_ticks(self._excluded_crons, self.timezone, first, inclusive=True)
        pending = [next(stream)]

        def excluded(tick: datetime) -> bool:
            stamp = tick.timestamp()
            if stamp in self._excluded_stamps:
                return True
            while pending[0].timestamp() < stamp:
                pending[0] = next(stream)
            return pending[0].timestamp() == stamp

        return excluded

    def _windows_from(
        self, timestamp: float, ignore_exclusions: bool = False
    ) -> Iterator[TimeWindow]:
        """Windows starting at or after `timestamp`, in order, endlessly."""
        ticks = self._ticks.ascending(timestamp, inclusive=True)
        current = next(ticks)
        excluded = (
            self._excluded_flags(current) if self.exclusions and not ignore_exclusions else None
        )
        for following in ticks:
            if excluded is None or not excluded(current):
                yield TimeWindow(current, following)
            current = following

    def _windows_before(
        self, timestamp: float, ignore_exclusions: bool = False
    ) -> Iterator[TimeWindow]:
        """Windows ending at or before `timestamp`, latest first, endlessly."""
        ticks = self._ticks.descending(timestamp, inclusive=True)
        current = next(ticks)
        for previous in ticks:
            if ignore_exclusions or not self._is_excluded(previous):
                yield TimeWindow(previous, current)
            current = previous

    @staticmethod
    def _now(current_time: datetime | None, tz: ZoneInfo) -> float:
        if current_time is None:
            return time.time()
        if current_time.tzinfo is None:
            current_time = current_time.replace(tzinfo=tz)
        return current_time.timestamp()

    def _first_window(self, now: float) -> TimeWindow | None:
        if self._end_ts is not None and self._end_ts <= self._start_ts:
            return None
        first = next(self._windows_from(self._start_ts))
        if self.end_offset == 0:
            limit = now
        elif self.end_offset > 0:
            windows = self._windows_from(now)
            for _ in range(self.end_offset):
                next(windows)
            limit = next(windows).start.timestamp()
        else:
            windows = self._windows_before(now)
            for _ in range(-self.end_offset - 1):
                next(windows)
            limit = next(windows).start.timestamp()
        return first if first.end.timestamp() <= limit else None

    def _last_window(self, now: float) -> TimeWindow | None:
        first = self._first_window(now)
        if first is None:
            return None
        if self.end_offset == 0:
            if self._end_ts is not None and self._end_ts < now:
                now = self._end_ts
            return next(self._windows_before(now))
        before_end = next(self._windows_before(self._end_ts)) if self._end_ts is not None else None
        backwards = self._windows_before(now)
        current = next(backwards)
        if self.end_offset < 0:
            for _ in range(-self.end_offset):
                current = next(backwards)
        else:
            forwards = self._windows_from(current.end.timestamp())
            for _ in range(self.end_offset):
                current = next(forwards)
        if before_end is not None and before_end.start.timestamp() <= current.start.timestamp():
            return before_end
        if current.start.timestamp() < first.start.timestamp():
            return first
        return current

    # -- the PartitionsDefinition API -------------------------------------------------------------
    def get_first_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        return self._first_window(self._now(current_time, self._tz))

    def get_last_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        return self._last_window(self._now(current_time, self._tz))

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        """The keys of every window that exists at `current_time` (default: now), in order."""
        last = self._last_window(self._now(current_time, self._tz))
        if last is None:
            return []
        return list(self._keys_through(last.start.timestamp()))

    def _keys_through(self, last_start: float) -> tuple[str, ...]:
        cache_key = (self._start_ts, last_start)
        cached = self._keys_cache.get(cache_key)
        if cached is not None:
            self._keys_cache.move_to_end(cache_key)
            return cached
        keys = tuple(self._compute_keys(last_start))
        self._keys_cache[cache_key] = keys
        if len(self._keys_cache) > 4:
            self._keys_cache.popitem(last=False)
        return keys

    def _compute_keys(self, last_start: float) -> list[str]:
        if isinstance(self._ticks, FixedStepTicks) and not self.exclusions:
            first = next(self._ticks.ascending(self._start_ts, inclusive=True)).timestamp()
            starts = self._ticks.starts(first, last_start) if first <= last_start else []
            return [self.format_key(moment) for moment in starts]
        keys = []
        if not self.exclusions:  # every tick starts a window: no need to pair them up
            for tick in self._ticks.ascending(self._start_ts, inclusive=True):
                if tick.timestamp() > last_start:
                    break
                keys.append(self.format_key(tick))
            return keys
        for window in self._windows_from(self._start_ts):
            keys.append(self.format_key(window.start))
            if window.start.timestamp() >= last_start:
                break
        return keys

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> bool:
        try:
            start = self.start_time_for_partition_key(partition_key)
        except UnknownPartitionError:
            return False
        if self._is_excluded(start):
            return False
        now = self._now(current_time, self._tz)
        first, last = self._first_window(now), self._last_window(now)
        return (
            first is not None
            and last is not None
            and first.start.timestamp() <= start.timestamp() <= last.start.timestamp()
            and self.format_key(start) == partition_key
        )

    def get_first_partition_key(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> str | None:
        window = self.get_first_partition_window(current_time)
        return self.format_key(window.start) if window is not None else None

    def get_last_partition_key(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> str | None:
        window = self.get_last_partition_window(current_time)
        return self.format_key(window.start) if window is not None else None

    def get_num_partitions(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> int:
        return len(self.get_partition_keys(current_time))

    def start_time_for_partition_key(self, partition_key: str) -> datetime:
        parsed = self._parse(partition_key)
        if not self.exclusions and self.cron_schedule in ("0 * * * *", "0 0 * * *"):
            return parsed
        # A coarse format ("%Y-%m-%d" for windows starting at 06:00) names the window that
        # starts first at or after the parsed moment.
        return next(self._windows_from(parsed.timestamp())).start

    def end_time_for_partition_key(self, partition_key: str) -> datetime:
        return self.time_window_for_partition_key(partition_key).end

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window a key names (the first window starting at or after what it reads as)."""
        return next(self._windows_from(self._parse(partition_key).timestamp()))

    def time_windows_for_partition_keys(self, partition_keys: Sequence[str]) -> list[TimeWindow]:
        return [self.time_window_for_partition_key(key) for key in partition_keys]

    def get_partition_keys_in_time_window(self, time_window: TimeWindow) -> list[str]:
        """Keys of the windows that start within `time_window`."""
        end = time_window.end.timestamp()
        keys = []
        for window in self._windows_from(time_window.start.timestamp()):
            if window.start.timestamp() >= end:
                break
            keys.append(self.format_key(window.start))
        return keys

    def get_partition_keys_in_range(
        self, partition_key_range: PartitionKeyRange, dynamic_partitions_store: Any = None
    ) -> list[str]:
        start = self.start_time_for_partition_key(partition_key_range.start)
        if start.timestamp() < self._start_ts:
            raise UnknownPartitionError(
                f"partition range start {partition_key_range.start!r} is before the first "
                f"partition of {self} ({self.format_key(next(self._windows_from(self._start_ts)).start)!r})."
            )
        end = self.end_time_for_partition_key(partition_key_range.end)
        if self._end_ts is not None and end.timestamp() > self._end_ts:
            raise UnknownPartitionError(
                f"partition range end {partition_key_range.end!r} is after the end of {self} "
                f"({self.end.isoformat() if self.end else ''})."
            )
        if end.timestamp() <= start.timestamp():
            raise UnknownPartitionError(
                f"partition range {partition_key_range.start}...{partition_key_range.end}: the "
                "end comes before the start; swap them."
            )
        return self.get_partition_keys_in_time_window(TimeWindow(start, end))

    def get_partition_key_for_timestamp(self, timestamp: float, end_closed: bool = False) -> str:
        """The key of the window that contains `timestamp` (with `end_closed`, a timestamp on a
        boundary belongs to the window that ends there)."""
        previous = None
        for tick in self._ticks.descending(timestamp, inclusive=True):
            if end_closed and tick.timestamp() == timestamp:
                continue
            if not self._is_excluded(tick):
                previous = tick
                break
        following = next(
            tick
            for tick in self._ticks.ascending(timestamp, inclusive=True)
            if not self._is_excluded(tick)
        )
        assert previous is not None
        if end_closed or following.timestamp() > timestamp:
            return self.format_key(previous)
        return self.format_key(following)

    def get_partition_key_range_for_time_window(self, time_window: TimeWindow) -> PartitionKeyRange:
        keys = self.get_partition_keys_in_time_window(time_window)
        if not keys:
            raise UnknownPartitionError(f"no partition of {self} starts within {time_window}.")
        return PartitionKeyRange(keys[0], keys[-1])

    def get_next_partition_key(
        self, partition_key: str, current_time: datetime | None = None
    ) -> str | None:
        last = self.get_last_partition_window(current_time)
        if last is None:
            return None
        windows = self._windows_from(self._parse(partition_key).timestamp())
        next(windows)
        following = next(windows)
        if following.start.timestamp() >= last.end.timestamp():
            return None
        return self.format_key(following.start)

    # -- cadence ------------------------------------------------------------------------------------
    @property
    def schedule_type(self) -> ScheduleType | None:
        cron = self.cron_schedule
        if re.fullmatch(r"\d+ \* \* \* \*", cron):
            return ScheduleType.HOURLY
        if re.fullmatch(r"\d+ \d+ \* \* \*", cron):
            return ScheduleType.DAILY
        if re.fullmatch(r"\d+ \d+ \* \* \d+", cron):
            return ScheduleType.WEEKLY
        if re.fullmatch(r"\d+ \d+ \d+ \* \*", cron):
            return ScheduleType.MONTHLY
        return None

    @property
    def minute_offset(self) -> int:
        return _cron_number(self.cron_schedule, 0, "minute_offset")

    @property
    def hour_offset(self) -> int:
        return _cron_number(self.cron_schedule, 1, "hour_offset")

    @property
    def day_offset(self) -> int:
        if self.schedule_type is ScheduleType.WEEKLY:
            return _cron_number(self.cron_schedule, 4, "day_offset")
        if self.schedule_type is ScheduleType.MONTHLY:
            return _cron_number(self.cron_schedule, 2, "day_offset")
        raise InvalidDefinitionError(
            f"day_offset: {self.cron_schedule!r} is neither weekly nor monthly."
        )

    def get_cron_schedule(
        self,
        minute_of_hour: int | None = None,
        hour_of_day: int | None = None,
        day_of_week: int | None = None,
        day_of_month: int | None = None,
    ) -> str:
        """The cron of this cadence, with the minute/hour/day it fires at optionally moved (a
        schedule for daily partitions that runs at 02:00)."""
        if minute_of_hour is hour_of_day is day_of_week is day_of_month is None:
            return self.cron_schedule
        kind = self.schedule_type
        if kind is None:
            raise InvalidDefinitionError(
                f"get_cron_schedule: {self.cron_schedule!r} is not hourly, daily, weekly or "
                "monthly, so its minute/hour/day cannot be moved; write the schedule's cron."
            )
        minute = self.minute_offset if minute_of_hour is None else minute_of_hour
        hour = 0
        if kind is not ScheduleType.HOURLY:
            hour = self.hour_offset if hour_of_day is None else hour_of_day
        day: int | None = None
        if kind is ScheduleType.WEEKLY:
            day = self.day_offset if day_of_week is None else day_of_week
        elif kind is ScheduleType.MONTHLY:
            day = self.day_offset if day_of_month is None else day_of_month
        return cron_schedule_for(kind, minute, hour, day)

    # -- identity -------------------------------------------------------------------------------
    def _identity(self) -> tuple[Any, ...]:
        return (
            self._start_ts,
            self._end_ts,
            self.timezone,
            self.fmt,
            self.end_offset,
            self.cron_schedule,
            tuple(e.timestamp() if isinstance(e, datetime) else e for e in self.exclusions),
        )

    def equal_except_for_start_or_end(self, other: TimeWindowPartitionsDefinition) -> bool:
        return self._identity()[2:] == other._identity()[2:]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TimeWindowPartitionsDefinition)
            and self._identity() == other._identity()
        )

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        text = (
            f"TimeWindowPartitionsDefinition(start={self._start_ts}, end={self._end_ts}, "
            f"timezone={self.timezone!r}, fmt={self.fmt!r}, end_offset={self.end_offset}, "
            f"cron_schedule={self.cron_schedule!r})"
        )
        return text + (f", exclusions={list(self.exclusions)!r}" if self.exclusions else "")

    def __str__(self) -> str:
        kind = self.schedule_type
        cadence = kind.value.capitalize() if kind is not None else self.cron_schedule
        text = f"{cadence}, starting {self.format_key(self.start)} {self.timezone}."
        if self.end_offset:
            plural = "" if self.end_offset == 1 else "s"
            text += f" End offsetted by {self.end_offset} partition{plural}."
        return text


def _cron_number(cron: str, index: int, name: str) -> int:
    field = cron.split()[index]
    if not field.isdigit():
        raise InvalidDefinitionError(f"{name}: {cron!r} has no fixed value there ({field!r}).")
    return int(field)


def _resolve_cron(
    owner: str,
    cron_schedule: str | None,
    schedule_type: ScheduleType | str | None,
    minute_offset: int | None,
    hour_offset: int | None,
    day_offset: int | None,
) -> str:
    if cron_schedule is not None:
        if schedule_type is not None or minute_offset or hour_offset or day_offset:
            raise InvalidDefinitionError(
                f"{owner}: give cron_schedule=… or schedule_type=… with minute/hour/day "
                "offsets, not both."
            )
    elif schedule_type is None:
        raise InvalidDefinitionError(
            f"{owner}: say where windows start, with cron_schedule='0 0 * * *' (for example) "
            "or schedule_type."
        )
    else:
        cron_schedule = cron_schedule_for(
            schedule_type, minute_offset or 0, hour_offset or 0, day_offset or None
        )
    try:
        check_cron(cron_schedule)
    except ValueError as exc:
        raise InvalidDefinitionError(f"{owner}.{exc}") from None
    return cron_schedule


def _resolve_exclusions(
    owner: str, exclusions: Sequence[str | datetime] | None, tz: ZoneInfo
) -> tuple[str | datetime, ...]:
    resolved: list[str | datetime] = []
    for item in exclusions or ():
        if isinstance(item, datetime):
            resolved.append(item.replace(tzinfo=tz))
        elif isinstance(item, str):
            try:
                check_cron(item)
            except ValueError as exc:
                raise InvalidDefinitionError(f"{owner}.exclusions: {exc}") from None
            resolved.append(item)
        else:
            raise InvalidDefinitionError(
                f"{owner}.exclusions: expected cron strings or datetimes, got {item!r}."
            )
    return tuple(resolved)


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour, starting `minute_offset` minutes past the hour."""

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        super().__init__(
            start=start_date,
            fmt=fmt or DEFAULT_HOURLY_FORMAT,
            end=end_date,
            schedule_type=ScheduleType.HOURLY,
            timezone=timezone,
            end_offset=end_offset,
            minute_offset=minute_offset,
            exclusions=exclusions,
        )


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day, starting at `hour_offset:minute_offset`."""

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        super().__init__(
            start=start_date,
            fmt=fmt or DEFAULT_DATE_FORMAT,
            end=end_date,
            schedule_type=ScheduleType.DAILY,
            timezone=timezone,
            end_offset=end_offset,
            minute_offset=minute_offset,
            hour_offset=hour_offset,
            exclusions=exclusions,
        )


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week, starting on `day_offset` (0 is Sunday)."""

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
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        super().__init__(
            start=start_date,
            fmt=fmt or DEFAULT_DATE_FORMAT,
            end=end_date,
            schedule_type=ScheduleType.WEEKLY,
            timezone=timezone,
            end_offset=end_offset,
            minute_offset=minute_offset,
            hour_offset=hour_offset,
            day_offset=day_offset,
            exclusions=exclusions,
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month, starting on day `day_offset` of the month."""

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
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        super().__init__(
            start=start_date,
            fmt=fmt or DEFAULT_DATE_FORMAT,
            end=end_date,
            schedule_type=ScheduleType.MONTHLY,
            timezone=timezone,
            end_offset=end_offset,
            minute_offset=minute_offset,
            hour_offset=hour_offset,
            day_offset=day_offset,
            exclusions=exclusions,
        )
