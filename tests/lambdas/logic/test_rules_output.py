"""What the request-time rules hand to the API: every field of a picked song, the album cap
counted per song, availability overrides, and batch records with a field missing."""

from __future__ import annotations

from lambdas.logic.rules import pick_songs, ranked, song_allowed

CATALOG = {
    "s1": {"title": "One", "artist_id": "a1", "album_id": "b1", "genre": "Rock", "available": True},
    "s2": {"title": "Two", "artist_id": "a2", "album_id": "b1", "genre": "Jazz", "available": True},
    "s3": {
        "title": "Three",
        "artist_id": "a3",
        "album_id": "b1",
        "genre": "Pop",
        "available": True,
    },
    "s4": {"title": "Four", "artist_id": 7, "album_id": None, "available": False},
    "s5": {"title": "Five", "artist_id": "a5", "album_id": "b5"},
}


def test_a_picked_song_carries_its_catalogue_fields_and_a_rounded_score():
    [song] = pick_songs(
        [("s1", 0.12345678)], CATALOG, {}, limit=5, max_per_artist=1, max_per_album=1
    )
    assert song == {
        "id": "s1",
        "score": 0.123457,
        "title": "One",
        "artist_id": "a1",
        "album_id": "b1",
        "genre": "Rock",
    }
    [song] = pick_songs(
        [("s4", 1.0)], CATALOG, {"s4": True}, limit=5, max_per_artist=1, max_per_album=1
    )
    assert song == {
        "id": "s4",
        "score": 1.0,
        "title": "Four",
        "artist_id": "7",
        "album_id": None,
        "genre": None,
    }


def test_the_album_cap_counts_every_song_of_the_album():
    candidates = [("s1", 0.9), ("s2", 0.8), ("s3", 0.7)]
    picked = pick_songs(candidates, CATALOG, {}, limit=5, max_per_artist=5, max_per_album=2)
    assert [p["id"] for p in picked] == ["s1", "s2"]  # s3 would be b1's third
    picked = pick_songs(candidates, CATALOG, {}, limit=5, max_per_artist=5, max_per_album=3)
    assert [p["id"] for p in picked] == ["s1", "s2", "s3"]


def test_an_override_makes_an_unavailable_song_eligible_and_an_available_one_not():
    candidates = [("s4", 0.9), ("s1", 0.8)]
    assert [
        p["id"]
        for p in pick_songs(candidates, CATALOG, {}, limit=5, max_per_artist=5, max_per_album=5)
    ] == ["s1"]
    overrides = {"s4": True, "s1": False}
    assert [
        p["id"]
        for p in pick_songs(
            candidates, CATALOG, overrides, limit=5, max_per_artist=5, max_per_album=5
        )
    ] == ["s4"]


def test_a_song_without_an_availability_flag_is_not_shown_unless_overridden():
    assert not song_allowed("s5", CATALOG["s5"], {})
    assert song_allowed("s5", CATALOG["s5"], {"s5": True})


def test_a_record_missing_its_ids_or_scores_ranks_nothing_and_uneven_ones_are_cut():
    assert ranked({"ids": ["a", "b"]}) == []
    assert ranked({"scores": [0.5]}) == []
    assert ranked({"ids": ["a", "b", "c"], "scores": [0.5, 0.25]}) == [("a", 0.5), ("b", 0.25)]
    assert ranked({"ids": ["a", "b", "c"], "scores": [0.5, 0.25]}, 1) == [("a", 0.5)]
