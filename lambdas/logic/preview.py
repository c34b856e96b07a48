"""The console's previews as plain JSON: a composed onboarding answer
(:mod:`lambdas.logic.onboarding_answer`) with where each list came from and why, and a known
listener's home screen and personal lists (:mod:`lambdas.logic.listener_answer`) with their
sources. Nothing here reads or writes: the answers are composed, never recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lambdas.logic import home, onboarding_bandit
from lambdas.logic.listener_answer import HomeScreen, Personal
from lambdas.logic.onboarding_answer import Composed

CHART_ORDER = (
    "the region's charts of these genres first, then wider ones while short: each item names its"
    " chart"
)
RULE = (
    "the selected genres, most popular first (by the national station chart); none selected: the"
    " most popular genres"
)
SONG_RULES = "; after the business rules: available, titled, at most 2 per artist and 1 per album"


def charts_of(items: Sequence[dict[str, Any]]) -> list[str]:
    """The charts a list's items came from (``<region>#<genre>``), in order of first use."""
    return list(dict.fromkeys(str(i["chart"]) for i in items if i.get("chart")))


def genre_reason(composed: Composed) -> dict[str, Any]:
    """Why these genres: the model's ranking, the rules variant's rule, or the rule because the
    model failed."""
    choice = composed.choice
    if choice.source == "fallback":
        return {"source": "fallback", "error": choice.error,
                "text": f"the model failed ({choice.error}), so the rule: {RULE}"}  # fmt: skip
    if choice.source == "rules":
        return {"source": "rules", "text": f"the rules variant's rule: {RULE}"}
    if not choice.probabilities:
        return {"source": "model", "model_version": choice.model_version,
                "text": f"the model ranked no genre, so the rule: {RULE}"}  # fmt: skip
    return {"source": "model", "model_version": choice.model_version,
            "probabilities": choice.probabilities,
            "text": f"the model's {len(choice.genres)} most probable genres for these answers "
                    f"(model {choice.model_version})"}  # fmt: skip


def chart_reason(kind: str, composed: Composed, rules: str = "") -> dict[str, Any]:
    """Why a list that came from the charts: which genres, where, which charts."""
    items = composed.payload[kind]
    where = composed.region
    text = f"the best {kind} of these genres in {where} ({CHART_ORDER}){rules}"
    return {"source": "charts", "charts": charts_of(items), "text": text}


def station_reason(composed: Composed) -> dict[str, Any]:
    """Why these stations: the onboarding bandit's ranking (bandit variant with the model's
    genres), else the charts' order."""
    found = composed.bandit
    if composed.variant == onboarding_bandit.VARIANT and found is None:
        reason = chart_reason("stations", composed)
        reason["text"] += "; the bandit ranks with the model's probabilities, which it did not get"
        return reason
    if found is None or not found.picked.stations:
        reason = chart_reason("stations", composed)
        if found is not None:
            reason["text"] += "; the bandit had no station to choose from"
        return reason
    picked, policy = found.picked, found.policy
    ranked = [{"id": station, "position": d["position"], "propensity": round(d["propensity"], 6)}
              for station, d in picked.decisions.items()]  # fmt: skip
    ranking: dict[str, Any] = {
        "source": "bandit",
        "policy_version": policy.version,
        "candidates": len(picked.candidates),
        "ranked": sorted(ranked, key=lambda r: r["position"]),
        "text": f"ranked by the onboarding bandit (policy version {policy.version}) among "
        f"{len(picked.candidates)} stations of the model's most probable genres and the selected"
        " ones; then the charts' while short",
    }
    if policy.problem:
        ranking["problem"] = policy.problem
    return ranking


def onboarding_preview(
    composed: Composed, assignment: dict[str, str | None], generated_at: str
) -> dict[str, Any]:
    """The onboarding preview: the answer the route would give (without its
    ``recommendation_id``), how its variant was chosen and why each list is what it is."""
    return {
        "generated_at": generated_at,
        "variant": composed.variant,
        "assignment": assignment,
        "model_version": composed.model_version,
        "batch_version": composed.batch_version,
        **composed.payload,
        "reasons": {
            "genres": genre_reason(composed),
            "stations": station_reason(composed),
            "songs": chart_reason("songs", composed, SONG_RULES),
            "artists": chart_reason("artists", composed),
        },
    }


def carousel_preview(placed: home.Placed) -> dict[str, Any]:
    """A carousel as the home route shows it (without its ``recommendation_id``), with its
    source."""
    c = placed.carousel
    return {"kind": c.kind, "title": c.title, "seed": c.seed, "source": c.source,
            "items": c.items, "position": placed.position,
            "propensity": round(placed.propensity, 6)}  # fmt: skip


def listener_preview(
    found: HomeScreen, songs: Personal, artists: Personal, generated_at: str
) -> dict[str, Any]:
    """The listener preview: what they know of the listener, their home screen (carousels in
    order, each with its source) and their personal songs and artists with source and
    variant."""
    context = found.screen.context
    days = context.days_since_signup
    policy: dict[str, Any] = {"name": home.POLICY_NAME, "version": found.policy.version}
    if found.policy.problem:
        policy["problem"] = found.policy.problem
    return {
        "generated_at": generated_at,
        "user_id": found.user_id,
        "batch_version": found.batch_version,
        "listener": {
            "known": context.has_list or context.onboarded or context.plays > 0,
            "has_list": context.has_list,
            "onboarded": context.onboarded,
            "recent_plays": context.plays,
            "days_since_signup": None if days is None else round(days, 2),
        },
        "home": {
            "variant": home.POLICY_NAME,
            "policy": policy,
            "carousels": [carousel_preview(p) for p in found.screen.placed],
            "candidates": [c.kind for c in found.screen.candidates],
            "warnings": found.warnings,
        },
        "songs": personal_preview(songs),
        "artists": personal_preview(artists),
    }


def personal_preview(found: Personal) -> dict[str, Any]:
    """Personal songs or artists with their source and variant."""
    return {"variant": found.variant, "source": found.payload["source"],
            "items": found.payload["items"]}  # fmt: skip
