"""A batch version small enough to rank on paper, for the fallback tests: a catalogue of songs
(each its own artist and album, so the business rules' caps never bite), the charts the batch
would write from a table of plays per region, the vocabulary, and a few personal lists.

Regions ``xx-a``, ``xx-b``, ``xx-c`` (country ``xx``) and ``yy-a`` (country ``yy``); genres Jazz,
Rock and Pop; song ``s<i>`` is of genre ``GENRES[i % 3]``, by artist ``a<i>``. The charts are
built as the batch builds them (docs/batch-format.md): per region and per region and genre, the
played songs best first, artists by the plays of their songs, and ``*`` (every region's plays)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.logic.vocabulary import ID, KIND

GENRES = ("Jazz", "Rock", "Pop")
REGIONS = ("xx-a", "xx-b", "xx-c", "yy-a")
GLOBAL = "*"
STATION_SCORE = {"local": 2.0, "national": 1.0}


def song_id(i: int) -> str:
    return f"s{i:03d}"


def artist_id(i: int) -> str:
    return f"a{i:03d}"


def song(i: int) -> dict[str, Any]:
    return {"kind": "item", "id": song_id(i), "title": f"Song {i}", "artist_id": artist_id(i),
            "album_id": f"b{i:03d}", "genre": GENRES[i % 3], "available": True}  # fmt: skip


def stations() -> list[dict[str, Any]]:
    """A national station per genre, and each region's own station of its first genre."""
    found = [{"kind": "station", "id": f"st-{g.lower()}", "name": f"{g} Radio", "genre": g,
              "region": None} for g in GENRES]  # fmt: skip
    for n, region in enumerate(REGIONS):
        genre = GENRES[n % 3]
        found.append({"kind": "station", "id": f"st-{region}", "name": f"{region} {genre}",
                      "genre": genre, "region": region})  # fmt: skip
    return found


def ranked(scores: Mapping[str, float]) -> dict[str, list[Any]]:
    """Ids best first (ties by id), with their scores; only what was played."""
    order = sorted((kv for kv in scores.items() if kv[1] > 0), key=lambda kv: (-kv[1], kv[0]))
    return {"ids": [k for k, _ in order], "scores": [v for _, v in order]}


def charts(plays: Mapping[str, Mapping[int, float]], n: int = 100) -> list[dict[str, Any]]:
    """The ``regional`` family for ``plays`` (region -> song index -> plays): every region's
    charts (all genres and each genre) and the global ones (``*``, the sum of every region)."""
    total: dict[int, float] = {}
    for per_song in plays.values():
        for i, count in per_song.items():
            total[i] = total.get(i, 0.0) + count
    records = []
    for region, per_song in [*((r, plays.get(r, {})) for r in REGIONS), (GLOBAL, total)]:
        for genre in (None, *GENRES):
            kept = {i: c for i, c in per_song.items() if genre is None or GENRES[i % 3] == genre}
            songs = ranked({song_id(i): c for i, c in kept.items()})
            artists = ranked({artist_id(i): c for i, c in kept.items()})
            records.append({"region": region, "genre": genre,
                            "songs": {k: v[:n] for k, v in songs.items()},
                            "artists": {k: v[:n] for k, v in artists.items()},
                            "stations": station_chart(region, genre)})  # fmt: skip
    return records


def station_chart(region: str, genre: str | None) -> dict[str, list[Any]]:
    """The region's own stations (of the genre) before the national ones."""
    scores = {}
    for station in stations():
        if genre is not None and station["genre"] != genre:
            continue
        if station["region"] is None:
            scores[station["id"]] = STATION_SCORE["national"]
        elif station["region"] == region:
            scores[station["id"]] = STATION_SCORE["local"]
    return ranked(scores)


def catalog(songs: int) -> list[dict[str, Any]]:
    """Songs ``0 .. songs - 1``, their artists, the stations and the vocabulary."""
    artists = [{"kind": "artist", "id": artist_id(i), "name": f"Artist {i}",
                "genre": GENRES[i % 3], "region": None} for i in range(songs)]  # fmt: skip
    vocabulary = {"kind": KIND, "id": ID, "genres": sorted(GENRES), "regions": sorted(REGIONS)}
    return [*(song(i) for i in range(songs)), *artists, *stations(), vocabulary]


# The world of the handler tests: 60 songs, every one played somewhere. xx-a has an empty Jazz
# chart (its listeners play Rock and Pop), xx-b plays two Jazz songs, xx-c three, yy-a one; so a
# Jazz listener in xx-a gets the country's Jazz (xx-b + xx-c summed), then yy-a's through the
# global chart, then xx-a's all-genre chart, and so on.
SONGS = 60
PLAYS: dict[str, dict[int, float]] = {
    "xx-a": {1: 9, 2: 8, 4: 7, 5: 6},
    "xx-b": {3: 5, 6: 4, 7: 3},
    "xx-c": {6: 3, 9: 2, 12: 1, 8: 2},
    "yy-a": {15: 9, **{i: 1 for i in range(16, SONGS)}, **{i: 1 for i in (0, 10, 11, 13, 14)}},
}
