"""When an EventBridge Scheduler schedule fires next: its ``cron(...)``, ``rate(...)`` or
``at(...)`` expression in its time zone, within its start and end dates.

The retraining schedule's expression comes from the deployment settings (``schedule`` in
cdk.json, ``cron(0 3 * * ? *)`` in both presets; infra/config.py passes any string on to
CfnSchedule, so every form Scheduler takes is read here). Cron fields, as Scheduler has them:
minutes, hours, day of month, month (1-12 or JAN-DEC), day of week (1-7 = SUN-SAT, or SUN-SAT)
and year; ``* , - /`` everywhere, ``?`` in one of the two day fields, ``L`` (last day of the
month; in the day of week, Saturday, or ``5L`` the month's last Thursday), ``W`` (``15W``: the
weekday nearest the 15th, ``LW``: the month's last weekday) and ``#`` (``3#2``: its second
Tuesday). Times are wall-clock times of the schedule's zone: a time a clock change skips does
not fire, one it repeats fires once (the first).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = {calendar.month_abbr[i].upper(): i for i in range(1, 13)}  # JAN -> 1
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
SEARCH_DAYS = 8 * 366  # far enough for any yearly or leap-day schedule
RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
CRON = re.compile(r"^cron\((.*)\)$")
UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """An expression or time zone this module cannot read."""


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression (the day fields kept as text: they depend on the month)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: str
    months: frozenset[int]
    day_of_week: str
    years: frozenset[int] | None  # None: every year


def zone(name: str | None) -> tzinfo:
    """The schedule's time zone (Scheduler's default: UTC)."""
    if not name or name.upper() in ("UTC", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"time zone {name!r} is unknown to this runtime") from exc


def _number(text: str, low: int, high: int, names: dict[str, int] | None) -> int:
    value = (names or {}).get(text.upper()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise ScheduleError(f"{text!r} is not in {low}-{high}")
    return value


def values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """The numbers a plain cron field (``*``, lists, ranges, steps, names) stands for."""
    out: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleError(f"{item!r}: the step must be a positive number")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _number(a, low, high, names), _number(b, low, high, names)
        else:
            first = _number(span, low, high, names)
            last = high if step else first
        if first > last:
            raise ScheduleError(f"{item!r}: the range runs backwards")
        out.update(range(first, last + 1, step or 1))
    return frozenset(out)


def parse_cron(body: str) -> Cron:
    """The six fields of ``cron(...)``'s body."""
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(f"cron({body}): expected 6 fields, found {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"cron({body}): exactly one of the day fields must be '?'")
    cron = Cron(
        minutes=tuple(sorted(values(minute, 0, 59))),
        hours=tuple(sorted(values(hour, 0, 23))),
        day_of_month=dom.upper(),
        months=values(month, 1, 12, MONTHS),
        day_of_week=dow.upper(),
        years=None if year == "*" else values(year, 1970, 2199),
    )
    day_matches(cron, date(2026, 1, 1))  # reads the day fields: malformed ones raise here
    return cron


def _dow(day: date) -> int:
    """Scheduler's day of week: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, target: int) -> int:
    """The weekday nearest day ``target`` of the month, within the month (``W``)."""
    last = calendar.monthrange(year, month)[1]
    target = min(target, last)
    weekday = date(year, month, target).weekday()
    if weekday == 5:  # Saturday: Friday, or Monday when Friday is in the month before
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday, or Friday when Monday is in the month after
        return target + 1 if target < last else target - 2
    return target


def _dom_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for item in field.split(","):
        if item == "L":
            hit = day.day == last
        elif item == "LW":
            hit = day.day == _nearest_weekday(day.year, day.month, last)
        elif item.endswith("W"):
            hit = day.day == _nearest_weekday(day.year, day.month, _number(item[:-1], 1, 31, None))
        else:
            hit = day.day in values(item, 1, 31)
        if hit:
            return True
    return False


def _dow_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for item in field.split(","):
        if item == "L":
            hit = _dow(day) == DAYS["SAT"]
        elif item.endswith("L"):  # the month's last such day
            hit = _dow(day) == _number(item[:-1], 1, 7, DAYS) and day.day + 7 > last
        elif "#" in item:
            weekday, _, nth = item.partition("#")
            hit = _dow(day) == _number(weekday, 1, 7, DAYS) and (day.day - 1) // 7 + 1 == _number(
                nth, 1, 5, None
            )
        else:
            hit = _dow(day) in values(item, 1, 7, DAYS)
        if hit:
            return True
    return False


def day_matches(cron: Cron, day: date) -> bool:
    """Whether the schedule fires on ``day`` (its month and year checked too)."""
    if day.month not in cron.months or (cron.years is not None and day.year not in cron.years):
        return False
    if cron.day_of_month == "?":
        return _dow_matches(cron.day_of_week, day)
    return _dom_matches(cron.day_of_month, day)


def next_cron(cron: Cron, tz: tzinfo, after: datetime) -> datetime | None:
    """The first firing strictly after ``after`` (UTC), or None within SEARCH_DAYS."""
    first = after.astimezone(tz).date()
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        if cron.years is not None and day.year > max(cron.years):
            return None
        if not day_matches(cron, day):
            continue
        for hour in cron.hours:
            for minute in cron.minutes:
                wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                when = wall.astimezone(UTC)
                if when.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
                    continue  # a time the clock skips
                if when > after:
                    return when
    return None


def next_rate(period_s: int, anchor: datetime, after: datetime) -> datetime:
    """The first of ``anchor + k * period`` strictly after ``after``."""
    if anchor > after:
        return anchor
    periods = int((after - anchor).total_seconds() // period_s) + 1
    return anchor + timedelta(seconds=periods * period_s)


def next_run(
    expression: str,
    timezone: str | None,
    after: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    anchor: datetime | None = None,
) -> datetime | None:
    """When the schedule fires next after ``after`` (UTC), or None when it never will again.
    ``anchor``: when a ``rate`` schedule's periods count from (its start date, else its
    creation). Raises ScheduleError for an expression or zone it cannot read."""
    text = expression.strip()
    tz = zone(timezone)
    since = max(after, start - timedelta(microseconds=1)) if start else after
    if found := RATE.match(text):
        period_s = int(found[1]) * UNITS[found[2].removesuffix("s")]
        if period_s <= 0:
            raise ScheduleError(f"{text}: the rate must be positive")
        if anchor is None and start is None:
            raise ScheduleError(f"{text}: the schedule's start or creation time is unknown")
        when: datetime | None = next_rate(period_s, start or anchor or after, since)
    elif found := AT.match(text):
        wall = datetime.fromisoformat(found[1]).replace(tzinfo=tz).astimezone(UTC)
        when = wall if wall > since else None
    elif found := CRON.match(text):
        when = next_cron(parse_cron(found[1]), tz, since)
    else:
        raise ScheduleError(f"{text!r}: expected cron(...), rate(...) or at(...)")
    if when is not None and end is not None and when > end:
        return None
    return when
