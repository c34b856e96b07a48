"""Business rules applied at request time (availability changes between batch runs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

Scored = tuple[str, float]


def song_allowed(
    song_id: str, entry: Mapping[str, Any] | None, overrides: Mapping[str, bool]
) -> bool:
    """A song may be shown: known, titled, and available (a later override wins)."""
    if entry is None or not str(entry.get("title") or "").strip():
        return False
    return bool(overrides.get(song_id, entry.get("available", False)))


def pick_songs(
    candidates: Iterable[Scored],
    catalog: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, bool],
    *,
    limit: int,
    max_per_artist: int,
    max_per_album: int,
) -> list[dict[str, Any]]:
    """The best ``limit`` allowed songs, at most ``max_per_artist`` / ``max_per_album`` each; a
    song listed twice is taken once."""
    per_artist: Counter[str] = Counter()
    per_album: Counter[str] = Counter()
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    for song_id, score in candidates:
        if len(chosen) == limit:
            break
        entry = catalog.get(song_id)
        if song_id in seen or not song_allowed(song_id, entry, overrides):
            continue
        assert entry is not None
        artist, album = str(entry.get("artist_id")), entry.get("album_id")
        if per_artist[artist] >= max_per_artist or (album and per_album[album] >= max_per_album):
            continue
        seen.add(song_id)
        per_artist[artist] += 1
        if album:
            per_album[album] += 1
        chosen.append(
            {"id": song_id, "score": round(score, 6), "title": entry.get("title"),
             "artist_id": artist, "album_id": album, "genre": entry.get("genre")}
        )  # fmt: skip
    return chosen


def ranked(record: Mapping[str, Any] | None, n: int | None = None) -> list[Scored]:
    """A batch record's (or a chart's) ids and scores as pairs, best first (the first ``n``)."""
    if not record:
        return []
    ids, scores = record.get("ids", []), record.get("scores", [])
    return list(zip(ids[:n], scores[:n], strict=False))
