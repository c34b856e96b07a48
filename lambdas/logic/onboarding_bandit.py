"""The stations a new listener is shown, chosen by a contextual bandit: the ``bandit`` variant of
the onboarding experiment.

**Candidates.** The region's best stations (:data:`PER_GENRE` of each, its own station charts,
else the global ones) of the model's :data:`CANDIDATE_GENRES` most probable genres and of the
genres the listener selected. **Features** of each (:data:`FEATURES`): a bias; the logit of the
model's probability for the station's genre; whether the listener selected that genre; whether
it is a station of the listener's own region; its place in its genre's chart (1 for the first,
1/2 the second, ...). Each station also has its own effect (its appeal), learnt from its clicks.

**Prior.** The model's logit has a positive prior weight and everything else starts at 0, so
with no clicks the bandit shows the model's genres in the model's order, each genre's stations
in chart order; clicks decide how far to trust the model against the listener's selection, the
regional bonus and each station's appeal. **Policy.** The softmax policy with exact
propensities, its exploration annealed as impressions accumulate
(:class:`lambdas.logic.bandit.Annealing`, chosen by measurement: docs/experiments.md).
The state and its refresh are the home screen's (:mod:`lambdas.logic.bandit_state`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.logic import bandit
from lambdas.logic.bandit_state import PolicyState, Spec
from lambdas.logic.content import named
from lambdas.logic.fallback import GLOBAL, Level, Place, read_level
from lambdas.logic.services import Services

BANDIT = "onboarding"
VARIANT = "bandit"  # the onboarding experiment's variant it serves
CANDIDATE_GENRES = 5  # the model's most probable genres considered (besides the selected ones)
PER_GENRE = 4  # stations of each genre considered
FEATURES = ("bias", "model_logit", "selected", "regional", "chart")
# Click-rate units. The model's logit moves a station's click rate by 3 points per unit (sd 5);
# the selected and regional bonuses and the chart place start at 0 (sd 10 points); a station's
# own appeal, sd 5 points.
MODEL = bandit.Model(
    FEATURES,
    prior_mean={"bias": 0.35, "model_logit": 0.03},
    prior_precision={"bias": 10.0, "model_logit": 400.0},
    default_precision=100.0,
    action_precision=400.0,
    noise=0.2,
)
POLICY = bandit.Policy("softmax", temperature=0.02, optimism=1.0, epsilon=0.05)
SPEC = Spec(BANDIT, MODEL, bandit.Annealing(half_life=500.0, epsilon_floor=0.01))


@dataclass(frozen=True)
class Candidate:
    """A station the bandit may show, and what it is ranked by."""

    station: str
    genre: str
    chart: str  # the chart it came from (``<region or *>#<genre>``)
    features: dict[str, float]


@dataclass(frozen=True)
class Choice:
    """The stations shown, in order, each with its decision (what the events route logs for the
    bandit: its features, key, position and propensity), and the candidates' features (for
    off-policy evaluation)."""

    stations: list[dict[str, Any]]
    decisions: dict[str, dict[str, Any]]
    candidates: list[Candidate]
    policy: bandit.Policy = POLICY


def candidate_genres(
    probabilities: Sequence[Mapping[str, Any]], selected: Sequence[str]
) -> list[str]:
    """The model's most probable genres, then the selected ones it did not rank that high."""
    top = [str(g["genre"]) for g in probabilities[:CANDIDATE_GENRES]]
    return list(dict.fromkeys([*top, *selected]))


def _charts(svc: Services, region: str, genres: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Each genre's best stations in the region (its own station charts hold the national ones
    too), else globally, with the chart each came from: at most :data:`PER_GENRE`, best first.
    Two reads at most."""
    found: dict[str, list[tuple[str, str]]] = {g: [] for g in genres}
    places = [Place(region, (region,))] if region != GLOBAL else []
    for place in [*places, Place(GLOBAL, (GLOBAL,))]:
        missing = tuple(g for g in genres if not found[g])
        if not missing:
            break
        for station, _, tag in read_level(svc, Level(place, missing), "stations", PER_GENRE):
            genre = str(tag).partition("#")[2] if tag else ""
            if genre in found and station not in (s for s, _ in found[genre]):
                found[genre].append((station, str(tag)))
    return found


def candidates(
    svc: Services,
    region: str,
    probabilities: Sequence[Mapping[str, Any]],
    selected: Sequence[str],
) -> list[Candidate]:
    """The stations to choose from, with their features (see the module docstring)."""
    p_of = {str(g["genre"]): float(g["score"]) for g in probabilities}
    genres = candidate_genres(probabilities, selected)
    charts = _charts(svc, region, genres)
    ids = [s for g in genres for s, _ in charts[g]]
    catalog = svc.store.catalog(ids, kind="station") if ids else {}
    chosen = set(selected)
    found: list[Candidate] = []
    seen: set[str] = set()
    for genre in genres:
        for place, (station, chart) in enumerate(charts[genre]):
            if station in seen:
                continue
            seen.add(station)
            values = {
                "bias": 1.0,
                "model_logit": round(bandit.logit(p_of.get(genre, 0.0)), 6),
                "selected": float(genre in chosen),
                "regional": float(catalog.get(station, {}).get("region") == region),
                "chart": round(1.0 / (place + 1), 6),
            }
            features = {k: v for k, v in values.items() if v}
            found.append(Candidate(station, genre, chart, features))
    return found


def choose(
    svc: Services,
    state: PolicyState,
    found: list[Candidate],
    limit: int,
    rng: random.Random,
) -> Choice:
    """The first ``limit`` stations in the annealed policy's order, with their decisions."""
    if not found:
        return Choice([], {}, [])
    slots = min(limit, len(found))
    vectors = [bandit.encode(FEATURES, c.features) for c in found]
    stations = [c.station for c in found]
    policy = state.policy(SPEC, POLICY)
    ranking = bandit.rank(state.posterior, vectors, policy, rng, slots=slots, keys=stations)
    pool = [(stations[i], ranking.scores[i]) for i in ranking.order]
    named_pool = named(svc, pool, "station")
    shown = [{**entry, "chart": found[i].chart}
             for entry, i in zip(named_pool, ranking.order, strict=True)]  # fmt: skip
    decisions = {
        stations[i]: {
            "features": found[i].features,
            "key": stations[i],
            "position": position,
            "propensity": ranking.propensities[position],
            "policy_version": state.version,
        }
        for position, i in enumerate(ranking.order)
    }
    return Choice(shown, decisions, found, policy)


def decision(choice: Choice) -> dict[str, Any]:
    """What the answer's issued record keeps for the bandit and off-policy evaluation: each
    shown station's decision (``items``), the candidates' keys and features in order, and the
    policy's exploration at the time."""
    return {
        "bandit": BANDIT,
        "items": choice.decisions,
        "candidates": [{"key": c.station, "features": c.features} for c in choice.candidates],
        "policy": {
            "epsilon": choice.policy.epsilon,
            "temperature": choice.policy.temperature,
            "optimism": choice.policy.optimism,
        },
    }
