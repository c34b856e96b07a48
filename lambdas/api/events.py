"""Route of the ``events`` function: plays, skips, likes, follows, impressions and clicks."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.base import SingleMetric

from lambdas.api.access import Caller, caller_of
from lambdas.api.common import envelope
from lambdas.api.errors import ApiError
from lambdas.api.models import Event, EventBatch
from lambdas.api.paths import path
from lambdas.logic.attribution import (
    COUNTED,
    KPIS,
    Attribution,
    Group,
    attribute,
    attribute_kpi,
    day_of,
    follow_through,
)
from lambdas.logic.content import batch_version_or_none
from lambdas.logic.services import Services, services
from lambdas.store.dynamodb import Mark
from lambdas.store.keys import KPI

router = Router()
NEEDS_ITEM = ("play", "skip", "like")
METRICS_NAMESPACE = "musicrec"
FUTURE_TOLERANCE_MS = 5 * 60 * 1000  # clocks of phones drift: a little ahead is accepted


def check(event: Event, index: int, caller: Caller, now_ms: int, max_age_days: float) -> None:
    """Rules pydantic cannot express per field: cross-field requirements, the caller's own
    listener, and a timestamp within [now - max age, now + 5 minutes]."""
    where = f"events.{index}"
    caller.require(event.user_id, f"{where}.user_id")
    if event.type in NEEDS_ITEM and not event.item_id:
        _invalid(f"{where}.item_id", f"required for {event.type}")
    if event.type == "follow" and not event.artist_id:
        _invalid(f"{where}.artist_id", "required for follow")
    if event.type in COUNTED and not event.recommendation_id:
        _invalid(f"{where}.recommendation_id", f"required for {event.type} (the answer's id)")
    if event.ts is not None:
        if event.ts > now_ms + FUTURE_TOLERANCE_MS:
            _invalid(f"{where}.ts", "more than 5 minutes in the future")
        if event.ts < now_ms - max_age_days * 86_400_000:
            _invalid(f"{where}.ts", f"older than {max_age_days:g} days")


def _invalid(field: str, problem: str) -> None:
    raise ApiError(400, "invalid_request", f"{field}: {problem}", field)


def emit_counts(counts: Counter[Group]) -> None:
    """One CloudWatch EMF line per counter, dimensions exactly ``experiment`` and ``variant``
    (the dashboard's CTR widgets); ``service=""`` keeps the function's service name out."""
    for (experiment, variant, metric), n in counts.items():
        emf = SingleMetric(namespace=METRICS_NAMESPACE, service="")
        emf.add_metric(name=metric.capitalize(), unit=MetricUnit.Count, value=n)
        emf.add_dimension(name="experiment", value=experiment)
        emf.add_dimension(name="variant", value=variant)
        print(json.dumps(emf.serialize_metric_set(), separators=(",", ":")))


class Attributor:
    """Attributes a batch's impressions and clicks, and its plays and follows that name an
    answer, reading every answer's record once (one BatchGetItem for the batch; an answer it
    does not return is read alone, so that only a truly unknown one goes uncounted)."""

    def __init__(self, svc: Services, events: list[Event], day: str) -> None:
        self.svc, self.day = svc, day
        named = [str(e.recommendation_id) for e in events if self.attributed(e)]
        self._issued: dict[str, dict[str, Any] | None] = dict(svc.store.issued_many(named))

    @staticmethod
    def attributed(event: Event) -> bool:
        return event.type in COUNTED or (event.type in KPIS and bool(event.recommendation_id))

    def issued(self, recommendation_id: str) -> dict[str, Any] | None:
        if recommendation_id not in self._issued:
            self._issued[recommendation_id] = self.svc.store.issued(recommendation_id)
        return self._issued[recommendation_id]

    def __call__(self, event: Event) -> Attribution:
        if not self.attributed(event):
            return Attribution()
        issued = self.issued(str(event.recommendation_id))
        if event.type in KPIS:
            shown = str(event.item_id if event.type == "play" else event.artist_id)
            return attribute_kpi(issued, event.user_id, event.type, shown, self.day)
        return attribute(issued, event.user_id, event.type, event.item_id or event.artist_id)


@dataclass
class Recorded:
    """What storing a batch did: events stored and retried, experiment counters to add (emitted
    as metrics), music KPIs counted, warnings."""

    stored: int = 0
    duplicates: int = 0
    counts: Counter[Group] = field(default_factory=Counter)
    kpis: Counter[str] = field(default_factory=Counter)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # event, field, problem

    def acknowledgement(self, accepted: int) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "accepted": accepted, "stored": self.stored, "duplicates": self.duplicates,
            "counted": sum(self.counts.values()) + sum(self.kpis[k] for k in KPIS.values()),
        }  # fmt: skip
        if self.warnings:
            answer["warnings"] = [{"field": f"events.{i}.{name}", "message": problem}
                                  for i, name, problem in sorted(self.warnings)]  # fmt: skip
        return answer


def record_events(svc: Services, events: list[Event], now_ms: int) -> Recorded:
    """Store each event once, with the experiment and variant the server attributes it to, then
    count each impression, click, play or follow of an answer's item once, atomically with its
    mark (a retried event is counted too if it was not before: its first attempt may have
    failed after storing it), then the follow-through of the recommended follows."""
    recorded = Recorded()
    day = day_of(now_ms / 1000)
    attributor = Attributor(svc, events, day)
    marks: list[tuple[int, bool, Mark]] = []  # event index, stored now, what it would count
    follows: dict[str, list[str]] = {}  # listener -> recommended artists followed, in order
    for i, event in enumerate(events):
        record = event.model_dump(exclude={"experiment", "variant"})
        record["ts"] = event.ts if event.ts is not None else now_ms
        outcome = attributor(event)
        if outcome.group:  # stored with the event: what the server recorded, not the client
            record["experiment"], record["variant"] = outcome.group[0], outcome.group[1]
        first_time = svc.store.put_event(record)
        recorded.stored += first_time
        recorded.duplicates += not first_time
        counter = outcome.group or outcome.kpi
        if counter:
            shown = event.item_id or event.artist_id
            mark = Mark(str(event.recommendation_id), event.type, shown, counter,
                        outcome.observed)  # fmt: skip
            marks.append((i, first_time, mark))
            if event.type == "follow":  # retried too: the follow-through is idempotent
                follows.setdefault(event.user_id, []).append(str(event.artist_id))
        elif outcome.warning and first_time:
            recorded.warnings.append((i, *outcome.warning))
    counted = svc.store.count_once_each([mark for _, _, mark in marks])
    for (i, first_time, mark), now_counted in zip(marks, counted, strict=True):
        if now_counted and mark.counter[0] == KPI:
            recorded.kpis[mark.counter[2]] += 1
        elif now_counted:
            recorded.counts[mark.counter] += 1
        elif first_time:
            problem = f"this {mark.event_type} of that answer was counted before"
            field_name = "artist_id" if mark.event_type == "follow" else "item_id"
            recorded.warnings.append((i, field_name, problem))
    for listener, artists in follows.items():
        recorded.kpis += follow_through(svc.store, listener, artists, day)
    return recorded


@router.post(path("POST", "/v1/events"))
def post_events(batch: EventBatch) -> dict[str, Any]:
    """Record up to 100 events; an ``event_id`` the listener sent before is acknowledged, not
    stored again. Impressions and clicks count under the experiment and variant the server
    recorded for the answer they name (``recommendation_id``), once per item; a client's
    ``experiment`` and ``variant`` are ignored. A play or follow naming an answer issued to its
    listener that showed that song (or, an "artists for you" answer, that artist) counts among
    the music KPIs, once per answer and item.

    The envelope's ``variant`` is the listener's when every event is one listener's."""
    svc = services()
    caller = caller_of(router.current_event.raw_event, svc.settings)
    now = int(time.time() * 1000)
    for i, event in enumerate(batch.events):
        check(event, i, caller, now, svc.settings.event_max_age_days)
    version = batch_version_or_none(svc)
    listeners = {event.user_id for event in batch.events}
    listener_variant = svc.variant(listeners.pop()) if len(listeners) == 1 else "none"
    recorded = record_events(svc, batch.events, now)
    emit_counts(recorded.counts)
    return envelope(recorded.acknowledgement(len(batch.events)), listener_variant, version)
