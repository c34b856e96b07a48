"""Routes of the ``recommendations`` function: personal songs and artists re-ranked by the latest
plays, similar songs and similar artists (:mod:`lambdas.logic.personal`), and the home screen's
carousels in a contextual bandit's order (:mod:`lambdas.logic.home`). The personal lists and the
home screen are composed in :mod:`lambdas.logic.listener_answer` (which the console's preview
shares) and then recorded as issued."""

from __future__ import annotations

import random
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.api.access import Caller, caller_of
from lambdas.api.common import envelope, recommendation
from lambdas.api.errors import ApiError, logger
from lambdas.api.params import Cap, IdPath, IdQuery, Limit, RegionQuery
from lambdas.api.paths import path
from lambdas.logic import home
from lambdas.logic.attribution import issue_many, issued_record
from lambdas.logic.content import active_version
from lambdas.logic.listener_answer import HomeScreen, compose_home, compose_personal
from lambdas.logic.personal import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_PER_ALBUM,
    DEFAULT_MAX_PER_ARTIST,
    Kind,
    fans_also_like,
    similar_songs,
)
from lambdas.logic.services import Services, services

router = Router()
metrics = Metrics(namespace="musicrec", service="recommendations")
Carousels = Annotated[int | None, Query(ge=1, le=len(home.KINDS))]


def caller() -> Caller:
    """The caller of the request being answered."""
    return caller_of(router.current_event.raw_event, services().settings)


def personal(
    user_id: str, kind: Kind, limit: int, per_artist: int, per_album: int, region: str | None
) -> dict[str, Any]:
    caller().require(user_id, "userId")
    svc = services()
    found = compose_personal(svc, user_id, kind, limit, per_artist, per_album, region)
    return recommendation(svc, found.payload, user_id, found.variant, found.batch_version)


@router.get(path("GET", "/v1/users/{userId}/recommendations"))
def user_recommendations(
    userId: IdPath,  # noqa: N803 (the route table's parameter name)
    kind: Annotated[Kind, Query()] = "songs",
    limit: Limit = DEFAULT_LIMIT,
    max_per_artist: Cap = DEFAULT_MAX_PER_ARTIST,
    max_per_album: Cap = DEFAULT_MAX_PER_ALBUM,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """Personal songs or artists, re-ranked by the listener's latest plays."""
    return personal(userId, kind, limit, max_per_artist, max_per_album, region)


@router.get(path("GET", "/v1/users/{userId}/artists"))
def user_artists(
    userId: IdPath,  # noqa: N803
    limit: Limit = DEFAULT_LIMIT,
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


@router.get(path("GET", "/v1/users/{userId}/home"))
def user_home(
    userId: IdPath,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=50)] = home.DEFAULT_LIMIT,
    carousels: Carousels = None,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """The listener's home screen: the carousels that have something to show (at most
    ``carousels``), up to ``limit`` items each, in the order of a contextual bandit, each
    recorded with its position and propensity."""
    caller().require(userId, "userId")
    svc = services()
    screen = compose_home(svc, userId, limit, carousels, region, random.Random())
    return record_home(svc, screen)


def record_home(svc: Services, found: HomeScreen) -> dict[str, Any]:
    """Record a composed home screen (each carousel as an issued answer with the bandit's
    decision) and answer it, each carousel with its ``recommendation_id``."""
    state, screen = found.policy, found.screen
    metrics.add_metric(name="HomeScreens", unit=MetricUnit.Count, value=1)  # fallback's denominator
    if state.problem:
        logger.warning("home bandit state unusable, ranking by the prior",
                       extra={"problem": state.problem})  # fmt: skip
        metrics.add_metric(name="HomePolicyFallback", unit=MetricUnit.Count, value=1)
    records = [
        issued_record(found.user_id, home.POLICY_NAME, found.batch_version,
                      {"items": p.carousel.items}, home.BANDIT,
                      home.decision(screen, p, state.version))
        for p in screen.placed
    ]  # fmt: skip
    ids = issue_many(svc, records) if records else []
    shown = [
        {"kind": p.carousel.kind, "title": p.carousel.title, "seed": p.carousel.seed,
         "items": p.carousel.items, "recommendation_id": rid, "position": p.position,
         "propensity": round(p.propensity, 6)}
        for p, rid in zip(screen.placed, ids, strict=True)
    ]  # fmt: skip
    payload = {"user_id": found.user_id, "carousels": shown,
               "policy": {"name": home.POLICY_NAME, "version": state.version},
               "warnings": found.warnings}  # fmt: skip
    return envelope(payload, home.POLICY_NAME, found.batch_version)
