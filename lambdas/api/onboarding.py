"""Route of the ``onboarding`` function: a new listener's genres (from the model, or the rule in
the rules variant and when the model fails) turned into stations, songs and artists
(:mod:`lambdas.logic.onboarding`); in the ``bandit`` variant a contextual bandit chooses the
stations among those of the model's genres and the selected ones
(:mod:`lambdas.logic.onboarding_bandit`). A listener's token onboards only that listener; genres and
regions are matched to the batch version's vocabulary (:mod:`lambdas.logic.vocabulary`); free
answers cannot stand for validated fields. The answer is composed
(:mod:`lambdas.logic.onboarding_answer`, which the console's preview shares) and then recorded:
the listener's profile, the answer as issued (attribution) and its metrics."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.api.access import caller_of
from lambdas.api.common import listener_region, recommendation
from lambdas.api.errors import logger
from lambdas.api.models import OnboardingRequest
from lambdas.api.paths import path
from lambdas.logic.onboarding import check_free_answers
from lambdas.logic.onboarding_answer import Composed, compose
from lambdas.logic.services import Services, services

router = Router()
metrics = Metrics(namespace="musicrec", service="onboarding")
# the request's validated fields, which a free answer may not stand for
FIELDS = tuple(name for name in OnboardingRequest.model_fields if name != "answers")


def viewer_country() -> str | None:
    """The viewer country API Gateway forwards (CloudFront-Viewer-Country), if any."""
    headers = router.current_event.headers if router.current_event else None
    return listener_region(None, dict(headers or {}), "") or None


def record(
    svc: Services, composed: Composed, user_id: str | None, listener: str | None
) -> dict[str, Any]:
    """Record a composed answer: its metrics, the listener's profile (when the request names
    them) and the answer as issued to ``listener`` (with the bandit's decision); the answer with
    its ``recommendation_id``."""
    choice = composed.choice
    if choice.source == "fallback":
        logger.warning(
            "onboarding model unavailable, answering with the rule", extra={"error": choice.error}
        )
        metrics.add_metric(name="OnboardingFallback", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Onboarding_{choice.source}", unit=MetricUnit.Count, value=1)
    if composed.bandit is not None and composed.bandit.policy.problem:
        logger.warning("onboarding bandit state unusable, ranking by the prior",
                       extra={"problem": composed.bandit.policy.problem})  # fmt: skip
    if user_id:
        svc.store.put_profile(user_id, composed.profile(int(time.time())))
    return recommendation(svc, composed.payload, listener, composed.variant,
                          composed.model_version, composed.decision)  # fmt: skip


@router.post(path("POST", "/v1/onboarding/recommendations"))
def onboarding_recommendations(request: OnboardingRequest) -> dict[str, Any]:
    """Recommendations for a listener who just answered the onboarding questions."""
    svc = services()
    caller = caller_of(router.current_event.raw_event, svc.settings)
    if request.user_id is not None:
        caller.require(request.user_id, "user_id")
    check_free_answers(request.answers, FIELDS)
    unit = request.user_id or request.install_id or uuid.uuid4().hex
    composed = compose(svc, request, svc.variant(unit), viewer_country(), random.Random())
    listener = request.user_id or caller.listener
    response = record(svc, composed, request.user_id, listener)
    response["batch_version"] = composed.batch_version
    return response
