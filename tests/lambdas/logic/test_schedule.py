"""The next run of an EventBridge Scheduler expression: cron with Scheduler's day rules, rate,
at; time zones and their clock changes; start and end dates; what cannot be read says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lambdas.logic.schedule import ScheduleError, next_run

NOW = datetime(2026, 12, 14, 5, 0, tzinfo=UTC)  # a Monday


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "timezone", "expected"),
    [
        ("cron(0 3 * * ? *)", None, at(2026, 12, 15, 3, 0)),  # the presets' schedule
        ("cron(0 6 * * ? *)", "UTC", at(2026, 12, 14, 6, 0)),  # later today
        ("cron(0/20 * * * ? *)", None, at(2026, 12, 14, 5, 20)),  # strictly after now
        ("cron(0 3 ? * MON-FRI *)", "Europe/Paris", at(2026, 12, 15, 2, 0)),  # CET = UTC+1
        ("cron(0 9 ? * SAT,SUN *)", None, at(2026, 12, 19, 9, 0)),
        ("cron(0 9 ? * 1 *)", None, at(2026, 12, 20, 9, 0)),  # 1 = Sunday
        ("cron(30 2 ? * 1#2 *)", "Europe/Paris", at(2027, 1, 10, 1, 30)),  # second Sunday
        ("cron(0 12 L * ? *)", None, at(2026, 12, 31, 12, 0)),  # last day of the month
        ("cron(0 12 LW 2 ? *)", None, at(2027, 2, 26, 12, 0)),  # Feb 28 2027 is a Sunday
        ("cron(0 12 ? * 6L *)", None, at(2026, 12, 25, 12, 0)),  # last Friday
        ("cron(0 12 ? * L *)", None, at(2026, 12, 19, 12, 0)),  # L alone: Saturday
        ("cron(0 12 1W 8 ? *)", None, at(2027, 8, 2, 12, 0)),  # Aug 1 2027: Sunday -> Monday
        ("cron(0 12 29 2 ? *)", None, at(2028, 2, 29, 12, 0)),  # the next leap day
        ("cron(0 0 1 JAN,JUL ? 2027-2030)", None, at(2027, 1, 1, 0, 0)),
        ("rate(6 hours)", None, at(2026, 12, 14, 7, 0)),  # anchored at creation, 01:00
        ("rate(1 day)", None, at(2026, 12, 15, 1, 0)),
        ("at(2027-01-01T00:00:00)", "America/New_York", at(2027, 1, 1, 5, 0)),
    ],
)
def test_the_next_run(expression, timezone, expected):
    created = at(2026, 12, 1, 1, 0)
    assert next_run(expression, timezone, NOW, anchor=created) == expected


def test_a_time_the_clock_skips_does_not_fire_and_a_repeated_one_fires_once():
    spring = next_run("cron(30 2 * * ? *)", "Europe/Paris", at(2027, 3, 28, 0, 0))
    assert spring == at(2027, 3, 29, 0, 30)  # 02:30 does not exist on Mar 28; CEST the next day
    autumn = next_run("cron(30 2 * * ? *)", "Europe/Paris", at(2027, 10, 30, 23, 0))
    assert autumn == at(2027, 10, 31, 0, 30)  # the first 02:30 (CEST)
    assert next_run("cron(30 2 * * ? *)", "Europe/Paris", autumn) == at(2027, 11, 1, 1, 30)


def test_start_and_end_dates_bound_the_runs():
    start, end = at(2027, 1, 10, 0, 0), at(2027, 1, 12, 0, 0)
    assert next_run("cron(0 3 * * ? *)", None, NOW, start=start) == at(2027, 1, 10, 3, 0)
    assert next_run("cron(0 3 * * ? *)", None, NOW, end=at(2026, 12, 14, 12)) is None
    assert next_run("rate(1 day)", None, NOW, start=start, end=end) == start
    assert next_run("cron(0 3 * * ? *)", None, at(2027, 1, 11, 4), end=end) is None


def test_schedules_that_never_fire_again_have_no_next_run():
    assert next_run("at(2026-01-01T00:00:00)", None, NOW) is None
    assert next_run("cron(0 0 1 1 ? 2025)", None, NOW) is None


@pytest.mark.parametrize(
    ("expression", "timezone", "says"),
    [
        ("cron(0 3 * * *)", None, "6 fields"),
        ("cron(0 3 * * * *)", None, "exactly one of the day fields"),
        ("cron(0 3 ? * ? *)", None, "exactly one of the day fields"),
        ("cron(61 3 * * ? *)", None, "not in 0-59"),
        ("cron(0 3 * FOO ? *)", None, "not in 1-12"),
        ("cron(0 3 ? * 8 *)", None, "not in 1-7"),
        ("cron(0 5-3 * * ? *)", None, "backwards"),
        ("cron(0/0 3 * * ? *)", None, "step"),
        ("cron(0 3 ? * 2#6 *)", None, "not in 1-5"),
        ("rate(5 fortnights)", None, "expected cron"),
        ("every day", None, "expected cron"),
        ("cron(0 3 * * ? *)", "Mars/Olympus", "unknown to this runtime"),
    ],
)
def test_what_cannot_be_read_says_why(expression, timezone, says):
    with pytest.raises(ScheduleError, match=says):
        next_run(expression, timezone, NOW, anchor=NOW - timedelta(days=1))


def test_a_rate_without_its_start_or_creation_cannot_be_placed():
    with pytest.raises(ScheduleError, match="start or creation"):
        next_run("rate(1 hour)", None, NOW)
