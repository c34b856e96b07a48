"""Route of the ``onboarding`` function: a new listener's genres (from the model, or the rule in
the rules variant and when the model fails) turned into stations, songs and artists."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from lambdas import keys
from lambdas.api.common import envelope, listener_region
from lambdas.api.content import CANDIDATES_PER_RESULT, active_version, artists, charts, songs
from lambdas.api.errors import logger
from lambdas.api.models import OnboardingRequest
from lambdas.api.paths import path
from lambdas.endpoint import EndpointError, predict_genres
from lambdas.rerank import interleave
from lambdas.rules import ranked
from lambdas.services import Services, services

router = Router()
metrics = Metrics(namespace="musicrec", service="onboarding")
TOP_GENRES = 3
STATIONS_PER_GENRE = 2


def rule_genres(selected: list[str], genre_order: list[str]) -> list[dict[str, Any]]:
    """The business rule: the selected genres, most popular first (popularity: ``genre_order``,
    the national station chart's genres); with no selection, the most popular genres."""
    rank = {genre: i for i, genre in enumerate(genre_order)}
    chosen = sorted(dict.fromkeys(selected), key=lambda g: rank.get(g, len(rank))) or genre_order
    return [
        {"genre": g, "score": round(1.0 / (i + 1), 6)} for i, g in enumerate(chosen[:TOP_GENRES])
    ]


def genre_popularity(svc: Services) -> list[str]:
    """Genres in the order of the national station chart (ranked by each genre's share)."""
    national = svc.store.record("regional", keys.chart_key(keys.NATIONAL, None)) or {}
    stations = ranked(national.get("stations"))
    catalog = svc.store.catalog([s for s, _ in stations], kind="station")
    order = [str(catalog[s]["genre"]) for s, _ in stations if s in catalog]
    return list(dict.fromkeys(order))


def content(svc: Services, region: str, genres: list[str], limit: int) -> dict[str, Any]:
    """The best stations, songs and artists of each genre in the region."""
    found = charts(svc, region, genres)
    stations = interleave([ranked(c.get("stations"), STATIONS_PER_GENRE) for c in found.values()])
    # Each genre's chart is cut to what the interleaved pool can use (same answer, less work).
    depth = limit * CANDIDATES_PER_RESULT
    song_charts = [ranked(c.get("songs"), depth) for c in found.values()]
    station_catalog = svc.store.catalog([s for s, _ in stations], kind="station")
    return {
        "stations": [
            {
                "id": s,
                "score": round(v, 6),
                "name": station_catalog.get(s, {}).get("name"),
                "genre": station_catalog.get(s, {}).get("genre"),
            }
            for s, v in stations[:limit]
        ],
        "songs": songs(svc, interleave(song_charts), limit, 2, 1, set()),
        "artists": artists(
            svc, interleave([ranked(c.get("artists"), limit) for c in found.values()]), limit, set()
        ),
    }


@router.post(path("POST", "/v1/onboarding/recommendations"))
def onboarding_recommendations(request: OnboardingRequest) -> dict[str, Any]:
    """Recommendations for a listener who just answered the onboarding questions."""
    svc = services()
    version = active_version(svc)
    unit = request.user_id or request.install_id or uuid.uuid4().hex
    variant = svc.variant(unit)
    headers = router.current_event.headers if router.current_event else None
    region = listener_region(request.region, dict(headers or {}), svc.settings.default_region)
    source, model_version = "rules", "rules"
    genres: list[dict[str, Any]] = []
    if variant != "rules":
        instance = {
            "age": request.age,
            "gender": request.gender,
            "region": region,
            "selected_genres": request.selected_genres,
            **request.answers,
        }
        try:
            genres, model_version = predict_genres(
                svc.runtime, svc.settings.endpoint_name, instance, TOP_GENRES,
                svc.settings.endpoint_timeout_s,
            )  # fmt: skip
            source = "model"
        except EndpointError as exc:
            logger.warning(
                "onboarding model unavailable, answering with the rule",
                extra={"error": type(exc).__name__},
            )
            metrics.add_metric(name="OnboardingFallback", unit=MetricUnit.Count, value=1)
            source = "fallback"
    if not genres:
        genres = rule_genres(request.selected_genres, genre_popularity(svc))
    metrics.add_metric(name=f"Onboarding_{source}", unit=MetricUnit.Count, value=1)
    names = [g["genre"] for g in genres]
    if request.user_id:
        svc.store.put_profile(
            request.user_id,
            {"region": region, "genres": names, "selected_genres": request.selected_genres,
             "variant": variant, "source": source, "at": int(time.time())},
        )  # fmt: skip
    payload = {"genres": genres, "region": region, "source": source,
               **content(svc, region, names, request.limit)}  # fmt: skip
    response = envelope(payload, variant, model_version)
    response["batch_version"] = version
    return response
