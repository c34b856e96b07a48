"""The music KPIs through ``POST /v1/events`` (moto, the home-screen world): a play of a song an
answer showed its listener counts once per answer and song, a follow of an artist an "artists
for you" answer (the route's, or the home screen's carousel) showed counts once, and the
follow-through counts each listener once; a forged id, another listener's answer, a song or
artist the answer did not show, and a follow from another list are stored but not counted, with
a warning; a retried event counts nothing again; two requests racing on a listener's
follow-through count each step once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.handlers import events, recommendations
from lambdas.logic import kpis
from lambdas.logic.services import services
from tests.lambdas.api.home_world import home_world
from tests.lambdas.api.loaded import Loaded, call

KNOWN = "u-kpi"  # personal songs s020..s039 and artists a001, a002


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    with home_world(tmp_path_factory.mktemp("kpis"), "k1", KNOWN) as found:
        yield found


def today() -> dict[str, int]:
    """Today's KPI counters (UTC), as the console reads them."""
    day = datetime.now(UTC).date().isoformat()
    return {metric: by_day[day] for metric, by_day in kpis.read_daily(services().store,
                                                                       [day]).items()}  # fmt: skip


def post(*batch: dict[str, Any]) -> dict[str, Any]:
    status, ack = call(events, "POST", "/v1/events", {"events": list(batch)})
    assert status == 200, ack
    return ack


def answer(user: str, what: str = "recommendations") -> dict[str, Any]:
    status, found = call(recommendations, "GET", f"/v1/users/{user}/{what}")
    assert status == 200, found
    return found


def play(user: str, event_id: str, rec: str | None, song: str) -> dict[str, Any]:
    event = {"event_id": event_id, "user_id": user, "type": "play", "item_id": song}
    return event if rec is None else {**event, "recommendation_id": rec}


def follow(user: str, event_id: str, rec: str | None, artist: str) -> dict[str, Any]:
    event = {"event_id": event_id, "user_id": user, "type": "follow", "artist_id": artist}
    return event if rec is None else {**event, "recommendation_id": rec}


def fields(ack: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w["field"], w["message"]) for w in ack.get("warnings", [])]


def test_plays_of_recommended_songs_count_once_per_answer_and_song(world):
    before = today()
    songs = answer(KNOWN)
    rec, (first, second) = songs["recommendation_id"], [i["id"] for i in songs["items"][:2]]
    batch = [play(KNOWN, "p-1", rec, first), play(KNOWN, "p-2", rec, second),
             play(KNOWN, "p-3", None, first)]  # fmt: skip
    ack = post(*batch)
    assert (ack["stored"], ack["counted"], fields(ack)) == (3, 2, [])  # no id: plain play
    retried = post(*batch)  # the same events again: acknowledged, nothing counted again
    assert (retried["stored"], retried["duplicates"], retried["counted"]) == (0, 3, 0)
    assert fields(retried) == []
    again = post(play(KNOWN, "p-4", rec, first))  # a second play of that song of that answer
    assert (again["stored"], again["counted"]) == (1, 0)
    assert fields(again) == [("events.0.item_id", "this play of that answer was counted before")]
    third = songs["items"][2]["id"]
    later = answer(KNOWN)  # another answer showing the same unplayed song: each counts once
    assert third in [i["id"] for i in later["items"]]
    ack = post(play(KNOWN, "p-5", rec, third),
               play(KNOWN, "p-6", later["recommendation_id"], third))  # fmt: skip
    assert ack["counted"] == 2
    assert today()["plays_from_recommendations"] - before["plays_from_recommendations"] == 4


def test_forged_foreign_and_unshown_plays_are_stored_not_counted(world):
    before = today()
    victims = answer("victim")
    song = victims["items"][0]["id"]
    mine = answer("attacker")
    ack = post(play("attacker", "f-1", "made-up-id", song),
               play("attacker", "f-2", victims["recommendation_id"], song),
               play("attacker", "f-3", mine["recommendation_id"], "not-shown"))  # fmt: skip
    assert (ack["stored"], ack["counted"]) == (3, 0)
    assert fields(ack) == [
        ("events.0.recommendation_id", "unknown or expired: not counted"),
        ("events.1.recommendation_id", "not issued to this listener: not counted"),
        ("events.2.item_id", "not in that recommendation: not counted"),
    ]
    stored = services().store.recent_events("attacker", fields=("type", "item_id"))
    assert len(stored) == 3  # every event is kept, only the counting is refused
    assert today() == before


def test_follows_from_artists_for_you_and_the_follow_through(world):
    before = today()
    user = "u-follows"
    artists = answer(user, "artists")
    rec, (first, second) = artists["recommendation_id"], [i["id"] for i in artists["items"][:2]]
    songs = answer(user)
    ack = post(follow(user, "a-1", rec, first),
               follow(user, "a-2", songs["recommendation_id"], first),  # a songs answer
               follow(user, "a-3", rec, "not-shown"))  # fmt: skip
    assert (ack["stored"], ack["counted"]) == (3, 1)
    assert fields(ack) == [
        ("events.1.recommendation_id",
         "not an answer of artists for you: the follow is not counted"),
        ("events.2.artist_id", "not in that recommendation: not counted"),
    ]  # fmt: skip
    assert post(follow(user, "a-1", rec, first))["counted"] == 0  # retried
    assert post(follow(user, "a-4", rec, first))["counted"] == 0  # followed again
    ack = post(follow(user, "a-5", rec, second))
    assert (ack["counted"], fields(ack)) == (1, [])
    after = today()
    assert {k: after[k] - before[k] for k in after} == {
        "plays_from_recommendations": 0, "follows_from_artists": 2,
        "followers": 1, "followed_another": 1,
    }  # fmt: skip


def test_the_home_screens_artists_carousel_counts_follows(world):
    before = today()
    status, home = call(recommendations, "GET", f"/v1/users/{KNOWN}/home")
    assert status == 200, home
    by_kind = {c["kind"]: c for c in home["carousels"]}
    mine = by_kind["artists_for_you"]
    songs = by_kind["for_you"]
    artist = mine["items"][0]["id"]
    ack = post(follow(KNOWN, "h-1", mine["recommendation_id"], artist),
               follow(KNOWN, "h-2", songs["recommendation_id"], artist))  # fmt: skip
    assert ack["counted"] == 1
    assert [f for f, _ in fields(ack)] == ["events.1.recommendation_id"]
    assert today()["follows_from_artists"] - before["follows_from_artists"] == 1


def test_two_requests_racing_on_a_listeners_follow_through_count_each_step_once(world):
    """While one request writes the listener's first recommended follow, another request's
    follow of another artist lands first: one follower, one who followed another."""
    before = today()
    user = "u-race"
    artists = answer(user, "artists")
    rec, (first, second) = artists["recommendation_id"], [i["id"] for i in artists["items"][:2]]
    client = services().store.tables["experiments"].meta.client
    raced: list[dict[str, Any]] = []

    def the_other_request(params: dict[str, Any], **kwargs: Any) -> None:
        marks = [i.get("Put", {}).get("Item", {}).get("pk") for i in params["TransactItems"]]
        if not raced and f"follows#{user}" in marks:  # the first request's marker write
            raced.append({})
            raced[0] = post(follow(user, "r-2", rec, second))

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems",
                                the_other_request)  # fmt: skip
    try:
        ack = post(follow(user, "r-1", rec, first))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems",
                                      the_other_request)  # fmt: skip
    assert (ack["counted"], raced[0]["counted"]) == (1, 1)
    after = today()
    assert (after["followers"] - before["followers"],
            after["followed_another"] - before["followed_another"]) == (1, 1)  # fmt: skip
    marker = services().store.follow_through(user)
    assert marker is not None
    assert (marker["first"], marker["second"]) == (second, first)
