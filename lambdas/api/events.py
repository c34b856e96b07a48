"""Route of the ``events`` function: plays, skips, likes, follows, impressions and clicks."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.base import SingleMetric

from lambdas.api.common import envelope
from lambdas.api.errors import ApiError
from lambdas.api.models import Event, EventBatch
from lambdas.api.paths import path
from lambdas.logic.content import batch_version_or_none
from lambdas.logic.services import ONBOARDING_EXPERIMENT, Services, services

router = Router()
COUNTED = {"impression": "impressions", "click": "clicks"}
NEEDS_ITEM = ("play", "skip", "like")
METRICS_NAMESPACE = "musicrec"

Group = tuple[str, str, str]  # experiment, variant, metric


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


def counter_group(svc: Services, event: Event) -> Group | None:
    """The experiment counter an event adds to (impressions and clicks only)."""
    metric = COUNTED.get(event.type)
    if metric is None:
        return None
    experiment = event.experiment or ONBOARDING_EXPERIMENT
    return experiment, event.variant or svc.variant(event.user_id, experiment), metric


def emit_counts(counts: Counter[Group]) -> None:
    """One CloudWatch EMF line per counter, dimensions exactly ``experiment`` and ``variant``
    (the dashboard's CTR widgets); ``service=""`` keeps the function's service name out."""
    for (experiment, variant, metric), n in counts.items():
        emf = SingleMetric(namespace=METRICS_NAMESPACE, service="")
        emf.add_metric(name=metric.capitalize(), unit=MetricUnit.Count, value=n)
        emf.add_dimension(name="experiment", value=experiment)
        emf.add_dimension(name="variant", value=variant)
        print(json.dumps(emf.serialize_metric_set(), separators=(",", ":")))


@router.post(path("POST", "/v1/events"))
def post_events(batch: EventBatch) -> dict[str, Any]:
    """Record up to 100 events; an ``event_id`` seen before is acknowledged, not stored again.

    The envelope's ``variant`` is the listener's when every event is one listener's."""
    for i, event in enumerate(batch.events):
        check(event, i)
    svc = services()
    version = batch_version_or_none(svc)
    listeners = {event.user_id for event in batch.events}
    listener_variant = svc.variant(listeners.pop()) if len(listeners) == 1 else "none"
    now = int(time.time() * 1000)
    stored = duplicates = 0
    counts: Counter[Group] = Counter()
    for event in batch.events:
        record = event.model_dump()
        record["ts"] = event.ts if event.ts is not None else now
        if not svc.store.put_event(record):
            duplicates += 1
            continue
        stored += 1
        group = counter_group(svc, event)
        if group:
            counts[group] += 1
    for (experiment, variant, metric), n in counts.items():
        svc.store.count(experiment, variant, metric, n)
    emit_counts(counts)
    acknowledgement = {"accepted": len(batch.events), "stored": stored, "duplicates": duplicates}
    return envelope(acknowledgement, listener_variant, version)
