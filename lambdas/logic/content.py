"""Content shared by the routes: the active batch version, and songs, artists and stations after
the business rules."""

from __future__ import annotations

from typing import Any

from lambdas.logic.rules import Scored, pick_songs
from lambdas.logic.services import Services
from lambdas.store import keys
from lambdas.store.dynamodb import NoActiveVersionError

LISTENING = ("play", "like", "skip")
RECENT_SEEDS = 3
CANDIDATES_PER_RESULT = 5


def active_version(svc: Services) -> str:
    """The active batch version; :class:`NoActiveVersionError` (a 503 ``not_ready`` answer)
    before the first load."""
    return svc.store.active_version()


def batch_version_or_none(svc: Services) -> str:
    """The active batch version for the envelope of an answer that needs no lists: ``"none"``
    before the first load (events and catalogue changes are taken then too)."""
    try:
        return svc.store.active_version()
    except NoActiveVersionError:
        return "none"


def song_known(svc: Services, item_id: str, version: str) -> bool:
    """Whether a song is in batch version ``version``'s catalogue (available or not)."""
    key = keys.record_key("catalog", {"kind": "item", "id": item_id})
    return svc.store.record("catalog", key, version) is not None


def recent_items(events: list[dict[str, Any]]) -> tuple[set[str], list[str]]:
    """Songs the listener just heard (to leave out) and the latest plays (to blend from)."""
    heard = {str(e["item_id"]) for e in events if e.get("type") in LISTENING and e.get("item_id")}
    seeds: list[str] = []
    for event in events:  # newest first
        item = event.get("item_id")
        if event.get("type") in ("play", "like") and item and item not in seeds:
            seeds.append(str(item))
    return heard, seeds[:RECENT_SEEDS]


def songs(
    svc: Services, candidates: list[Scored], limit: int, per_artist: int, per_album: int,
    exclude: set[str],
) -> list[dict[str, Any]]:  # fmt: skip
    """The best ``limit`` songs after the business rules, from the first ``CANDIDATES_PER_RESULT``
    x ``limit`` candidates not excluded."""
    pool = [c for c in candidates if c[0] not in exclude][: limit * CANDIDATES_PER_RESULT]
    return pick(svc, pool, limit, per_artist, per_album)


def pick(
    svc: Services, pool: list[Scored], limit: int, per_artist: int, per_album: int
) -> list[dict[str, Any]]:
    """The best ``limit`` songs of ``pool`` after the business rules. Catalogue entries are
    looked up a chunk at a time (twice the limit), so the usual request reads only the first
    chunk."""
    overrides = dict.fromkeys(svc.store.unavailable(), False)
    catalog: dict[str, dict[str, Any]] = {}
    chosen: list[dict[str, Any]] = []
    chunk = max(2 * limit, 10)
    for start in range(0, len(pool), chunk):
        catalog.update(svc.store.catalog([song for song, _ in pool[start : start + chunk]]))
        chosen = pick_songs(
            pool[: start + chunk], catalog, overrides,
            limit=limit, max_per_artist=per_artist, max_per_album=per_album,
        )  # fmt: skip
        if len(chosen) == limit:
            break
    return chosen


def artists(
    svc: Services, candidates: list[Scored], limit: int, exclude: set[str]
) -> list[dict[str, Any]]:
    """The first ``limit`` artists not excluded, with their names."""
    return named(svc, [c for c in candidates if c[0] not in exclude][:limit], "artist")


def named(svc: Services, pool: list[Scored], kind: str) -> list[dict[str, Any]]:
    """Artists or stations (``kind``) with their catalogue names and genres."""
    catalog = svc.store.catalog([entry for entry, _ in pool], kind=kind)
    return [
        {"id": a, "score": round(s, 6), "name": catalog.get(a, {}).get("name"),
         "genre": catalog.get(a, {}).get("genre")}
        for a, s in pool
    ]  # fmt: skip
