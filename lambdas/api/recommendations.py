"""Routes of the ``recommendations`` function: personal songs and artists re-ranked by the latest
plays, similar songs and similar artists (:mod:`lambdas.logic.personal`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from lambdas.api.access import Caller, caller_of
from lambdas.api.common import recommendation
from lambdas.api.errors import ApiError
from lambdas.api.params import Cap, IdPath, IdQuery, Limit, RegionQuery
from lambdas.api.paths import path
from lambdas.logic.content import active_version
from lambdas.logic.personal import Kind, fans_also_like, personal_list, similar_songs
from lambdas.logic.services import services
from lambdas.logic.vocabulary import body_region, vocabulary

router = Router()

DEFAULT_MAX_PER_ARTIST = 2
DEFAULT_MAX_PER_ALBUM = 1


def caller() -> Caller:
    """The caller of the request being answered."""
    return caller_of(router.current_event.raw_event, services().settings)


def personal(
    user_id: str, kind: Kind, limit: int, per_artist: int, per_album: int, region: str | None
) -> dict[str, Any]:
    caller().require(user_id, "userId")
    svc = services()
    version = active_version(svc)
    if region is not None:  # a region asked for by name: known, or a 400 listing what is
        region = body_region(vocabulary(svc, version), region).name
    payload = personal_list(svc, user_id, kind, limit, per_artist, per_album, region)
    return recommendation(svc, payload, user_id, svc.variant(user_id), version)


@router.get(path("GET", "/v1/users/{userId}/recommendations"))
def user_recommendations(
    userId: IdPath,  # noqa: N803 (the route table's parameter name)
    kind: Annotated[Kind, Query()] = "songs",
    limit: Limit = 20,
    max_per_artist: Cap = DEFAULT_MAX_PER_ARTIST,
    max_per_album: Cap = DEFAULT_MAX_PER_ALBUM,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """Personal songs or artists, re-ranked by the listener's latest plays."""
    return personal(userId, kind, limit, max_per_artist, max_per_album, region)


@router.get(path("GET", "/v1/users/{userId}/artists"))
def user_artists(
    userId: IdPath,  # noqa: N803
    limit: Limit = 20,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """Artists for a listener."""
    return personal(userId, "artists", limit, 1, 1, region)


@router.get(path("GET", "/v1/items/{itemId}/similar"))
def similar_items(
    itemId: IdPath,  # noqa: N803
    user_id: IdQuery = None,
    limit: Limit = 20,
    max_per_artist: Cap = DEFAULT_MAX_PER_ARTIST,
) -> dict[str, Any]:
    """Songs similar to a song, without what the listener (if given) just heard."""
    who = caller()
    if user_id is not None:
        who.require(user_id, "user_id")
    svc = services()
    version = active_version(svc)
    items = similar_songs(svc, itemId, user_id, limit, max_per_artist)
    if items is None:
        raise ApiError(404, "not_found", f"itemId: no similar songs for {itemId!r}", "itemId")
    variant = svc.variant(user_id) if user_id else "none"
    payload = {"item_id": itemId, "items": items}
    return recommendation(svc, payload, user_id or who.listener, variant, version)


@router.get(path("GET", "/v1/artists/{artistId}/similar"))
def similar_artists(artistId: IdPath, limit: Limit = 20) -> dict[str, Any]:  # noqa: N803
    """Artists whose fans also like this artist."""
    who = caller()
    svc = services()
    version = active_version(svc)
    items = fans_also_like(svc, artistId, limit)
    if items is None:
        raise ApiError(
            404, "not_found", f"artistId: no similar artists for {artistId!r}", "artistId"
        )
    payload = {"artist_id": artistId, "items": items}
    return recommendation(svc, payload, who.listener, "none", version)
