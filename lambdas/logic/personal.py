"""Lists for known listeners: their personal songs and artists (batch lists re-ranked by the
latest events, else their onboarding genres' charts, else the regional charts, in each case
filled up from the charts' fallback when short), similar songs (re-ranked for a listener) and
similar artists. How much the latest events move a list is :mod:`lambdas.logic.rerank`'s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from itertools import chain
from typing import Any, Literal

from lambdas.logic.content import CANDIDATES_PER_RESULT, artists, named, pick, recent_items, songs
from lambdas.logic.fallback import Tagged, chart_levels, fill, untagged
from lambdas.logic.rerank import (
    artist_seeds,
    rerank_artists,
    rerank_similar,
    rerank_songs,
    similar_seeds,
    song_seeds,
)
from lambdas.logic.rules import ranked
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import vocabulary

Kind = Literal["songs", "artists"]
# the personal routes' defaults: songs or artists per list, and the songs' caps
DEFAULT_LIMIT = 20
DEFAULT_MAX_PER_ARTIST = 2
DEFAULT_MAX_PER_ALBUM = 1


class Listener:
    """What the fallback needs of a listener, read when first needed: their profile, and the
    region and genres whose charts they get."""

    def __init__(self, svc: Services, user_id: str, region: str | None) -> None:
        self.svc, self.user_id, self.asked = svc, user_id, region

    @cached_property
    def profile(self) -> dict[str, Any] | None:
        return self.svc.store.profile(self.user_id)

    @property
    def region(self) -> str:
        """``?region=``, else the profile's, else the default (``*``: global)."""
        stored = (self.profile or {}).get("region")
        return self.asked or (str(stored) if stored else "") or self.svc.settings.default_region

    @property
    def genres(self) -> list[str]:
        return [str(g) for g in (self.profile or {}).get("genres", [])]

    def charts(self, kind: Kind, depth: int) -> Iterator[list[Tagged]]:
        """The candidates of each level of the fallback, read one level at a time."""
        vocab = vocabulary(self.svc)
        yield from chart_levels(self.svc, self.region, self.genres, vocab, kind, depth)


def first_found(levels: Iterator[list[Tagged]]) -> list[Tagged]:
    """The first level with any candidates (the rest stay unread in ``levels``)."""
    return next((level for level in levels if level), [])


def unscored(levels: Iterator[list[Tagged]]) -> Iterator[list[Tagged]]:
    """The fallback's candidates after the listener's own list: score 0, they were not ranked
    for the listener (``chart`` says where they came from)."""
    for level in levels:
        yield [(item, 0.0, chart) for item, _, chart in level]


def personal_list(
    svc: Services, user_id: str, kind: Kind, limit: int, per_artist: int, per_album: int,
    region: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The listener's songs or artists and where they came from (``source``: ``personal``,
    ``onboarding`` or ``regional``): the batch list, else the first of their charts that has
    any (their region's charts of their onboarding genres, or of all genres), re-ranked by the
    latest plays; then, while short, the rest of the charts' fallback."""
    events = svc.store.recent_events(user_id)
    heard, _ = recent_items(events)
    listener = Listener(svc, user_id, region)
    depth = limit * CANDIDATES_PER_RESULT
    levels = listener.charts(kind, depth)
    batch = svc.store.record("personal" if kind == "songs" else "artists", user_id)
    own: Sequence[Tagged]
    if batch is not None:
        source, own = "personal", untagged(ranked(batch))
    else:
        source = "onboarding" if listener.profile else "regional"
        own = first_found(levels)
    charted = {item: chart for item, _, chart in own}
    scored = [(item, score) for item, score, _ in own]
    if kind == "songs":
        seeds = song_seeds(events)
        similar = svc.store.records("similar-items", seeds)
        mixed = rerank_songs(scored, events, {s: ranked(r) for s, r in similar.items()})
        primary = [(item, score, charted.get(item)) for item, score in mixed]
        items = fill(
            chain([primary], unscored(levels)),
            lambda pool: pick(svc, pool, limit, per_artist, per_album),
            limit, heard, depth,
        )  # fmt: skip
    else:
        artist_of = song_artists(svc, events)
        seeds = artist_seeds(events, artist_of.get)
        similar = svc.store.records("similar-artists", seeds)
        mixed = rerank_artists(scored, events, {a: ranked(r) for a, r in similar.items()},
                               artist_of.get)  # fmt: skip
        primary = [(item, score, charted.get(item)) for item, score in mixed]
        followed = {str(e["artist_id"]) for e in events if e.get("type") == "follow"}
        items = fill(
            chain([primary], unscored(levels)),
            lambda pool: named(svc, pool[:limit], "artist"),
            limit, followed, depth,
        )  # fmt: skip
    return {"user_id": user_id, "kind": kind, "source": source, "items": items}


def song_artists(svc: Services, events: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The artists of the songs of the listener's recent events (one catalogue read)."""
    items = list(dict.fromkeys(str(e["item_id"]) for e in events if e.get("item_id")))
    if not items:
        return {}
    return {
        item: str(entry["artist_id"])
        for item, entry in svc.store.catalog(items).items()
        if entry.get("artist_id")
    }


def similar_songs(
    svc: Services, item_id: str, user_id: str | None, limit: int, per_artist: int
) -> list[dict[str, Any]] | None:
    """Songs similar to ``item_id``; for a listener, re-ranked by their other latest plays and
    their batch list, without what they just heard. None when the batch lists have none for it."""
    record = svc.store.record("similar-items", item_id)
    if record is None:
        return None
    candidates = ranked(record)
    if not user_id:
        return songs(svc, candidates, limit, per_artist, 100, {item_id})
    events = svc.store.recent_events(user_id)
    heard, _ = recent_items(events)
    seeds = similar_seeds(item_id, events)
    similar = svc.store.records("similar-items", seeds) if seeds else {}
    personal = ranked(svc.store.record("personal", user_id))
    mixed = rerank_similar(item_id, candidates, events,
                           {s: ranked(r) for s, r in similar.items()}, personal)  # fmt: skip
    return songs(svc, mixed, limit, per_artist, 100, heard | {item_id})


def fans_also_like(svc: Services, artist_id: str, limit: int) -> list[dict[str, Any]] | None:
    """Artists whose fans also like ``artist_id``; None when the batch lists have none for it."""
    record = svc.store.record("similar-artists", artist_id)
    if record is None:
        return None
    return artists(svc, ranked(record), limit, {artist_id})
