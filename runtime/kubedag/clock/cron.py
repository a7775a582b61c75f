"""Cron arithmetic in a time zone, with the reference's daylight-saving rules.

A cron expression describes wall-clock times ("30 2 * * *" is 02:30 every day). In a time zone
with daylight saving, a wall-clock time may not exist (the clock jumps from 02:00 to 03:00) or
may happen twice (01:00 to 02:00 is repeated when the clock goes back). The reference's schedules
resolve this, and so do we, so that a schedule neither misses a day nor runs twice:

- A time that does not exist fires once, at the instant the clock jumps (02:30 → 03:00 in
  America/New_York on spring-forward day), unless the expression runs every hour: an hourly
  expression simply has no tick in the missing hour.
- A time that happens twice fires once, at its second (post-transition) occurrence, unless the
  expression runs every hour: an hourly expression fires at both, so it never skips or doubles
  an absolute hour (25 ticks of "0 * * * *" on fall-back day, 23 on spring-forward day).

The expression itself is parsed and matched against naive wall-clock times by `cronsim`; this
module only maps those wall-clock times to instants. All functions are pure.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "check_cron",
    "cron_fields",
    "cron_ticks",
    "is_hourly_cron",
    "next_tick",
    "previous_tick",
    "wall_time_instants",
    "zone",
]

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EXAMPLE = "'0 6 * * 1-5' (06:00 on weekdays) or '@daily'"
# Naive wall-clock matches are read from this far before the start: enough to catch a time
# repeated by a fall-back transition or moved forward by a spring-forward one (at most 2 hours
# in any zone's history).
_LOOKBACK = timedelta(hours=3)


@dataclass(frozen=True)
class _Cron:
    """A checked expression: its five fields, and whether it fires in every hour of the day."""

    fields: str
    every_hour: bool


@functools.lru_cache(maxsize=512)
def _parse(expression: str) -> _Cron:
    if not isinstance(expression, str):
        raise ValueError(
            f"cron_schedule: expected a string, got {type(expression).__name__} "
            f"{expression!r}; for example {_EXAMPLE}."
        )
    text = " ".join(expression.split())
    fields = _ALIASES.get(text.lower(), text)
    if len(fields.split()) != 5:
        raise ValueError(
            f"cron_schedule {expression!r} has {len(fields.split())} fields; a cron expression "
            f"has five (minute hour day-of-month month day-of-week) or is one of "
            f"{', '.join(sorted(_ALIASES))}: for example {_EXAMPLE}."
        )
    _, _, day, month, _ = fields.split()
    if month in {"2", "FEB", "feb"} and day in {"30", "31"}:
        raise ValueError(
            f"cron_schedule {expression!r} names February {day}, which never happens; "
            f"for example {_EXAMPLE}."
        )
    from cronsim import CronSim, CronSimError  # imported on first use: keeps `import kubedag` fast

    try:
        sim = CronSim(fields, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(
            f"cron_schedule {expression!r} is not a valid cron expression: "
            f"{_explain_cron_error(fields.split(), str(exc))} Write each field as *, a value, "
            f"a list (0,30), a range (1-5) or a step (*/15); for example {_EXAMPLE}."
        ) from None
    return _Cron(fields=fields, every_hour=len(sim.hours) == 24)


@dataclass(frozen=True)
class _FieldRule:
    """What one of the five fields accepts, for messages."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # JAN…DEC or SUN…SAT, numbered from `low`
    note: str = ""


_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELD_RULES = (
    _FieldRule("minute", 0, 59),
    _FieldRule("hour", 0, 23),
    _FieldRule("day-of-month", 1, 31, note=", or L for the last day"),
    _FieldRule("month", 1, 12, _MONTH_NAMES),
    _FieldRule(
        "day-of-week",
        0,
        7,
        _DAY_NAMES,
        " (0 and 7 are Sunday)",
    ),
)


def _explain_cron_error(fields: list[str], cronsim_message: str) -> str:
    """Which field is wrong and why, from cronsim's terse "Bad minute"."""
    index = next(
        (i for i, rule in enumerate(_FIELD_RULES) if cronsim_message.endswith(rule.name)), None
    )
    if index is None:
        return f"{cronsim_message}."
    rule, text = _FIELD_RULES[index], fields[index]
    allowed = f"{rule.low}-{rule.high}"
    if rule.names:
        allowed += f" or {rule.names[0]}-{rule.names[-1]}"
    problem = _field_problem(rule, text)
    return f"its {rule.name} field {text!r} {problem}; {rule.name} values are {allowed}{rule.note}."


def _field_problem(rule: _FieldRule, text: str) -> str:
    """What is wrong in one field's text; "is not valid" when nothing more precise is found."""
    for item in text.split(","):
        base, _, step = item.partition("/")
        if "/" in item and not (step.isdigit() and int(step) > 0):
            return f"has the step '/{step}'; a step is a whole number of 1 or more"
        low_text, dash, high_text = base.partition("-")
        values = []
        for part in (low_text, high_text) if dash else (low_text,):
            if part == "*" and not dash:
                continue
            value = _field_value(rule, part)
            if value is None:
                if part == text:
                    return f"is not a {rule.name} value"
                return f"has {part!r}, which is not a {rule.name} value"
            if not rule.low <= value <= rule.high:
                return "is out of range" if str(value) == text else f"has {value}, out of range"
            values.append(value)
        if dash and len(values) == 2 and values[0] > values[1]:
            return f"has the range {base!r}, which runs backwards (write the smaller end first)"
    return "is not valid"


def _field_value(rule: _FieldRule, text: str) -> int | None:
    if text.upper() in rule.names:
        return rule.names.index(text.upper()) + rule.low
    return int(text) if text.isdigit() else None


def check_cron(expression: str) -> None:
    """Raise `ValueError` naming what is wrong if `expression` is not a usable cron expression.

    Five fields (minute hour day-of-month month day-of-week, names like MON or JAN allowed) or an
    alias such as `@daily`. Seconds fields are refused, as in the reference.
    """
    _parse(expression)


def cron_fields(expression: str) -> list[str]:
    """The five fields of a checked expression, aliases expanded (`@daily` → `0 0 * * *`)."""
    return _parse(expression).fields.split()


def is_hourly_cron(expression: str) -> bool:
    """Whether the expression fires in every hour of the day (its hour field is `*`)."""
    return _parse(expression).every_hour


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The time zone called `name`, raising `ValueError` with a fix when there is none: the
    closest IANA name when one is close (`Europe/Londn` → `Europe/London`, `utc` → `UTC`)."""
    try:
        if not isinstance(name, str):
            raise TypeError(name)
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError, TypeError):
        raise ValueError(
            f"timezone {name!r} is not an IANA time zone name.{_closest_zone(name)} Use a name "
            "of the IANA time zone database, such as 'UTC', 'America/New_York' or "
            "'Europe/Berlin'."
        ) from None


def _closest_zone(name: object) -> str:
    """` Did you mean 'Europe/London'?`, or `""` when no IANA name is close to `name`."""
    from zoneinfo import available_timezones

    from kubedag.config.suggestions import did_you_mean

    return did_you_mean(name, available_timezones())


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def _is_ambiguous(wall: datetime, tz: ZoneInfo) -> bool:
    return (
        wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset()
    )


def _after_jump(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clock jumped over `wall` (a time that does not exist): the transition."""
    # Both readings of a missing time straddle the transition; the transition is the earliest
    # instant whose wall clock is past `wall`.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(tz)


def _instants(wall: datetime, tz: ZoneInfo, every_hour: bool) -> list[datetime]:
    """The instants a naive wall-clock match stands for, earliest first."""
    if not _exists(wall, tz):
        return [] if every_hour else [_after_jump(wall, tz)]
    if _is_ambiguous(wall, tz):
        later = wall.replace(tzinfo=tz, fold=1)
        return [wall.replace(tzinfo=tz, fold=0), later] if every_hour else [later]
    return [wall.replace(tzinfo=tz)]


def wall_time_instants(wall: datetime, timezone: str, *, every_hour: bool) -> list[datetime]:
    """The instants a cron that matched naive wall-clock time `wall` fires at, earliest first.

    Empty for a missing time of an every-hour cron, two for a repeated time of one; otherwise
    one. Time-window partitions use it to step through days or months without a cron parser.
    """
    return _instants(wall, zone(timezone), every_hour)


def _utc_key(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _sorted_instants(
    walls: Iterable[datetime], tz: ZoneInfo, every_hour: bool, reverse: bool
) -> Iterator[datetime]:
    """Instants of successive naive matches, in time order even where folds interleave.

    Within a repeated hour, an every-hour expression's first and second occurrences interleave
    (01:00 EDT, 01:30 EDT, 01:00 EST, …), so matches inside it are gathered and sorted first.
    """
    held: list[datetime] = []
    for wall in walls:
        instants = _instants(wall, tz, every_hour)
        if len(instants) == 2:
            held.extend(instants)
            continue
        if held:
            yield from sorted(held, key=_utc_key, reverse=reverse)
            held = []
        yield from (reversed(instants) if reverse else instants)
    yield from sorted(held, key=_utc_key, reverse=reverse)


def _naive(moment: datetime, tz: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(
            f"cron ticks need an aware datetime, got naive {moment.isoformat()}; "
            "give it a tzinfo (datetime(…, tzinfo=ZoneInfo('UTC')))."
        )
    return moment.astimezone(tz).replace(tzinfo=None)


def _walls(fields: str, start: datetime, reverse: bool) -> Iterator[datetime]:
    from cronsim import CronSim

    try:
        yield from CronSim(fields, start, reverse=reverse)
    except StopIteration:  # pragma: no cover - cronsim gives up after 50 years without a match
        return


def _ticks_of_one(
    expression: str, tz: ZoneInfo, start: datetime, inclusive: bool
) -> Iterator[datetime]:
    cron = _parse(expression)
    # CronSim yields strictly after its start; a second before includes a match at it.
    wall_start = _naive(start, tz) - _LOOKBACK - timedelta(seconds=1)
    threshold = start.timestamp()
    last = None
    for moment in _sorted_instants(
        _walls(cron.fields, wall_start, False), tz, cron.every_hour, False
    ):
        stamp = moment.timestamp()
        if stamp < threshold or (stamp == threshold and not inclusive):
            continue
        if last is not None and stamp <= last:
            continue
        last = stamp
        yield moment


def _as_list(cron_schedule: str | Sequence[str]) -> list[str]:
    expressions = [cron_schedule] if isinstance(cron_schedule, str) else list(cron_schedule)
    if not expressions:
        raise ValueError(
            f"cron_schedule: an empty list has no ticks; give one or more expressions, "
            f"for example {_EXAMPLE}."
        )
    for expression in expressions:
        _parse(expression)
    return expressions


def cron_ticks(
    cron_schedule: str | Sequence[str],
    timezone: str,
    start: datetime,
    end: datetime | None = None,
    *,
    inclusive: bool = False,
) -> Iterator[datetime]:
    """The ticks of one or several cron expressions, as aware datetimes in `timezone`.

    Ascending, strictly after `start` (or also at it when `inclusive`), before `end` when one is
    given (otherwise the iterator is endless). Several expressions give the union of their ticks,
    each instant once.
    """
    tz = zone(timezone)
    expressions = _as_list(cron_schedule)
    streams = [_ticks_of_one(expr, tz, start, inclusive) for expr in expressions]
    merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_utc_key)
    end_stamp = None if end is None else end.timestamp()
    last = None
    for moment in merged:
        stamp = moment.timestamp()
        if end_stamp is not None and stamp >= end_stamp:
            return
        if stamp == last:
            continue
        last = stamp
        yield moment


def next_tick(cron_schedule: str | Sequence[str], timezone: str, after: datetime) -> datetime:
    """The first tick strictly after `after`."""
    return next(cron_ticks(cron_schedule, timezone, after))


def _previous_of_one(expression: str, tz: ZoneInfo, before: datetime) -> datetime | None:
    cron = _parse(expression)
    threshold = before.timestamp()
    wall_start = _naive(before, tz) + _LOOKBACK + timedelta(seconds=1)
    best: datetime | None = None
    walls = _walls(cron.fields, wall_start, True)
    for moment in _sorted_instants(walls, tz, cron.every_hour, True):
        if moment.timestamp() < threshold and (
            best is None or moment.timestamp() > best.timestamp()
        ):
            best = moment
        # Matches further back than the look-back window cannot map to a later instant.
        if best is not None and moment.replace(tzinfo=None) < best.replace(tzinfo=None) - _LOOKBACK:
            break
    return best


def previous_tick(
    cron_schedule: str | Sequence[str], timezone: str, before: datetime
) -> datetime | None:
    """The last tick strictly before `before`, or None when there is none (within 50 years)."""
    tz = zone(timezone)
    found = [_previous_of_one(expr, tz, before) for expr in _as_list(cron_schedule)]
    candidates = [moment for moment in found if moment is not None]
    return max(candidates, key=_utc_key) if candidates else None
