"""Fallbacks that never thin a list, through the handlers: onboarding and personal lists have the
length asked for whenever the charts can fill it (in every region, in both arms of the onboarding
experiment), each item once, each naming the chart it came from; a listener without a batch list
gets their region's charts (from their profile, or ``?region=``), one whose region is unknown the
global ones. The batch version is tests/lambdas/logic/chart_world.py's, small enough to rank on
paper (60 songs, each its own artist, every one played somewhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.handlers import events, onboarding, recommendations
from lambdas.logic.rerank import SONGS as SONGS_REACTION
from tests.lambdas.api.loaded import ONBOARDING, FakeModel, Loaded, call, loaded, user_with
from tests.lambdas.logic.chart_world import PLAYS, REGIONS, SONGS, catalog, charts
from tests.lambdas.store.small_batch import write_version

SHORT = "u-short"  # a listener with a batch list of two songs and one artist


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = tmp_path_factory.mktemp("fallbacks")
    version = write_version(root, "f1", {
        "catalog": [catalog(SONGS)],
        "regional": [charts(PLAYS)],
        "personal": [[{"user_id": SHORT, "ids": ["s001", "s004"], "scores": [0.9, 0.45]}]],
        "artists": [[{"user_id": SHORT, "ids": ["a001"], "scores": [1.0]}]],
    })  # fmt: skip
    with loaded(Path(version), FakeModel(["Jazz", "Rock", "Pop"])) as found:
        yield found


def listing(answer: dict, key: str = "items") -> list[tuple[str, str | None]]:
    return [(i["id"], i["chart"]) for i in answer[key]]


def distinct(items: list[dict]) -> bool:
    ids = [i["id"] for i in items]
    return len(ids) == len(set(ids))


def personal(user: str, query: str = "", route: str = "recommendations") -> dict:
    status, answer = call(recommendations, "GET", f"/v1/users/{user}/{route}", query=query)
    assert status == 200, answer
    return answer


@pytest.mark.parametrize("region", [*REGIONS, "*"])
def test_onboarding_lists_have_the_limit_in_every_region_in_both_arms(stack, region):
    """The rules arm asks for Jazz only (the one selected genre), the model arm for Jazz, Rock
    and Pop; both get ``limit`` songs and artists. Stations are the region's own and the
    national ones (four; three for ``*``), other regions' local stations never."""
    lengths = {}
    for variant in ("model", "rules"):
        body = {"user_id": user_with(variant), "region": region, "selected_genres": ["jazz"],
                "limit": 10}  # fmt: skip
        status, answer = call(onboarding, "POST", ONBOARDING, body)
        assert (status, answer["variant"]) == (200, variant), answer
        for kind in ("songs", "artists", "stations"):
            assert distinct(answer[kind]), (variant, kind)
        lengths[variant] = [len(answer[k]) for k in ("songs", "artists", "stations")]
    assert lengths["model"] == lengths["rules"] == [10, 10, 3 if region == "*" else 4]


def test_an_empty_regional_chart_falls_back_to_the_country_then_global(stack):
    """xx-a plays no Jazz. Its country's Jazz is xx-b's and xx-c's summed (s006 4+3, s003 5,
    s009 2, s012 1), the global Jazz adds yy-a's (s015 9, then one play each, by id)."""
    body = {"user_id": user_with("rules"), "region": "xx-a", "selected_genres": ["Jazz"],
            "limit": 8}  # fmt: skip
    status, answer = call(onboarding, "POST", ONBOARDING, body)
    assert status == 200, answer
    assert listing(answer, "songs") == [
        ("s006", "xx#Jazz"), ("s003", "xx#Jazz"), ("s009", "xx#Jazz"), ("s012", "xx#Jazz"),
        ("s015", "*#Jazz"), ("s000", "*#Jazz"), ("s018", "*#Jazz"), ("s021", "*#Jazz"),
    ]  # fmt: skip
    # xx-a's own station is a Jazz one; then the national Jazz station, then the others
    assert [s["id"] for s in answer["stations"]] == ["st-xx-a", "st-jazz", "st-pop", "st-rock"]


def test_a_listener_without_a_batch_list_gets_the_charts_of_their_stored_region(stack):
    """Onboarded in xx-c with Jazz (the rules arm): xx-c's Jazz chart (s006 3, s009 2, s012 1)
    re-ranked by the latest plays (none: scaled to its best), then the fallback, unscored."""
    user = user_with("rules")
    body = {"user_id": user, "region": "xx-c", "selected_genres": ["Jazz"]}
    assert call(onboarding, "POST", ONBOARDING, body)[0] == 200
    answer = personal(user, "limit=10")
    assert answer["source"] == "onboarding"
    assert listing(answer) == [
        ("s006", "xx-c#Jazz"), ("s009", "xx-c#Jazz"), ("s012", "xx-c#Jazz"), ("s003", "xx#Jazz"),
        ("s015", "*#Jazz"), ("s000", "*#Jazz"), ("s018", "*#Jazz"), ("s021", "*#Jazz"),
        ("s024", "*#Jazz"), ("s027", "*#Jazz"),
    ]  # fmt: skip
    scaled = [round(SONGS_REACTION.base_weight * x, 6) for x in (1.0, 2 / 3, 1 / 3)]
    assert [i["score"] for i in answer["items"]] == [*scaled, *[0.0] * 7]
    artists = personal(user, "limit=4", "artists")
    assert listing(artists) == [("a006", "xx-c#Jazz"), ("a009", "xx-c#Jazz"),
                                ("a012", "xx-c#Jazz"), ("a003", "xx#Jazz")]  # fmt: skip


def test_a_listener_of_unknown_region_gets_the_global_charts_and_a_region_asked_for_its_own(
    stack,
):
    answer = personal("nobody-1", "limit=10")
    assert answer["source"] == "regional"
    assert [chart for _, chart in listing(answer)] == ["*#*"] * 10
    # xx-b's all-genre chart (s003 5, s006 4, s007 3), then the country's: xx-a's, xx-b's and
    # xx-c's plays summed (s001 9, s002 8, s004 7, s006 7, s005 6, ... s008 2, s009 2, s012 1)
    answer = personal("nobody-1", "limit=10&region=XX-B")
    assert listing(answer) == [
        ("s003", "xx-b#*"), ("s006", "xx-b#*"), ("s007", "xx-b#*"),
        ("s001", "xx#*"), ("s002", "xx#*"), ("s004", "xx#*"), ("s005", "xx#*"),
        ("s008", "xx#*"), ("s009", "xx#*"), ("s012", "xx#*"),
    ]  # fmt: skip


def test_a_short_batch_list_is_filled_from_the_charts(stack):
    answer = personal(SHORT, "limit=5&region=xx-a")
    assert answer["source"] == "personal"
    assert listing(answer) == [("s001", None), ("s004", None), ("s002", "xx-a#*"),
                               ("s005", "xx-a#*"), ("s006", "xx#*")]  # fmt: skip
    weight = SONGS_REACTION.base_weight  # the batch scores scaled to their best
    assert [i["score"] for i in answer["items"]] == [weight, weight / 2, 0.0, 0.0, 0.0]
    # without a region (no profile either): the global chart (s001 9, s015 9, s002 8, s004 7, ...)
    answer = personal(SHORT, "limit=4")
    assert listing(answer) == [("s001", None), ("s004", None), ("s015", "*#*"), ("s002", "*#*")]
    answer = personal(SHORT, "limit=3", "artists")
    assert listing(answer) == [("a001", None), ("a015", "*#*"), ("a002", "*#*")]


def test_what_the_listener_just_heard_is_replaced_not_dropped(stack):
    user = "listener-heard"
    play = {"event_id": "e-1", "user_id": user, "type": "play", "item_id": "s001"}
    assert call(events, "POST", "/v1/events", {"events": [play]})[0] == 200
    answer = personal(user, "limit=10")
    assert len(answer["items"]) == 10
    assert "s001" not in [i["id"] for i in answer["items"]]


@pytest.mark.parametrize("kind", ["songs", "artists"])
def test_a_list_is_shorter_only_when_the_whole_catalogue_is(stack, kind):
    for user in ("nobody-2", SHORT):
        answer = personal(user, f"kind={kind}&limit=100&region=yy-a")
        assert len(answer["items"]) == SONGS  # every song (and artist) of the catalogue
        assert distinct(answer["items"])
