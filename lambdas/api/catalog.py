"""Route of the ``catalog`` function (operators): mark a song of the active version's catalogue
available or unavailable (an unknown song is a 404). Every function caches availability for at
most ``CACHE_SECONDS`` (30 s), so a change reaches every response within a minute."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from lambdas.api.common import envelope
from lambdas.api.errors import ApiError
from lambdas.api.models import AvailabilityRequest
from lambdas.api.params import IdPath
from lambdas.api.paths import path
from lambdas.logic.content import batch_version_or_none, song_known
from lambdas.logic.services import services

router = Router()


@router.put(path("PUT", "/v1/catalog/items/{itemId}/availability"))
def put_availability(itemId: IdPath, request: AvailabilityRequest) -> dict[str, Any]:  # noqa: N803
    """Mark a song available or unavailable."""
    svc = services()
    version = batch_version_or_none(svc)
    if version != "none" and not song_known(svc, itemId, version):  # none: nothing to check
        message = f"itemId: no song {itemId!r} in the catalogue of batch version {version}"
        raise ApiError(404, "not_found", message, "itemId")
    svc.store.set_availability(itemId, request.available)
    return envelope({"item_id": itemId, "available": request.available}, "none", version)
