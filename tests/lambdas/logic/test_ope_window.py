"""Reading a window of a bandit's log for the off-policy evaluation: every minute's shards newest
first, in parallel; a deadline cuts the reading to a leading run of minutes; the bootstrap's
resamples bounded for many decisions."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.logic.ope_window import MIN_RESAMPLES, bandit_log, bounded, read_log
from lambdas.store import keys
from lambdas.store.dynamodb import Store
from tests.lambdas.conftest import PREFIX

NOW = 1_800_000_000.0  # seconds: minute 30,000,000


@pytest.fixture
def store(tables: Any) -> Store:
    return Store({"experiments": boto3.resource("dynamodb").Table(f"{PREFIX}-experiments")},
                 clock=lambda: NOW)  # fmt: skip


def log(store: Store, minute: int, shard: int, n: int) -> None:
    for i in range(n):
        store.tables["experiments"].put_item(Item={
            "pk": keys.bandit_log_pk("home", minute, shard),
            "sk": keys.bandit_log_sk(minute * 60_000 + i, f"r{minute}-{shard}-{i}", "impression",
                                     None),
            "position": 0, "type": "impression"})  # fmt: skip


def test_every_shard_of_every_minute_of_the_window_is_read(store):
    last = int(NOW // 60)
    for minute, shard in ((last, 0), (last, 7), (last - 30, 3), (last - 60, 5), (last - 61, 1)):
        log(store, minute, shard, 2)
    window = read_log(store, "home", hours=1, now=NOW)
    assert (window.asked, window.read, window.complete) == (61, 61, True)
    assert len(window.entries) == 8  # minute last - 61 is outside the hour
    assert len(bandit_log(store, "home", 1, NOW)) == 8
    assert bandit_log(store, "onboarding", 1, NOW) == []


def test_a_page_beyond_the_first_is_read(store):
    big = "x" * 200_000  # five items of 200 KB: more than a 1 MB query page
    last = int(NOW // 60)
    for i in range(6):
        store.tables["experiments"].put_item(Item={
            "pk": keys.bandit_log_pk("home", last, 2), "sk": f"{i}", "blob": big})  # fmt: skip
    assert len(read_log(store, "home", hours=0.1, now=NOW).entries) == 6


def test_a_passed_deadline_keeps_a_leading_run_of_minutes(store):
    last = int(NOW // 60)
    for minute in range(last - 200, last + 1):
        log(store, minute, 0, 1)
    window = read_log(store, "home", hours=3, now=NOW, deadline=NOW - 1)
    assert not window.complete
    assert window.read < window.asked == 181
    # the newest minutes first, unbroken: exactly one entry per minute read
    minutes = sorted(int(str(e["pk"]).split("#")[3]) for e in window.entries)
    assert minutes == list(range(last - window.read + 1, last + 1))


def test_the_resamples_shrink_for_many_decisions_but_not_below_the_floor():
    assert bounded(200, 1000, None) == 200
    assert bounded(200, 0, 400_000) == 200
    assert bounded(200, 2000, 400_000) == 200
    assert bounded(200, 4000, 400_000) == 100
    assert bounded(200, 10**7, 400_000) == MIN_RESAMPLES
    assert bounded(10, 10**7, 400_000) == 10  # never more than asked
