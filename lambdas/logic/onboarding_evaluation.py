"""Off-policy evaluation of the onboarding answer's first station (the ``bandit`` variant's,
:mod:`lambdas.logic.onboarding_bandit`): what another policy would have earned at position 0,
from the logged decisions (pure functions; reading the log is the ops CLI's).

**The unit** is one bandit answer whose first station (position 0) was counted as seen: the
action is that station, the reward the clicks counted on it (0 or 1: an item's click counts
once), the logging propensity the one recorded for position 0 when the answer was issued (the
annealed policy's at that time: used as recorded, never recomputed). Only position 0 is
evaluated, for the home screen's reason (:mod:`lambdas.logic.home_evaluation`): only there is
the recorded propensity the marginal probability of the action.

**The data.** The log (``bandit#onboarding#log#<minute>#<shard>``) gives the first stations
seen and their clicks (:func:`lambdas.logic.ope_report.first_positions`); the issued record's
``decision`` gives the position-0 station (``items``, the entry whose ``position`` is 0), its
propensity and policy version, the candidates' keys and features in candidate order, the
policy's exploration at the time (``policy``) and the listener (``user_id``).

**The targets** (:data:`TARGETS`), each a distribution over the answer's candidates for the
first position; every one ranks with the stations' keys (their own effects), as the route does:

- ``prior``: the softmax policy (:data:`onboarding_bandit.POLICY`) with no state, unannealed:
  what the variant serves before any click is folded;
- ``prior-greedy``: the prior's best station, deterministic: the model's ranking (the model's
  first genre, its chart's first station);
- ``greedy``: the current posterior's best station, deterministic;
- ``logging``: the logged policy itself, the on-policy sanity check: the logged station has its
  recorded propensity, so every weight is 1 and IPS and SNIPS equal the observed click rate at
  position 0 exactly. Doubly robust also needs its probability of the other candidates: the
  softmax with the recorded exploration on the posterior it ranked with (the prior for version
  ``prior``; else the current one, exact when the decision was made by the current version),
  rescaled so the logged station keeps its recorded propensity.

Doubly robust uses the current posterior's mean click rate of each candidate (with its key's
own effect) as its reward model. :func:`true_values` gives each target's true value on the
same decisions from a click model (the simulation's truth), for the bench to check against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.logic import bandit, ope_report
from lambdas.logic.bandit_state import PRIOR_VERSION, prior
from lambdas.logic.onboarding_bandit import BANDIT, FEATURES, POLICY, SPEC
from lambdas.logic.ope_report import METHODS, Evaluation, Skipped

__all__ = ["METHODS", "TARGETS", "Decision", "Evaluation", "Skipped", "Target", "decisions",
           "evaluate", "first_stations", "format_evaluation", "predicted", "targets",
           "true_values"]  # fmt: skip

TARGETS = ("prior", "prior-greedy", "greedy", "logging")
UNIT = "the first station of a bandit onboarding answer counted as seen; reward: its clicks"
GREEDY = bandit.Policy("greedy")


@dataclass(frozen=True)
class Decision:
    """One bandit answer's first station, as logged and issued, with its reward."""

    recommendation_id: str
    user_id: str | None  # the listener the answer was issued to
    station: str  # the action: the first station's id (its key)
    propensity: float  # the logging policy's probability of that station first (recorded)
    candidates: tuple[str, ...]  # every candidate's key (station id), in the recorded order
    features: tuple[Mapping[str, float], ...]  # every candidate's features, same order
    policy_version: str
    policy: bandit.Policy  # the logging policy (the recorded ε, temperature and optimism)
    reward: float  # clicks counted on it

    def vectors(self) -> list[list[float]]:
        """Every candidate's feature vector."""
        return [bandit.encode(FEATURES, f) for f in self.features]

    @property
    def keys(self) -> list[str | None]:
        return list(self.candidates)

    @property
    def action(self) -> int:
        return self.candidates.index(self.station)


def first_stations(entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, float], Skipped]:
    """The recommendation ids of the first stations counted as seen, with the clicks counted on
    each (their reward), from the onboarding bandit's log entries."""
    return ope_report.first_positions(entries)


def _policy(recorded: Any) -> bandit.Policy:
    """The logging policy from the decision's ``policy`` (ε, temperature, optimism)."""
    if not isinstance(recorded, Mapping):
        raise TypeError("no policy recorded")
    return bandit.Policy("softmax", temperature=float(recorded["temperature"]),
                         optimism=float(recorded["optimism"]),
                         epsilon=float(recorded["epsilon"]))  # fmt: skip


def decision_of(rec: str, reward: float, issued: Mapping[str, Any] | None) -> Decision | None:
    """The :class:`Decision` of one answer's first station from its issued record (None: no
    record, not the onboarding bandit's, or unusable)."""
    decision = (issued or {}).get("decision")
    try:
        if not isinstance(decision, Mapping) or decision.get("bandit") != BANDIT:
            return None
        firsts = [(str(k), v) for k, v in decision["items"].items() if int(v["position"]) == 0]
        if len(firsts) != 1:
            return None
        station, first = firsts[0]
        propensity = float(first["propensity"])
        candidates = tuple(str(c["key"]) for c in decision["candidates"])
        features = tuple({str(k): float(v) for k, v in c["features"].items()}
                         for c in decision["candidates"])  # fmt: skip
        policy = _policy(decision.get("policy"))
        usable = (station in candidates and len(set(candidates)) == len(candidates)
                  and 0.0 < propensity <= 1.0
                  and all(math.isfinite(v) for f in features for v in f.values()))  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError, bandit.BanditError):
        return None
    if not usable:
        return None
    user = (issued or {}).get("user_id")
    return Decision(rec, str(user) if user is not None else None, station, propensity,
                    candidates, features, str(first.get("policy_version", "")), policy,
                    reward)  # fmt: skip


def decisions(
    rewards: Mapping[str, float], issued: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Decision], int]:
    """The :class:`Decision` of each first station (by recommendation id, with its reward)
    whose issued record is there and usable, and how many were not."""
    found: list[Decision] = []
    missing = 0
    for rec, reward in rewards.items():
        d = decision_of(rec, reward, issued.get(rec))
        if d is None:
            missing += 1
        else:
            found.append(d)
    return found, missing


Target = Callable[[Decision], list[float]]


def logging_probabilities(
    d: Decision, post: bandit.Posterior, state_version: str = PRIOR_VERSION
) -> list[float]:
    """The logging policy's probability of each candidate first: the recorded propensity for
    the logged station; the others' from the recorded policy on the posterior the decision was
    made with (the prior's for version ``prior``, else ``post``: exact when it is the decision's
    version ``state_version``), rescaled to the rest."""
    base = prior(SPEC) if d.policy_version == PRIOR_VERSION else post
    probs = bandit.top_probabilities(base, d.vectors(), d.policy, keys=d.keys)
    a = d.action
    rest = math.fsum(p for i, p in enumerate(probs) if i != a)
    others = len(probs) - 1
    out = []
    for i, p in enumerate(probs):
        if i == a:
            out.append(d.propensity)
        elif rest > 0:
            out.append((1.0 - d.propensity) * p / rest)
        else:
            out.append((1.0 - d.propensity) / others)
    return out


def targets(post: bandit.Posterior, state_version: str = PRIOR_VERSION) -> dict[str, Target]:
    """Each target policy's probabilities of the candidates first (:data:`TARGETS`), given the
    current posterior ``post`` (of version ``state_version``)."""
    start = prior(SPEC)
    top = bandit.top_probabilities
    return {
        "prior": lambda d: top(start, d.vectors(), POLICY, keys=d.keys),
        "prior-greedy": lambda d: top(start, d.vectors(), GREEDY, keys=d.keys),
        "greedy": lambda d: top(post, d.vectors(), GREEDY, keys=d.keys),
        "logging": lambda d: logging_probabilities(d, post, state_version),
    }


def predicted(post: bandit.Posterior) -> Callable[[Decision], list[float]]:
    """The reward model of doubly robust: each candidate's posterior mean click rate."""
    return lambda d: [post.predict(x, k) for x, k in zip(d.vectors(), d.keys, strict=True)]


def evaluate(
    found: Sequence[Decision],
    post: bandit.Posterior,
    state_version: str = PRIOR_VERSION,
    skipped: Skipped | None = None,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Evaluation:
    """Every target's IPS, SNIPS and DR estimates with their bootstrap intervals (none when
    there are no decisions; a method that cannot estimate a target says why)."""
    return ope_report.evaluate(
        found, targets(post, state_version), predicted(post), state_version, skipped, UNIT,
        resamples=resamples, level=level, seed=seed,
    )  # fmt: skip


def true_values(
    found: Sequence[Decision],
    truth: Callable[[str | None, Sequence[str]], Sequence[float]],
    post: bandit.Posterior,
    state_version: str = PRIOR_VERSION,
) -> dict[str, float]:
    """Each target's true expected click rate at position 0 over the decisions ``found``:
    Σₐ π(a | x) p(a), averaged, where ``truth(user_id, station_ids)`` gives the listener's
    click probability of each station (a deterministic target: its top station's; ``logging``:
    over its probabilities as :func:`logging_probabilities` gives them). Empty without
    decisions."""
    if not found:
        return {}
    chosen = targets(post, state_version)
    totals = dict.fromkeys(chosen, 0.0)
    for d in found:
        p = [float(v) for v in truth(d.user_id, d.candidates)]
        if len(p) != len(d.candidates):
            raise ValueError("truth: one click probability per station")
        for name, target in chosen.items():
            totals[name] += math.fsum(q * r for q, r in zip(target(d), p, strict=True))
    return {name: total / len(found) for name, total in totals.items()}


def format_evaluation(report: Evaluation) -> str:
    """The report as text."""
    if not report.decisions:
        return ("onboarding: no logged first stations with their issued decisions in the window: "
                "nothing to evaluate (has the bandit variant answered and its stations been "
                "seen? the log and the issued records are kept 7 days)")  # fmt: skip
    return "\n".join(["onboarding: off-policy evaluation of the first station (reward: its "
                      "clicks per impression)", *ope_report.table(report)])  # fmt: skip
