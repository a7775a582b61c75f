"""Where time windows start: the ticks of a cron expression, computed as cheaply as possible.

A time-window partitions definition needs its cron's ticks in both directions and, to list
100,000 hourly keys in a blink, without parsing cron for each one. Three sources give the same
ticks as `kubedag.clock.cron` (tests compare them):

- `FixedStepTicks`: every N seconds in absolute time ("15 * * * *" in a zone whose offsets are
  whole hours): pure arithmetic on timestamps.
- `WallClockTicks`: a fixed time of day every day, week or month ("0 6 * * *", "0 0 * * 1",
  "0 0 1 * *"): arithmetic on wall-clock dates, each mapped to an instant with the cron rules
  for times that do not exist or happen twice.
- `CronTicks`: anything else, through `kubedag.clock.cron`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

from kubedag.clock.cron import (
    cron_fields,
    cron_ticks,
    previous_tick,
    wall_time_instants,
    zone,
)

# Zones are judged by their offsets over this span; partitions rarely start before it.
_SAMPLE_YEARS = range(1970, 2061)


class TickSource(Protocol):
    def ascending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]: ...

    def descending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]: ...


@functools.lru_cache(maxsize=64)
def _offsets(timezone: str) -> frozenset[float]:
    tz = zone(timezone)
    seen: set[float] = set()
    for year in _SAMPLE_YEARS:
        for month in (1, 4, 7, 10):
            offset = datetime(year, month, 1, 12, tzinfo=tz).utcoffset()
            seen.add(offset.total_seconds() if offset is not None else 0.0)
    return frozenset(seen)


def is_fixed_offset_zone(timezone: str) -> bool:
    """Whether wall-clock time in `timezone` is UTC shifted by one constant offset."""
    return len(_offsets(timezone)) == 1


class FixedStepTicks:
    """Ticks every `step` seconds, at `phase` seconds past a multiple of `step` (UTC epoch)."""

    def __init__(self, step: int, phase: int, timezone: str) -> None:
        self.step = step
        self.phase = phase
        self.tz = zone(timezone)

    def ascending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]:
        index = math.ceil((timestamp - self.phase) / self.step)
        moment = self.phase + index * self.step
        if moment == timestamp and not inclusive:
            moment += self.step
        while True:
            yield datetime.fromtimestamp(moment, self.tz)
            moment += self.step

    def descending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]:
        index = math.floor((timestamp - self.phase) / self.step)
        moment = self.phase + index * self.step
        if moment == timestamp and not inclusive:
            moment -= self.step
        while True:
            yield datetime.fromtimestamp(moment, self.tz)
            moment -= self.step

    def starts(self, first: float, last: float) -> list[datetime]:
        """Every tick from `first` to `last` (both ticks), at once."""
        tz = self.tz
        return [datetime.fromtimestamp(t, tz) for t in range(int(first), int(last) + 1, self.step)]


class WallClockTicks:
    """A fixed time of day, every day (`unit="day"`), week or month."""

    def __init__(
        self, unit: str, hour: int, minute: int, timezone: str, weekday: int = 0, day: int = 1
    ) -> None:
        self.unit = unit
        self.hour = hour
        self.minute = minute
        self.weekday = weekday % 7  # cron: 0 (or 7) is Sunday
        self.day = day
        self.timezone = timezone
        self.tz = zone(timezone)
        self.fixed = is_fixed_offset_zone(timezone)

    def _instant(self, wall: datetime) -> datetime:
        if self.fixed:
            return wall.replace(tzinfo=self.tz)
        return wall_time_instants(wall, self.timezone, every_hour=False)[0]

    def _anchor(self, wall: datetime) -> datetime:
        """A matching wall time at or before `wall`."""
        at = wall.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if self.unit == "day":
            return at if at <= wall else at - timedelta(days=1)
        if self.unit == "week":
            cron_weekday = (at.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
            at -= timedelta(days=(cron_weekday - self.weekday) % 7)
            return at if at <= wall else at - timedelta(days=7)
        at = at.replace(day=self.day)
        return at if at <= wall else self._step(at, -1)

    def _step(self, wall: datetime, direction: int) -> datetime:
        if self.unit == "day":
            return wall + timedelta(days=direction)
        if self.unit == "week":
            return wall + timedelta(days=7 * direction)
        months = wall.year * 12 + wall.month - 1 + direction
        return wall.replace(year=months // 12, month=months % 12 + 1)

    def _wall(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, self.tz).replace(tzinfo=None)

    def ascending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]:
        # Start two periods back: a moved (daylight-saving) tick may land after its wall time.
        wall = self._step(self._anchor(self._wall(timestamp)), -2)
        while True:
            moment = self._instant(wall)
            stamp = moment.timestamp()
            if stamp > timestamp or (inclusive and stamp == timestamp):
                yield moment
            wall = self._step(wall, 1)

    def descending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]:
        wall = self._step(self._anchor(self._wall(timestamp)), 2)
        while True:
            moment = self._instant(wall)
            stamp = moment.timestamp()
            if stamp < timestamp or (inclusive and stamp == timestamp):
                yield moment
            wall = self._step(wall, -1)


class CronTicks:
    """Any cron expression, through `kubedag.clock.cron`."""

    def __init__(self, cron_schedule: str, timezone: str) -> None:
        self.cron_schedule = cron_schedule
        self.timezone = timezone

    def ascending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]:
        start = datetime.fromtimestamp(timestamp, UTC)
        return cron_ticks(self.cron_schedule, self.timezone, start, inclusive=inclusive)

    def descending(self, timestamp: float, inclusive: bool) -> Iterator[datetime]:
        before = datetime.fromtimestamp(timestamp, UTC)
        if inclusive:
            first = next(cron_ticks(self.cron_schedule, self.timezone, before, inclusive=True))
            if first.timestamp() == timestamp:
                yield first
        while True:
            tick = previous_tick(self.cron_schedule, self.timezone, before)
            if tick is None:
                return
            yield tick
            before = tick


def _even_minutes(field: str) -> tuple[int, int] | None:
    """(step, first minute) when the minute field fires every `step` minutes within the hour."""
    if field == "*":
        return 1, 0
    if field.startswith("*/") and field[2:].isdigit() and 60 % int(field[2:]) == 0:
        return int(field[2:]), 0
    if field.isdigit() and int(field) < 60:
        return 60, int(field)
    return None


def tick_source(cron_schedule: str, timezone: str) -> TickSource:
    """The cheapest source that yields exactly the ticks of `cron_schedule` in `timezone`."""
    minute, hour, day, month, weekday = cron_fields(cron_schedule)
    offsets = _offsets(timezone)
    if hour == day == month == weekday == "*":
        even = _even_minutes(minute)
        if even is not None:
            step_minutes, first = even
            step = step_minutes * 60
            # Every tick is a fixed step apart in absolute time only if no offset of the zone
            # moves wall-clock minutes off that grid.
            if all(offset % step == 0 for offset in offsets):
                return FixedStepTicks(step, (first * 60) % step, timezone)
    if minute.isdigit() and hour.isdigit() and month == "*":
        m, h = int(minute), int(hour)
        if m < 60 and h < 24:
            if day == "*" and weekday == "*":
                return WallClockTicks("day", h, m, timezone)
            if day == "*" and weekday.isdigit() and int(weekday) <= 7:
                return WallClockTicks("week", h, m, timezone, weekday=int(weekday))
            if weekday == "*" and day.isdigit() and 1 <= int(day) <= 28:
                return WallClockTicks("month", h, m, timezone, day=int(day))
    return CronTicks(cron_schedule, timezone)
