"""Lists for known listeners: their personal songs and artists (batch lists re-ranked by the
latest plays, else their onboarding genres' charts, else the regional charts), similar songs and
similar artists."""

from __future__ import annotations

from typing import Any, Literal

from lambdas.logic.content import artists, charts, recent_items, songs
from lambdas.logic.rerank import blend, interleave
from lambdas.logic.rules import ranked
from lambdas.logic.services import Services

Kind = Literal["songs", "artists"]


def personal_list(
    svc: Services, user_id: str, kind: Kind, limit: int, per_artist: int, per_album: int,
    region: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The listener's songs or artists and where they came from (``source``: ``personal``,
    ``onboarding`` or ``regional``)."""
    events = svc.store.recent_events(user_id)
    heard, seeds = recent_items(events)
    family = "personal" if kind == "songs" else "artists"
    batch = svc.store.record(family, user_id)
    source = "personal"
    candidates = ranked(batch)
    if batch is None:
        profile = svc.store.profile(user_id)
        where = region or (profile or {}).get("region") or svc.settings.default_region
        genres = [str(g) for g in (profile or {}).get("genres", [])]
        found = charts(svc, where, genres)
        candidates = interleave([ranked(c.get(kind)) for c in found.values()])
        source = "onboarding" if profile else "regional"
    if kind == "songs":
        similar = svc.store.records("similar-items", seeds)
        candidates = blend(candidates, [ranked(similar.get(s)) for s in seeds if s in similar])
        items = songs(svc, candidates, limit, per_artist, per_album, heard)
    else:
        followed = {str(e["artist_id"]) for e in events if e.get("type") == "follow"}
        items = artists(svc, candidates, limit, followed)
    return {"user_id": user_id, "kind": kind, "source": source, "items": items}


def similar_songs(
    svc: Services, item_id: str, user_id: str | None, limit: int, per_artist: int
) -> list[dict[str, Any]] | None:
    """Songs similar to ``item_id`` without what the listener (if given) just heard; None when
    the batch lists have none for it."""
    record = svc.store.record("similar-items", item_id)
    if record is None:
        return None
    heard = recent_items(svc.store.recent_events(user_id))[0] if user_id else set()
    return songs(svc, ranked(record), limit, per_artist, 100, heard | {item_id})


def fans_also_like(svc: Services, artist_id: str, limit: int) -> list[dict[str, Any]] | None:
    """Artists whose fans also like ``artist_id``; None when the batch lists have none for it."""
    record = svc.store.record("similar-artists", artist_id)
    if record is None:
        return None
    return artists(svc, ranked(record), limit, {artist_id})
