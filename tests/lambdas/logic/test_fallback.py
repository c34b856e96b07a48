"""Fallbacks that never thin a list: the order of the charts (region, country, global; the
genres', then all genres', then every other genre's), filling lazily without duplicates, and the
onboarding lists on moto tables: the length asked for whenever the charts can fill it, for any
chart sizes (a property test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.config import Settings
from lambdas.logic.fallback import Level, Place, country_of, fill, levels, places, summed
from lambdas.logic.onboarding import onboarding_content
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import Vocabulary
from lambdas.store import keys
from lambdas.store.dynamodb import Store
from tests.lambdas.logic.chart_world import GENRES, REGIONS, catalog, charts

VOCAB = Vocabulary(genres=("Jazz", "Pop", "Rock"), regions=("xx-a", "xx-b", "xx-c", "yy-a"))
XX = ("xx-a", "xx-b", "xx-c")


def test_the_country_is_the_part_before_the_dash():
    assert country_of("us-tx") == "us"
    assert [country_of(r) for r in ("*", "ca", "other", "-x")] == [None, None, None, None]


def test_places_are_the_region_its_country_and_global_stations_skip_the_country():
    assert places("xx-a", VOCAB.regions, "songs") == [
        Place("xx-a", ("xx-a",)), Place("xx", XX), Place("*", ("*",))
    ]  # fmt: skip
    assert places("xx-a", VOCAB.regions, "stations") == [
        Place("xx-a", ("xx-a",)),
        Place("*", ("*",)),
    ]
    # yy-a is its country's only region: the country chart would be the region's again
    assert places("yy-a", VOCAB.regions, "artists") == [
        Place("yy-a", ("yy-a",)),
        Place("*", ("*",)),
    ]
    assert places("*", VOCAB.regions, "songs") == [Place("*", ("*",))]
    # without a vocabulary (an older version) the country's regions are unknown
    assert places("xx-a", (), "songs") == [Place("xx-a", ("xx-a",)), Place("*", ("*",))]


def test_levels_go_through_the_genres_then_all_genres_then_every_other_genre():
    xx_a, xx, world = Place("xx-a", ("xx-a",)), Place("xx", XX), Place("*", ("*",))
    assert levels("xx-a", ["Rock", "Jazz", "Rock"], VOCAB, "songs") == [
        Level(xx_a, ("Rock", "Jazz")), Level(xx, ("Rock", "Jazz")), Level(world, ("Rock", "Jazz")),
        Level(xx_a, (None,)), Level(xx, (None,)), Level(world, (None,)),
        Level(world, ("Pop",)),
    ]  # fmt: skip
    assert levels("*", [], VOCAB, "songs") == [Level(world, (None,)), Level(world, GENRES_SORTED)]
    assert levels("*", [], None, "songs") == [Level(world, (None,))]


GENRES_SORTED = ("Jazz", "Pop", "Rock")


def test_summed_charts_add_up_each_ones_plays_best_first():
    merged = summed([[("a", 5.0), ("b", 4.0)], [("b", 3.0), ("c", 5.0)], []], depth=10)
    assert merged == [("b", 7.0), ("a", 5.0), ("c", 5.0)]  # a before c: seen first
    assert summed([[("a", 5.0), ("b", 4.0)]], depth=1) == [("a", 5.0)]


def first(pool: list[tuple[str, float]], limit: int) -> list[dict[str, Any]]:
    return [{"id": item, "score": score} for item, score in pool[:limit]]


def test_fill_reads_the_next_segment_only_while_short():
    read: list[int] = []

    chunks: list[list[tuple[str, float, str | None]]] = [
        [("a", 1.0, None)],
        [("b", 2.0, "x#*")],
        [("c", 3.0, "*#*")],
    ]

    def segments() -> Iterator[list[tuple[str, float, str | None]]]:
        for n, segment in enumerate(chunks):
            read.append(n)
            yield segment

    items = fill(segments(), lambda pool: first(pool, 2), 2, set(), 10)
    assert items == [{"id": "a", "score": 1.0, "chart": None},
                     {"id": "b", "score": 2.0, "chart": "x#*"}]  # fmt: skip
    assert read == [0, 1]


def test_fill_takes_each_id_once_where_it_first_appears_and_leaves_out_the_excluded():
    segments = [
        [("a", 1.0, "r#Jazz"), ("b", 0.9, "r#Jazz"), ("x", 0.8, "r#Jazz")],
        [("b", 5.0, "*#Jazz"), ("c", 4.0, "*#Jazz"), ("a", 3.0, "*#Jazz"), ("d", 2.0, "*#Jazz")],
    ]
    items = fill(segments, lambda pool: first(pool, 10), 10, {"x"}, 10)
    assert [(i["id"], i["chart"]) for i in items] == [
        ("a", "r#Jazz"), ("b", "r#Jazz"), ("c", "*#Jazz"), ("d", "*#Jazz")
    ]  # fmt: skip


def test_fill_takes_at_most_depth_new_candidates_per_segment_and_never_more_than_the_limit():
    segments = [
        [(f"a{i}", 1.0, "r#*") for i in range(5)],
        [(f"b{i}", 1.0, "*#*") for i in range(5)],
    ]
    items = fill(segments, lambda pool: first(pool, 10), 4, set(), 2)
    assert [i["id"] for i in items] == ["a0", "a1", "b0", "b1"]
    assert [i["id"] for i in fill(segments, lambda pool: first(pool, 10), 3, set(), 5)] == [
        "a0", "a1", "a2"
    ]  # fmt: skip


def test_fill_with_nothing_to_fill_from_is_empty():
    assert fill([[], []], lambda pool: first(pool, 3), 3, set(), 3) == []


# ---- onboarding lists on moto tables --------------------------------------------------------

versions = count()


def services_with(tables: Any, plays: dict[str, dict[int, float]], songs: int) -> Services:
    """A fresh version (its own keys, so examples never meet) of the chart world for ``plays``,
    active, and services reading it."""
    version = f"p{next(versions)}"
    records = [*(("regional", r) for r in charts(plays)), *(("catalog", r) for r in catalog(songs))]
    with tables.lists.batch_writer() as writer:
        for family, record in records:
            pk = keys.list_pk(family, version, keys.record_key(family, record))
            writer.put_item(Item={"pk": pk, "doc": json.dumps(record)})
    tables.state.put_item(Item={**keys.ACTIVE, "version": version})
    store = Store({"lists": tables.lists, "state": tables.state}, cache_seconds=0)
    return Services(Settings.from_env({}), store, {})


def level_of(label: str, region: str, genres: list[str]) -> int:
    """Where a chart is in the fallback of a listener in ``region`` liking ``genres`` (by hand:
    the region, its country, global; the genres, all genres, every other genre)."""
    place, genre = label.split("#")
    where = 0 if place == region else 2 if place == "*" else 1
    if genre in genres:
        return where
    return 3 + where if genre == "*" else 6


plays_strategy = st.fixed_dictionaries(
    {r: st.dictionaries(st.integers(0, 29), st.integers(1, 9), max_size=12) for r in REGIONS}
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plays=plays_strategy,
    region=st.sampled_from([*REGIONS, "*"]),
    genres=st.lists(st.sampled_from(GENRES), unique=True, max_size=3),
    limit=st.integers(1, 35),
)
def test_every_onboarding_list_has_the_limit_when_the_charts_can_fill_it(
    tables, plays, region, genres, limit
):
    svc = services_with(tables, plays, 30)
    content = onboarding_content(svc, region, genres, limit, VOCAB)
    played = {i for per_region in plays.values() for i in per_region}
    own_stations = 3 + (region != "*")  # the national stations, and the region's own
    expected = {"songs": len(played), "artists": len(played), "stations": own_stations}
    for kind, items in content.items():
        ids = [i["id"] for i in items]
        assert len(ids) == min(limit, expected[kind]), kind
        assert len(set(ids)) == len(ids), kind
        order = [level_of(i["chart"], region, genres) for i in items]
        assert order == sorted(order), (kind, [i["chart"] for i in items])
    # the region's own charts come first, as far as they go
    everywhere = {i: 1 for per_region in plays.values() for i in per_region}
    mine = [
        i
        for i in (everywhere if region == "*" else plays[region])
        if not genres or GENRES[i % 3] in genres
    ]
    assert all(s["chart"].startswith(f"{region}#") for s in content["songs"][: len(mine)])


def test_an_empty_regional_chart_falls_back_to_the_country_then_global(tables):
    """xx-a plays no Jazz: its Jazz listener gets the country's Jazz (xx-b's s003 5 plays and
    s006 4, xx-c's s006 3, s009 2 and s012 1: s006 7, s003 5, s009 2, s012 1), then the global
    Jazz chart (yy-a's s015 9, then one play each, by id), then xx-a's all-genre chart."""
    plays = {"xx-a": {1: 9, 2: 8}, "xx-b": {3: 5, 6: 4}, "xx-c": {6: 3, 9: 2, 12: 1},
             "yy-a": {15: 9, 0: 1, 18: 1}}  # fmt: skip
    svc = services_with(tables, plays, 20)
    songs = onboarding_content(svc, "xx-a", ["Jazz"], 9, VOCAB)["songs"]
    assert [(s["id"], s["chart"], s["score"]) for s in songs] == [
        ("s006", "xx#Jazz", 7.0), ("s003", "xx#Jazz", 5.0), ("s009", "xx#Jazz", 2.0),
        ("s012", "xx#Jazz", 1.0), ("s015", "*#Jazz", 9.0), ("s000", "*#Jazz", 1.0),
        ("s018", "*#Jazz", 1.0), ("s001", "xx-a#*", 9.0), ("s002", "xx-a#*", 8.0),
    ]  # fmt: skip


def test_an_unavailable_song_is_replaced_from_the_fallback(tables):
    plays = {"xx-a": {3: 5, 6: 4}, "yy-a": {9: 1}}
    svc = services_with(tables, plays, 12)
    svc.store.set_availability("s003", False)
    songs = onboarding_content(svc, "xx-a", ["Jazz"], 2, VOCAB)["songs"]
    assert [(s["id"], s["chart"]) for s in songs] == [("s006", "xx-a#Jazz"), ("s009", "*#Jazz")]


@pytest.mark.parametrize("limit", [1, 4, 10])
def test_stations_are_the_regions_own_then_the_national_ones(tables, limit):
    svc = services_with(tables, {"xx-a": {0: 1}}, 3)
    stations = onboarding_content(svc, "xx-a", ["Rock"], limit, VOCAB)["stations"]
    # xx-a's own station is Jazz: the Rock chart holds the national Rock station only
    expected = [("st-rock", "xx-a#Rock"), ("st-xx-a", "xx-a#*"), ("st-jazz", "xx-a#*"),
                ("st-pop", "xx-a#*")]  # fmt: skip
    assert [(s["id"], s["chart"]) for s in stations] == expected[:limit]
