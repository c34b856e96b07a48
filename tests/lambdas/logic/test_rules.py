"""The pure request-time logic: business rules, ranked pairs, re-ranking and interleaving."""

from __future__ import annotations

from lambdas.logic.rerank import BATCH_WEIGHT, RECENCY_WEIGHTS, blend, interleave
from lambdas.logic.rules import pick_songs, ranked, song_allowed

CATALOG = {
    "s1": {"title": "One", "artist_id": "a1", "album_id": "b1", "available": True},
    "s2": {"title": "Two", "artist_id": "a1", "album_id": "b2", "available": True},
    "s3": {"title": "Three", "artist_id": "a1", "album_id": "b3", "available": True},
    "s4": {"title": "Four", "artist_id": "a2", "album_id": "b4", "available": True},
    "s5": {"title": "Five", "artist_id": "a3", "album_id": "b4", "available": True},
    "s6": {"title": "", "artist_id": "a4", "album_id": None, "available": True},
    "s7": {"title": "Seven", "artist_id": "a5", "album_id": None, "available": False},
}


def test_song_allowed_needs_a_title_and_availability_an_override_wins():
    assert song_allowed("s1", CATALOG["s1"], {})
    assert not song_allowed("s6", CATALOG["s6"], {})
    assert not song_allowed("s7", CATALOG["s7"], {})
    assert song_allowed("s7", CATALOG["s7"], {"s7": True})
    assert not song_allowed("s1", CATALOG["s1"], {"s1": False})
    assert not song_allowed("s9", None, {})


def test_pick_songs_caps_artists_and_albums_and_keeps_the_order():
    candidates = [(f"s{i}", 1.0 - i / 10) for i in range(1, 8)]
    picked = pick_songs(candidates, CATALOG, {}, limit=10, max_per_artist=2, max_per_album=1)
    assert [p["id"] for p in picked] == ["s1", "s2", "s4"]  # s3: a1 full; s5: album b4 full
    picked = pick_songs(candidates, CATALOG, {"s2": False}, limit=2, max_per_artist=1,
                        max_per_album=1)  # fmt: skip
    assert [p["id"] for p in picked] == ["s1", "s4"]


def test_ranked_pairs_ids_with_scores_and_cuts_to_n():
    record = {"ids": ["a", "b", "c"], "scores": [0.9, 0.5, 0.1]}
    assert ranked(record) == [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    assert ranked(record, 2) == [("a", 0.9), ("b", 0.5)]
    assert ranked(None) == []
    assert ranked({}) == []


def test_blend_lifts_songs_similar_to_the_latest_play():
    batch = [("a", 2.0), ("b", 1.0), ("c", 0.5)]
    blended = dict(blend(batch, [[("c", 1.0), ("d", 0.5)]]))
    assert blended["a"] == BATCH_WEIGHT
    assert blended["c"] == BATCH_WEIGHT * 0.25 + RECENCY_WEIGHTS[0]
    assert blended["d"] == RECENCY_WEIGHTS[0] * 0.5
    assert [song for song, _ in blend(batch, [[("c", 1.0)]])][:2] == ["a", "c"]
    assert blend(batch, []) == [("a", 0.6), ("b", 0.3), ("c", 0.15)]


def test_interleave_round_robins_without_duplicates():
    lists = [[("a", 1.0), ("b", 0.5)], [("a", 0.9), ("c", 0.8), ("d", 0.1)]]
    assert [s for s, _ in interleave(lists)] == ["a", "b", "c", "d"]
    assert interleave([]) == []


def test_pick_songs_takes_a_song_listed_twice_once():
    candidates = [("s1", 0.9), ("s1", 0.8), ("s4", 0.7)]
    picked = pick_songs(candidates, CATALOG, {}, limit=3, max_per_artist=5, max_per_album=5)
    assert [p["id"] for p in picked] == ["s1", "s4"]
    assert picked[0]["score"] == 0.9  # the better-ranked listing


def test_pick_songs_stops_at_the_limit_and_caps_at_exactly_the_maximum():
    candidates = [("s1", 0.9), ("s2", 0.8), ("s3", 0.7), ("s4", 0.6)]
    picked = pick_songs(candidates, CATALOG, {}, limit=3, max_per_artist=3, max_per_album=1)
    assert [p["id"] for p in picked] == ["s1", "s2", "s3"]  # three of a1 allowed, then the limit
    picked = pick_songs(candidates, CATALOG, {}, limit=1, max_per_artist=3, max_per_album=1)
    assert [p["id"] for p in picked] == ["s1"]
    assert pick_songs(candidates, CATALOG, {}, limit=0, max_per_artist=3, max_per_album=1) == []
