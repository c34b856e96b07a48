"""The console's "try it" routes: what a new listener with some onboarding answers, or a known
listener, would get, composed exactly as the onboarding and recommendations routes compose it
(:mod:`lambdas.logic.onboarding_answer`, :mod:`lambdas.logic.listener_answer`) and never
recorded: no profile, no issued answer (so no attribution and no bandit decision), no metric,
no event. Rendered with each list's source and reasons by :mod:`lambdas.logic.preview`."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from lambdas.api.access import console_operator
from lambdas.api.admin.upstream import upstream
from lambdas.api.errors import ApiError
from lambdas.api.models import OnboardingRequest
from lambdas.api.params import IdPath, RegionQuery
from lambdas.api.paths import path
from lambdas.logic import home, metrics
from lambdas.logic.listener_answer import compose_home, compose_personal
from lambdas.logic.onboarding import check_free_answers
from lambdas.logic.onboarding_answer import compose
from lambdas.logic.personal import DEFAULT_LIMIT, DEFAULT_MAX_PER_ALBUM, DEFAULT_MAX_PER_ARTIST
from lambdas.logic.preview import listener_preview, onboarding_preview
from lambdas.logic.services import ONBOARDING_EXPERIMENT, Services, services

router = Router()
# the unit assigned a variant when the answers name neither a user_id nor an install_id (the
# route draws a random one: the preview's must be stable, so that a preview can be repeated)
PREVIEW_UNIT = "console-preview"
# the request's validated fields, which a free answer may not stand for
FIELDS = tuple(name for name in OnboardingRequest.model_fields if name != "answers")

VariantQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64,
          description="The onboarding experiment's variant to answer under (default: the one "
                      "the answers' user_id, install_id or the preview unit is assigned)"),
]  # fmt: skip
PreviewLimit = Annotated[
    int | None,
    Query(ge=1, le=50, description="Items per carousel and list (default: each route's own)"),
]


def operator() -> None:
    """403 unless an operator calls (API Gateway's authoriser on the operators' pool)."""
    console_operator(router.current_event.raw_event)


def assignment(
    svc: Services, request: OnboardingRequest, variant: str | None
) -> tuple[str, dict[str, str | None]]:
    """The variant to answer under and how it was chosen: the ``variant`` asked for (one of the
    onboarding experiment's, else a 400 naming ``variant``), else the one the experiment assigns
    the answers' user_id, install_id or :data:`PREVIEW_UNIT`."""
    if variant is not None:
        spec = svc.experiments.get(ONBOARDING_EXPERIMENT)
        known = list(spec.variants) if spec else []
        if variant not in known:
            choose = ", ".join(known) or "none: the onboarding experiment is not configured"
            message = f"variant: {variant!r} is not a variant of the onboarding experiment"
            raise ApiError(400, "invalid_request", f"{message}; choose among {choose}", "variant")
        return variant, {"by": "variant", "unit": None}
    for by, unit in (("user_id", request.user_id), ("install_id", request.install_id)):
        if unit:
            return svc.variant(unit), {"by": by, "unit": unit}
    return svc.variant(PREVIEW_UNIT), {"by": "preview", "unit": PREVIEW_UNIT}


@router.post(path("POST", "/v1/admin/preview/onboarding"))
def preview_onboarding(request: OnboardingRequest, variant: VariantQuery = None) -> dict[str, Any]:
    """What a new listener with these onboarding answers would get, with the variant, each
    list's source and reasons; nothing is recorded."""
    operator()
    svc = services()
    check_free_answers(request.answers, FIELDS)
    chosen, how = assignment(svc, request, variant)
    # the viewer country header is the operator's, not the listener's: give region in the body
    with upstream("DynamoDB", "reads"):
        composed = compose(svc, request, chosen, None, random.Random())
    return onboarding_preview(composed, how, metrics.iso(datetime.now(UTC)))


@router.get(path("GET", "/v1/admin/listeners/{userId}/preview"))
def preview_listener(
    userId: IdPath,  # noqa: N803 (the route table's parameter name)
    limit: PreviewLimit = None,
    region: RegionQuery = None,
) -> dict[str, Any]:
    """A listener's home screen and personal songs and artists, each with its source and
    variant; nothing is recorded."""
    operator()
    svc = services()
    lists = limit or DEFAULT_LIMIT
    with upstream("DynamoDB", "reads"):
        screen = compose_home(svc, userId, limit or home.DEFAULT_LIMIT, None, region,
                              random.Random())  # fmt: skip
        songs = compose_personal(svc, userId, "songs", lists, DEFAULT_MAX_PER_ARTIST,
                                 DEFAULT_MAX_PER_ALBUM, region)  # fmt: skip
        artists = compose_personal(svc, userId, "artists", lists, 1, 1, region)
    return listener_preview(screen, songs, artists, metrics.iso(datetime.now(UTC)))
