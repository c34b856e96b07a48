"""What every route shares: the response envelope and the listener's region."""

from __future__ import annotations

import uuid
from typing import Any

VIEWER_COUNTRY = "cloudfront-viewer-country"


def envelope(payload: dict[str, Any], variant: str, model_version: str) -> dict[str, Any]:
    """The answer with the fields feedback events are attributed by."""
    return {
        **payload,
        "recommendation_id": uuid.uuid4().hex,
        "variant": variant,
        "model_version": model_version,
    }


def listener_region(body_region: str | None, headers: dict[str, str] | None, default: str) -> str:
    """The body's region, else the viewer country API Gateway forwards (as ``cc``), else the
    default."""
    if body_region:
        return body_region
    for name, value in (headers or {}).items():
        if name.lower() == VIEWER_COUNTRY and value:
            return value.strip().lower()
    return default
