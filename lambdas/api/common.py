"""What every route shares: the response envelope and the listener's region."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from lambdas.logic.attribution import issue
from lambdas.logic.services import Services

VIEWER_COUNTRY = "cloudfront-viewer-country"


def envelope(
    payload: dict[str, Any], variant: str, model_version: str, recommendation_id: str | None = None
) -> dict[str, Any]:
    """The answer with the fields feedback events refer to (a fresh ``recommendation_id`` unless
    given; only :func:`recommendation`'s are recorded, so only those count)."""
    return {
        **payload,
        "recommendation_id": recommendation_id or uuid.uuid4().hex,
        "variant": variant,
        "model_version": model_version,
    }


def recommendation(
    svc: Services,
    payload: dict[str, Any],
    listener: str | None,
    variant: str,
    model_version: str,
    decision: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A recommendation answer, recorded as issued to ``listener`` under ``variant`` (what its
    impressions and clicks will be attributed by; with a bandit's ``decision``, what it
    learns from them)."""
    recommendation_id = issue(svc, listener, variant, model_version, payload, decision=decision)
    return envelope(payload, variant, model_version, recommendation_id)


def listener_region(body_region: str | None, headers: dict[str, str] | None, default: str) -> str:
    """The body's region, else the viewer country API Gateway forwards (as ``cc``), else the
    default."""
    if body_region:
        return body_region
    for name, value in (headers or {}).items():
        if name.lower() == VIEWER_COUNTRY and value:
            return value.strip().lower()
    return default
