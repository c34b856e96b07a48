"""Experiments attributed by the server. Each answer is recorded when it is issued (the listener,
the experiment and variant it was served under, what it showed); an impression or click counts
under what was recorded for the answer it names, once per item, and only for the listener the
answer was issued to. What a client claims (a variant, an experiment) changes nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.logic.services import ONBOARDING_EXPERIMENT, Services
from lambdas.store.dynamodb import Observed

COUNTED = {"impression": "impressions", "click": "clicks"}
Group = tuple[str, str, str]  # experiment, variant, metric
# what identifies a shown thing in an answer's lists (songs, stations, artists, genres)
SHOWN_KEYS = ("id", "genre")
# what a bandit's log keeps of a decision (the rest, e.g. the other candidates, stays on the
# issued record for off-policy evaluation)
OBSERVED_FIELDS = ("features", "kind", "key", "position", "propensity", "policy_version")


@dataclass(frozen=True)
class Attribution:
    """Where an impression or click counts (``group``), or why it does not: the request field
    at fault and the problem (``warning``); for an answer a bandit ranked, what that bandit
    learns from it (``observed``: the decision as recorded when the answer was issued)."""

    group: Group | None = None
    warning: tuple[str, str] | None = None
    observed: Observed | None = None


def shown_ids(payload: Mapping[str, Any]) -> list[str]:
    """The ids of everything an answer shows: each list's entries' ``id`` (or ``genre``)."""
    shown: list[str] = []
    for value in payload.values():
        if not isinstance(value, list):
            continue
        for entry in value:
            key = next((k for k in SHOWN_KEYS if isinstance(entry, dict) and k in entry), None)
            if key is not None:
                shown.append(str(entry[key]))
    return list(dict.fromkeys(shown))


def issued_record(
    listener: str | None,
    variant: str,
    model_version: str,
    payload: Mapping[str, Any],
    experiment: str = ONBOARDING_EXPERIMENT,
    decision: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What is recorded of an answer when it is issued: the listener, experiment, variant, model
    version, the ids it shows, when; for an answer a bandit ranked, its ``decision`` (the
    bandit's name under ``bandit``, the features, position and propensity it was shown with)."""
    record: dict[str, Any] = {
        "user_id": listener, "experiment": experiment, "variant": variant,
        "model_version": model_version, "items": shown_ids(payload), "at": int(time.time()),
    }  # fmt: skip
    if decision is not None:
        record["decision"] = dict(decision)
    return record


def issue(
    svc: Services,
    listener: str | None,
    variant: str,
    model_version: str,
    payload: Mapping[str, Any],
    experiment: str = ONBOARDING_EXPERIMENT,
    decision: Mapping[str, Any] | None = None,
) -> str:
    """Record an answer as issued (with the bandit's ``decision``, when one ranked it) and
    return its ``recommendation_id``."""
    recommendation_id = uuid.uuid4().hex
    record = issued_record(listener, variant, model_version, payload, experiment, decision)
    svc.store.put_issued(recommendation_id, record)
    return recommendation_id


def issue_many(svc: Services, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Record several answers (:func:`issued_record`) as issued at once; their
    ``recommendation_id`` in the same order."""
    ids = [uuid.uuid4().hex for _ in records]
    svc.store.put_issued_many(dict(zip(ids, records, strict=True)))
    return ids


def observed(issued: Mapping[str, Any], shown_id: str | None = None) -> Observed | None:
    """What the bandit that ranked an answer learns from its impression or click (None: no
    bandit ranked it). A decision with ``items`` ranked several things of one answer (the
    onboarding bandit's stations): the event's item's own decision, None for an item the bandit
    did not choose (a song of the same answer)."""
    decision = issued.get("decision")
    if not isinstance(decision, Mapping) or not decision.get("bandit"):
        return None
    per_item = decision.get("items")
    if isinstance(per_item, Mapping):
        mine = per_item.get(shown_id) if shown_id is not None else None
        if not isinstance(mine, Mapping):
            return None
        decision = {**decision, **mine}
    fields = {k: v for k, v in decision.items() if k in OBSERVED_FIELDS}
    return Observed(str(decision["bandit"]), fields)


def attribute(
    issued: Mapping[str, Any] | None, user_id: str, event_type: str, shown_id: str | None
) -> Attribution:
    """Where an impression or click of ``shown_id`` (None: the answer as a whole) by ``user_id``
    counts, given its answer's issued record (None: unknown or expired)."""
    if issued is None:
        return Attribution(warning=("recommendation_id", "unknown or expired: not counted"))
    owner = issued.get("user_id")
    if owner is not None and owner != user_id:
        return Attribution(warning=("recommendation_id", "issued to another listener: not counted"))
    items = issued.get("items") or []
    if shown_id is not None and items and shown_id not in items:
        return Attribution(warning=("item_id", "not in that recommendation: not counted"))
    group = (str(issued["experiment"]), str(issued["variant"]), COUNTED[event_type])
    return Attribution(group=group, observed=observed(issued, shown_id))
