"""Routes of the ``recommendations`` function: personal songs and artists re-ranked by the latest
plays, similar songs and similar artists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from lambdas.api.common import envelope
from lambdas.api.content import active_version, artists, charts, recent_items, songs
from lambdas.api.errors import ApiError
from lambdas.api.paths import path
from lambdas.rerank import blend, interleave
from lambdas.rules import ranked
from lambdas.services import services

router = Router()

PATTERN = r"^[0-9A-Za-z._:@#/-]+$"
IdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=PATTERN)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cap = Annotated[int, Query(ge=1, le=100)]
RegionQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


def personal(
    user_id: str, kind: str, limit: int, per_artist: int, per_album: int, region: str | None
) -> dict[str, Any]:
    """The listener's list: batch (re-ranked by the latest plays), else onboarding genres' charts,
    else the regional charts."""
    svc = services()
    version = active_version(svc)
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
        part = "songs" if kind == "songs" else "artists"
        candidates = interleave([ranked(c.get(part)) for c in found.values()])
        source = "onboarding" if profile else "regional"
    if kind == "songs":
        similar = svc.store.records("similar-items", seeds)
        candidates = blend(candidates, [ranked(similar.get(s)) for s in seeds if s in similar])
        items = songs(svc, candidates, limit, per_artist, per_album, heard)
    else:
        followed = {str(e["artist_id"]) for e in events if e.get("type") == "follow"}
        items = artists(svc, candidates, limit, followed)
    payload = {"user_id": user_id, "kind": kind, "source": source, "items": items}
    return envelope(payload, svc.variant(user_id), version)


@router.get(path("GET", "/v1/users/{userId}/recommendations"))
def user_recommendations(
    userId: IdPath,  # noqa: N803 (the route table's parameter name)
    kind: Annotated[Literal["songs", "artists"], Query()] = "songs",
    limit: Limit = 20,
    max_per_artist: Cap = 2,
    max_per_album: Cap = 1,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """Personal songs or artists, re-ranked by the listener's latest plays."""
    return personal(userId, kind, limit, max_per_artist, max_per_album, region)


@router.get(path("GET", "/v1/users/{userId}/artists"))
def userartists(
    userId: IdPath,  # noqa: N803
    limit: Limit = 20,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """Artists for a listener."""
    return personal(userId, "artists", limit, 1, 1, region)


@router.get(path("GET", "/v1/items/{itemId}/similar"))
def similar_items(
    itemId: IdPath,  # noqa: N803
    user_id: Annotated[str | None, Query(min_length=1, max_length=128, pattern=PATTERN)] = None,
    limit: Limit = 20,
    max_per_artist: Cap = 2,
) -> dict[str, Any]:
    """Songs similar to a song, without what the listener (if given) just heard."""
    svc = services()
    version = active_version(svc)
    record = svc.store.record("similar-items", itemId)
    if record is None:
        raise ApiError(404, "not_found", f"itemId: no similar songs for {itemId!r}", "itemId")
    heard = recent_items(svc.store.recent_events(user_id))[0] if user_id else set()
    items = songs(svc, ranked(record), limit, max_per_artist, 100, heard | {itemId})
    variant = svc.variant(user_id) if user_id else "none"
    return envelope({"item_id": itemId, "items": items}, variant, version)


@router.get(path("GET", "/v1/artists/{artistId}/similar"))
def similarartists(artistId: IdPath, limit: Limit = 20) -> dict[str, Any]:  # noqa: N803
    """Artists whose fans also like this artist."""
    svc = services()
    version = active_version(svc)
    record = svc.store.record("similar-artists", artistId)
    if record is None:
        raise ApiError(
            404, "not_found", f"artistId: no similar artists for {artistId!r}", "artistId"
        )
    items = artists(svc, ranked(record), limit, {artistId})
    return envelope({"artist_id": artistId, "items": items}, "none", version)
