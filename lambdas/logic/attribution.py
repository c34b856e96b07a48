"""Experiments and music KPIs attributed by the server. Each answer is recorded when it is issued
(the listener, the experiment and variant it was served under, which list it is, what it
showed); an impression or click counts under what was recorded for the answer it names, once per
item, and only for the listener the answer was issued to. A play of a song an answer showed its
listener counts as a play from recommendations, a follow of an artist an "artists for you"
answer showed its listener as a follow from artists for you (once per answer and item, on the
day the server counted it), and a listener's first and second distinct artist so followed make
the follow-through (:func:`follow_through`). What a client claims (a variant, an experiment, a
recommendation it did not get) changes nothing."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.logic.services import ONBOARDING_EXPERIMENT, Services
from lambdas.store import keys
from lambdas.store.dynamodb import Observed, Store

COUNTED = {"impression": "impressions", "click": "clicks"}
# the music KPIs a play or follow of a recommended song or artist adds to (per UTC day)
KPIS = {"play": "plays_from_recommendations", "follow": "follows_from_artists"}
FOLLOW_THROUGH = ("followers", "followed_another")  # the follow-through's counters, per day
Group = tuple[str, str, str]  # experiment, variant, metric (or keys.KPI, day, metric)
# the lists whose follows count as follows from "artists for you": the personal artists route's
# answer (its ``kind``) and the home screen's carousel of them (its decision's ``kind``)
ARTISTS_FOR_YOU = ("artists", "artists_for_you")
MARKER_ATTEMPTS = 3  # a follow-through marker only moves forward: two moves, and one to see it
# what identifies a shown thing in an answer's lists (songs, stations, artists, genres)
SHOWN_KEYS = ("id", "genre")
# what a bandit's log keeps of a decision (the rest, e.g. the other candidates, stays on the
# issued record for off-policy evaluation)
OBSERVED_FIELDS = ("features", "kind", "key", "position", "propensity", "policy_version")


@dataclass(frozen=True)
class Attribution:
    """Where an impression or click counts (``group``), or a play or follow (``kpi``: the
    music KPI's counter), or why it does not: the request field at fault and the problem
    (``warning``); for an answer a bandit ranked, what that bandit learns from it (``observed``:
    the decision as recorded when the answer was issued)."""

    group: Group | None = None
    warning: tuple[str, str] | None = None
    observed: Observed | None = None
    kpi: Group | None = None


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
    version, the list's ``kind`` (a personal list's: ``songs`` or ``artists``), the ids it
    shows, when; for an answer a bandit ranked, its ``decision`` (the bandit's name under
    ``bandit``, the features, position and propensity it was shown with)."""
    record: dict[str, Any] = {
        "user_id": listener, "experiment": experiment, "variant": variant,
        "model_version": model_version, "items": shown_ids(payload), "at": int(time.time()),
    }  # fmt: skip
    if isinstance(payload.get("kind"), str):
        record["kind"] = payload["kind"]
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


def day_of(now: float) -> str:
    """The UTC day (``YYYY-MM-DD``) a KPI counted at ``now`` (seconds) adds to."""
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def artists_for_you(issued: Mapping[str, Any]) -> bool:
    """Whether an issued answer is an "artists for you" list: the personal artists route's, or
    the home screen's carousel of them."""
    decision = issued.get("decision")
    kind = decision.get("kind") if isinstance(decision, Mapping) else issued.get("kind")
    return kind in ARTISTS_FOR_YOU


def attribute_kpi(
    issued: Mapping[str, Any] | None, user_id: str, event_type: str, shown_id: str, day: str
) -> Attribution:
    """Where a play (of song ``shown_id``) or follow (of artist ``shown_id``) by ``user_id``
    counts among the music KPIs of ``day``, given the issued record of the answer it names
    (None: unknown or expired): only an answer issued to that very listener that showed that
    song or artist, and for a follow, only an "artists for you" answer."""
    field = "item_id" if event_type == "play" else "artist_id"
    if issued is None:
        return Attribution(warning=("recommendation_id", "unknown or expired: not counted"))
    if issued.get("user_id") != user_id:
        problem = "not issued to this listener: not counted"
        return Attribution(warning=("recommendation_id", problem))
    if event_type == "follow" and not artists_for_you(issued):
        problem = "not an answer of artists for you: the follow is not counted"
        return Attribution(warning=("recommendation_id", problem))
    if shown_id not in (issued.get("items") or []):
        return Attribution(warning=(field, "not in that recommendation: not counted"))
    return Attribution(kpi=(keys.KPI, day, KPIS[event_type]))


def next_follow(marker: Mapping[str, Any] | None, artist: str) -> str | None:
    """What a recommended follow of ``artist`` changes in the listener's follow-through marker:
    ``first`` (they had followed none), ``second`` (one other artist, and no second yet) or
    None (nothing: the same artist again, or a second one was recorded before)."""
    if marker is None:
        return "first"
    if marker.get("second") is None and marker.get("first") != artist:
        return "second"
    return None


def follow_through(store: Store, user_id: str, artists: Sequence[str], day: str) -> Counter[str]:
    """Move the listener's follow-through marker for each recommended artist they followed (in
    order) and count, once per listener, their first (``followers`` of ``day``) and their second
    distinct artist (``followed_another``, of their first's day): conditional writes, so two
    requests at once count each once. Idempotent: a retried follow changes nothing."""
    counted: Counter[str] = Counter()
    marker = store.follow_through(user_id)
    for artist in dict.fromkeys(artists):
        for _ in range(MARKER_ATTEMPTS):
            step = next_follow(marker, artist)
            if step is None:
                break
            if step == "first":
                done = store.start_follow_through(user_id, artist, day)
                moved = {"first": artist, "first_day": day}
            else:
                assert marker is not None
                first, first_day = str(marker["first"]), str(marker["first_day"])
                done = store.continue_follow_through(user_id, artist, first, first_day, day)
                moved = {**marker, "second": artist}
            if done:
                counted[FOLLOW_THROUGH[step == "second"]] += 1
                marker = moved
                break
            marker = store.follow_through(user_id)  # another request moved it: look again
    return counted
