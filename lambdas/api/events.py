"""Route of the ``events`` function: plays, skips, likes, follows, impressions and clicks."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.api.errors import ApiError
from lambdas.api.models import MAX_EVENTS, Event, EventBatch
from lambdas.api.paths import path
from lambdas.services import ONBOARDING_EXPERIMENT, services

router = Router()
COUNTED = {"impression": "impressions", "click": "clicks"}
NEEDS_ITEM = ("play", "skip", "like")


def check(event: Event, index: int) -> None:
    """Cross-field rules pydantic cannot express per field."""
    where = f"events.{index}"
    if event.type in NEEDS_ITEM and not event.item_id:
        raise ApiError(
            400,
            "invalid_request",
            f"{where}.item_id: required for {event.type}",
            f"{where}.item_id",
        )
    if event.type == "follow" and not event.artist_id:
        raise ApiError(
            400, "invalid_request", f"{where}.artist_id: required for follow", f"{where}.artist_id"
        )


@router.post(path("POST", "/v1/events"))
def post_events(batch: EventBatch) -> dict[str, Any]:
    """Record up to 100 events; an ``event_id`` seen before is acknowledged, not stored again."""
    if len(batch.events) > MAX_EVENTS:  # pydantic enforces it too; kept for the message
        raise ApiError(
            413, "too_many_events", f"events: at most {MAX_EVENTS} per request", "events"
        )
    for i, event in enumerate(batch.events):
        check(event, i)
    svc = services()
    now = int(time.time() * 1000)
    stored = duplicates = 0
    for event in batch.events:
        record = event.model_dump()
        record["ts"] = event.ts if event.ts is not None else now
        if not svc.store.put_event(record):
            duplicates += 1
            continue
        stored += 1
        metric = COUNTED.get(event.type)
        if metric:
            experiment = event.experiment or ONBOARDING_EXPERIMENT
            variant = event.variant or svc.variant(event.user_id, experiment)
            svc.store.count(experiment, variant, metric)
            with single_metric(name=metric.capitalize(), unit=MetricUnit.Count, value=1,
                               namespace="musicrec") as emitted:  # the dashboard's CTR  # fmt: skip
                emitted.add_dimension(name="experiment", value=experiment)
                emitted.add_dimension(name="variant", value=variant)
    return {"accepted": len(batch.events), "stored": stored, "duplicates": duplicates}
