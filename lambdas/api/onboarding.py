"""Route of the ``onboarding`` function: a new listener's genres (from the model, or the rule in
the rules variant and when the model fails) turned into stations, songs and artists
(:mod:`lambdas.logic.onboarding`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.api.common import envelope, listener_region
from lambdas.api.errors import logger
from lambdas.api.models import OnboardingRequest
from lambdas.api.paths import path
from lambdas.logic.content import active_version
from lambdas.logic.onboarding import choose_genres, onboarding_content
from lambdas.logic.services import services

router = Router()
metrics = Metrics(namespace="musicrec", service="onboarding")


@router.post(path("POST", "/v1/onboarding/recommendations"))
def onboarding_recommendations(request: OnboardingRequest) -> dict[str, Any]:
    """Recommendations for a listener who just answered the onboarding questions."""
    svc = services()
    version = active_version(svc)
    unit = request.user_id or request.install_id or uuid.uuid4().hex
    variant = svc.variant(unit)
    headers = router.current_event.headers if router.current_event else None
    region = listener_region(request.region, dict(headers or {}), svc.settings.default_region)
    instance = {
        "age": request.age,
        "gender": request.gender,
        "region": region,
        "selected_genres": request.selected_genres,
        **request.answers,
    }
    choice = choose_genres(svc, variant, instance, request.selected_genres)
    if choice.source == "fallback":
        logger.warning(
            "onboarding model unavailable, answering with the rule", extra={"error": choice.error}
        )
        metrics.add_metric(name="OnboardingFallback", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Onboarding_{choice.source}", unit=MetricUnit.Count, value=1)
    names = [g["genre"] for g in choice.genres]
    if request.user_id:
        svc.store.put_profile(
            request.user_id,
            {"region": region, "genres": names, "selected_genres": request.selected_genres,
             "variant": variant, "source": choice.source, "at": int(time.time())},
        )  # fmt: skip
    payload = {"genres": choice.genres, "region": region, "source": choice.source,
               **onboarding_content(svc, region, names, request.limit)}  # fmt: skip
    response = envelope(payload, variant, choice.model_version)
    response["batch_version"] = version
    return response
