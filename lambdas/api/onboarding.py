"""Route of the ``onboarding`` function: a new listener's genres (from the model, or the rule in
the rules variant and when the model fails) turned into stations, songs and artists
(:mod:`lambdas.logic.onboarding`); in the ``bandit`` variant a contextual bandit chooses the
stations among those of the model's genres and the selected ones
(:mod:`lambdas.logic.onboarding_bandit`). A listener's token onboards only that listener; genres and
regions are matched to the batch version's vocabulary (:mod:`lambdas.logic.vocabulary`); free
answers cannot stand for validated fields; the answer is recorded as issued (attribution)."""

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
from lambdas.api.errors import ApiError, logger
from lambdas.api.models import OnboardingRequest
from lambdas.api.paths import path
from lambdas.logic import onboarding_bandit
from lambdas.logic.bandit_state import policy_state
from lambdas.logic.content import active_version
from lambdas.logic.onboarding import (
    EVERY_GENRE,
    TOP_GENRES,
    GenreChoice,
    choose_genres,
    clashing_answers,
    model_instance,
    onboarding_content,
)
from lambdas.logic.services import Services, services
from lambdas.logic.vocabulary import (
    Region,
    Vocabulary,
    body_region,
    canonical_genres,
    detected_region,
    vocabulary,
)

router = Router()
metrics = Metrics(namespace="musicrec", service="onboarding")


def check_answers(request: OnboardingRequest) -> None:
    """A free answer may not stand for a validated field (nor a key of the model's request):
    400 naming ``answers.<key>``."""
    fields = [name for name in OnboardingRequest.model_fields if name != "answers"]
    for key in clashing_answers(request.answers, fields):
        field = f"answers.{key}"
        same = next((f for f in fields if f == key.strip().casefold()), None)
        if same:
            message = f"{field}: not a free answer; set it as the top-level field {same!r}"
        else:
            message = f"{field}: a name the model's request reserves; use another name"
        raise ApiError(400, "invalid_request", message, field)


def answer_region(request: OnboardingRequest, vocab: Vocabulary | None, default: str) -> Region:
    """The body's region (400 if unknown), else the viewer country API Gateway forwards, else the
    default (either one unknown: the national chart, with a warning)."""
    if request.region:
        return body_region(vocab, request.region)
    headers = router.current_event.headers if router.current_event else None
    country = listener_region(None, dict(headers or {}), "")
    if country:
        return detected_region(vocab, country, "the CloudFront-Viewer-Country header")
    return detected_region(vocab, default, "the default region")


def bandit_stations(
    svc: Services,
    region: str,
    choice: GenreChoice,
    selected: list[str],
    limit: int,
    charted: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The bandit variant's stations (:mod:`lambdas.logic.onboarding_bandit`), then the charts'
    while short; and the decision its issued record keeps (None: nothing to choose from)."""
    state = policy_state(svc, onboarding_bandit.SPEC)
    if state.problem:
        logger.warning("onboarding bandit state unusable, ranking by the prior",
                       extra={"problem": state.problem})  # fmt: skip
    found = onboarding_bandit.candidates(svc, region, choice.probabilities, selected)
    picked = onboarding_bandit.choose(svc, state, found, limit, random.Random())
    if not picked.stations:
        return charted, None
    chosen = {s["id"] for s in picked.stations}
    stations = [*picked.stations, *(s for s in charted if s["id"] not in chosen)][:limit]
    return stations, onboarding_bandit.decision(picked)


@router.post(path("POST", "/v1/onboarding/recommendations"))
def onboarding_recommendations(request: OnboardingRequest) -> dict[str, Any]:
    """Recommendations for a listener who just answered the onboarding questions."""
    svc = services()
    caller = caller_of(router.current_event.raw_event, svc.settings)
    if request.user_id is not None:
        caller.require(request.user_id, "user_id")
    check_answers(request)
    version = active_version(svc)
    vocab = vocabulary(svc, version)
    selected = canonical_genres(vocab, request.selected_genres)  # unknown: 400 (AnswerError)
    found = answer_region(request, vocab, svc.settings.default_region)
    region = found.name
    unit = request.user_id or request.install_id or uuid.uuid4().hex
    variant = svc.variant(unit)
    validated = {"age": request.age, "gender": request.gender, "region": region,
                 "selected_genres": selected}  # fmt: skip
    top_k = EVERY_GENRE if variant == onboarding_bandit.VARIANT else TOP_GENRES
    instance = model_instance(validated, request.answers)
    choice = choose_genres(svc, variant, instance, selected, top_k)
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
            {"region": region, "genres": names, "selected_genres": selected,
             "variant": variant, "source": choice.source, "at": int(time.time())},
        )  # fmt: skip
    content = onboarding_content(svc, region, names, request.limit, vocab)
    decision = None
    if variant == onboarding_bandit.VARIANT and choice.source == "model":
        content["stations"], decision = bandit_stations(
            svc, region, choice, selected, request.limit, content["stations"]
        )
    payload = {"genres": choice.genres, "region": region, "source": choice.source, **content,
               "warnings": list(found.warnings)}  # fmt: skip
    listener = request.user_id or caller.listener
    response = recommendation(svc, payload, listener, variant, choice.model_version, decision)
    response["batch_version"] = version
    return response
