"""The music KPIs' attribution: which plays and follows count (only an answer issued to that very
listener that showed that song, or for a follow an "artists for you" answer that showed that
artist), the follow-through marker's moves, and its conditional writes against moto, with a
second request moving the marker between a request's read and its write."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.logic.attribution import (
    artists_for_you,
    attribute_kpi,
    day_of,
    follow_through,
    issued_record,
    next_follow,
)
from lambdas.logic.kpis import read_daily
from lambdas.store import keys
from lambdas.store.dynamodb import Store
from tests.lambdas.conftest import PREFIX

DAY = "2026-12-20"
SONGS = {"user_id": "u1", "kind": "songs", "items": ["s1", "s2"], "experiment": "onboarding",
         "variant": "model"}  # fmt: skip
ARTISTS = {**SONGS, "kind": "artists", "items": ["a1", "a2"]}
HOME_ARTISTS = {
    "user_id": "u1", "items": ["a1"], "experiment": "home", "variant": "softmax",
    "decision": {"bandit": "home", "kind": "artists_for_you", "position": 1},
}  # fmt: skip
FANS = {"user_id": "u1", "items": ["a1"], "experiment": "onboarding", "variant": "model"}


def test_a_play_of_a_song_its_listener_was_shown_counts_on_the_day():
    found = attribute_kpi(SONGS, "u1", "play", "s2", DAY)
    assert (found.kpi, found.warning, found.group) == (
        ("kpi", DAY, "plays_from_recommendations"), None, None)  # fmt: skip


@pytest.mark.parametrize(
    ("issued", "user", "kind", "shown", "field", "words"),
    [
        (None, "u1", "play", "s1", "recommendation_id", "unknown"),
        (SONGS, "u2", "play", "s1", "recommendation_id", "not issued to this listener"),
        ({**SONGS, "user_id": None}, "u1", "play", "s1", "recommendation_id", "not issued"),
        (SONGS, "u1", "play", "s9", "item_id", "not in that recommendation"),
        ({**SONGS, "items": []}, "u1", "play", "s1", "item_id", "not in that recommendation"),
        (SONGS, "u1", "follow", "s1", "recommendation_id", "not an answer of artists for you"),
        (FANS, "u1", "follow", "a1", "recommendation_id", "not an answer of artists for you"),
        (ARTISTS, "u1", "follow", "a9", "artist_id", "not in that recommendation"),
        (ARTISTS, "u2", "follow", "a1", "recommendation_id", "not issued to this listener"),
    ],
)  # fmt: skip
def test_what_does_not_count_says_why(
    issued: Any, user: str, kind: str, shown: str, field: str, words: str
) -> None:
    found = attribute_kpi(issued, user, kind, shown, DAY)
    assert found.kpi is None
    assert found.warning is not None
    assert found.warning[0] == field
    assert words in found.warning[1], found.warning


def test_follows_count_from_the_artists_route_and_the_home_screens_carousel_of_them():
    assert attribute_kpi(ARTISTS, "u1", "follow", "a1", DAY).kpi == (
        "kpi", DAY, "follows_from_artists")  # fmt: skip
    assert attribute_kpi(HOME_ARTISTS, "u1", "follow", "a1", DAY).kpi is not None
    assert [artists_for_you(i) for i in (SONGS, ARTISTS, HOME_ARTISTS, FANS)] == [
        False, True, True, False]  # fmt: skip
    other_carousel = {**HOME_ARTISTS, "decision": {"bandit": "home", "kind": "fans_also_like"}}
    assert not artists_for_you(other_carousel)


def test_the_issued_record_keeps_a_personal_lists_kind():
    payload = {"user_id": "u1", "kind": "artists", "items": [{"id": "a1"}, {"id": "a2"}]}
    record = issued_record("u1", "model", "v1", payload)
    assert (record["kind"], record["items"]) == ("artists", ["a1", "a2"])
    assert "kind" not in issued_record("u1", "model", "v1", {"items": [{"id": "s1"}]})


def test_the_day_is_the_servers_utc_day():
    assert day_of(0) == "1970-01-01"
    assert day_of(1_766_275_199.9) == "2025-12-20"  # one tenth of a second before midnight UTC


def test_the_marker_moves_first_then_second_then_never():
    assert next_follow(None, "a1") == "first"
    first = {"first": "a1", "first_day": DAY}
    assert next_follow(first, "a1") is None  # the same artist again
    assert next_follow(first, "a2") == "second"
    both = {**first, "second": "a2"}
    assert [next_follow(both, a) for a in ("a1", "a2", "a3")] == [None, None, None]


@pytest.fixture
def store(tables: Any) -> Store:
    return Store({"experiments": boto3.resource("dynamodb").Table(f"{PREFIX}-experiments")})


def totals(store: Store, *days: str) -> dict[str, int]:
    daily = read_daily(store, days or (DAY,))
    return {metric: sum(by_day.values()) for metric, by_day in daily.items()
            if metric in ("followers", "followed_another")}  # fmt: skip


def test_a_listener_counts_once_as_follower_and_once_as_following_another(store):
    assert follow_through(store, "u1", ["a1"], DAY) == {"followers": 1}
    assert follow_through(store, "u1", ["a1", "a1"], DAY) == {}  # the same artist: nothing
    later = "2026-12-22"
    assert follow_through(store, "u1", ["a2", "a3"], later) == {"followed_another": 1}
    assert follow_through(store, "u1", ["a4"], later) == {}  # a third: nothing more
    # the second counts under the first's day: the cohort that started following on DAY
    assert totals(store, DAY) == {"followers": 1, "followed_another": 1}
    assert totals(store, later) == {"followers": 0, "followed_another": 0}
    marker = store.follow_through("u1")
    assert marker is not None
    assert (marker["first"], marker["first_day"], marker["second"]) == ("a1", DAY, "a2")
    assert marker["expires_at"] > 0


def test_two_artists_in_one_batch_make_a_follower_who_followed_another(store):
    assert follow_through(store, "u2", ["a1", "a2"], DAY) == {"followers": 1, "followed_another": 1}
    assert totals(store) == {"followers": 1, "followed_another": 1}


def test_a_concurrent_request_moving_the_marker_first_is_not_counted_twice(store):
    """Request A reads no marker; before its write lands, request B records its own first
    follow: A's conditional write fails, A reads the marker again and records the second."""
    client = store.tables["experiments"].meta.client
    raced: list[dict[str, int]] = []

    def b_goes_first(**kwargs: Any) -> None:
        if not raced:  # once: B's own write passes through here too
            raced.append({})
            raced[0] = dict(follow_through(store, "u3", ["b"], DAY))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", b_goes_first)
    try:
        a = follow_through(store, "u3", ["a"], DAY)
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", b_goes_first)
    assert raced == [{"followers": 1}]
    assert a == {"followed_another": 1}
    assert totals(store) == {"followers": 1, "followed_another": 1}
    marker = store.follow_through("u3")
    assert marker is not None
    assert (marker["first"], marker["second"]) == ("b", "a")


def test_the_same_artist_followed_concurrently_counts_one_follower(store):
    client = store.tables["experiments"].meta.client
    raced: list[dict[str, int]] = []

    def same_first(**kwargs: Any) -> None:
        if not raced:
            raced.append({})
            raced[0] = dict(follow_through(store, "u4", ["a"], DAY))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", same_first)
    try:
        assert follow_through(store, "u4", ["a"], DAY) == {}
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", same_first)
    assert raced == [{"followers": 1}]
    assert totals(store) == {"followers": 1, "followed_another": 0}


def test_the_kpi_counters_are_sharded_per_day(store):
    for _ in range(30):
        follow_through(store, f"many-{_}", ["a"], DAY)
    items = [i for i in store.tables["experiments"].scan()["Items"] if "count" in i]
    assert {i["pk"].rsplit("#", 1)[0] for i in items} == {f"kpi#{DAY}"}
    assert len({i["pk"] for i in items}) > 1  # spread over shards
    assert all(i["pk"] in {keys.kpi_counter(DAY, s, "followers")["pk"]
                           for s in range(keys.COUNTER_SHARDS)} for i in items)  # fmt: skip
    assert totals(store)["followers"] == 30
