"""Off-policy evaluation of the home screen's first carousel: what another policy would have
earned, from the logged decisions (pure functions; reading the log is the ops CLI's).

**The unit** is one home screen whose first carousel (position 0) was counted as seen: the
action is that carousel's kind, the reward the clicks counted on it (distinct items, usually 0
or 1: the bandit's clicks per carousel impression), the logging propensity the one recorded for
position 0. Only position 0 is evaluated because only there is the recorded propensity the
*marginal* probability of the action: position k's is the softmax's probability given the
carousels placed above, so a target's value at position k would need the probability of the
whole prefix under both policies (a slate estimator, with weights that multiply), not one
position's. Screens whose first carousel was not reported as seen are not in the log; the
estimates assume that whether it is reported does not depend on its kind.

**The data.** The log (``bandit#home#log#<minute>#<shard>``) holds, per counted impression or
click, the decision's kind, position, propensity, features and policy version, and the answer's
``recommendation_id`` in its sort key; the other candidates and the context are on the issued
record (``rec#<id>``, its ``decision``), from which every candidate's features are rebuilt
(:func:`lambdas.logic.home.features`). Both expire after 7 days.

**The targets** (:data:`TARGETS`), each a distribution over the screen's candidates for the
first position: ``prior``, the softmax policy with no state (the hand-made order with its
exploration); ``greedy``, the current posterior's best carousel (deterministic); ``softmax``,
the current policy itself, a sanity check: where the log was written by the current version its
weights are 1 and every estimate is the logged mean reward. Doubly robust uses the current
posterior's mean click rate of each candidate as its reward model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lambdas.logic import bandit, offpolicy
from lambdas.logic.home import FEATURES, KINDS, POLICY, prior

TARGETS = ("prior", "greedy", "softmax")
METHODS: tuple[offpolicy.Method, ...] = ("ips", "snips", "dr")
GREEDY = bandit.Policy("greedy")


@dataclass(frozen=True)
class Decision:
    """One home screen's first carousel, as logged and issued, with its reward."""

    recommendation_id: str
    kind: str  # the action: the first carousel's kind
    propensity: float  # the logging policy's probability of that kind first
    candidates: tuple[str, ...]  # every candidate's kind, in the recorded order
    context: Mapping[str, float]  # the context features by name (lambdas.logic.home.CONTEXT)
    policy_version: str
    reward: float  # clicks counted on it

    def vectors(self) -> list[list[float]]:
        """Every candidate's feature vector (the kind crossed with the context)."""
        return [bandit.encode(FEATURES, {f"{kind}:{name}": v for name, v in self.context.items()})
                for kind in self.candidates]  # fmt: skip

    @property
    def action(self) -> int:
        return self.candidates.index(self.kind)


@dataclass(frozen=True)
class Skipped:
    """Logged entries left out, and why."""

    other_positions: int = 0  # impressions and clicks below the first carousel
    unissued: int = 0  # first carousels whose issued record is gone (expired) or unusable
    clicks_without_impression: int = 0  # a click whose impression is not in the window

    def as_dict(self) -> dict[str, int]:
        return {"other_positions": self.other_positions, "unissued": self.unissued,
                "clicks_without_impression": self.clicks_without_impression}  # fmt: skip


def recommendation_id(entry: Mapping[str, Any]) -> str:
    """The answer a log entry is about (from its sort key, ``<ts>#<id>|<type>|<item>``)."""
    return str(entry["sk"]).split("#", 1)[1].split("|", 1)[0]


def first_carousels(entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, float], Skipped]:
    """The recommendation ids of the first carousels counted as seen, with the clicks counted
    on each (their reward), from log entries (any order, several minutes)."""
    seen: set[str] = set()
    clicks: dict[str, float] = {}
    other = 0
    for entry in entries:
        if int(entry.get("position", -1)) != 0:
            other += 1
            continue
        rec = recommendation_id(entry)
        if entry.get("type") == "impression":
            seen.add(rec)
        elif entry.get("type") == "click":
            clicks[rec] = clicks.get(rec, 0.0) + 1.0
    rewards = {rec: clicks.get(rec, 0.0) for rec in sorted(seen)}
    orphans = sum(int(n) for rec, n in clicks.items() if rec not in seen)
    return rewards, Skipped(other_positions=other, clicks_without_impression=orphans)


def decisions(
    rewards: Mapping[str, float], issued: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Decision], int]:
    """The :class:`Decision` of each first carousel (by recommendation id, with its reward) whose
    issued record is there and usable, and how many were not."""
    found: list[Decision] = []
    missing = 0
    for rec, reward in rewards.items():
        decision = (issued.get(rec) or {}).get("decision")
        try:
            if not isinstance(decision, Mapping):
                raise TypeError("no decision")
            candidates = tuple(str(k) for k in decision["candidates"])
            kind = str(decision["kind"])
            propensity = float(decision["propensity"])
            context = {str(k): float(v) for k, v in decision["context"].items()}
            usable = (int(decision["position"]) == 0 and kind in candidates
                      and set(candidates) <= set(KINDS) and 0.0 < propensity <= 1.0)  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError):
            usable = False
        if not usable:
            missing += 1
            continue
        version = str(decision.get("policy_version", ""))  # type: ignore[union-attr]
        found.append(Decision(rec, kind, propensity, candidates, context, version, reward))
    return found, missing


Target = Callable[[Decision], list[float]]


def targets(post: bandit.Posterior) -> dict[str, Target]:
    """Each target policy's probabilities of the candidates first (:data:`TARGETS`), given the
    current posterior ``post``."""
    start = prior()
    return {
        "prior": lambda d: bandit.top_probabilities(start, d.vectors(), POLICY),
        "greedy": lambda d: bandit.top_probabilities(post, d.vectors(), GREEDY),
        "softmax": lambda d: bandit.top_probabilities(post, d.vectors(), POLICY),
    }


def records(
    found: Sequence[Decision], target: Target, post: bandit.Posterior
) -> list[offpolicy.Logged]:
    """The :mod:`offpolicy` records of ``found`` for ``target``, with the posterior mean click
    rate of every candidate as the reward model."""
    out = []
    for d in found:
        vectors = d.vectors()
        predicted = [post.predict(x) for x in vectors]
        out.append(offpolicy.logged(d.reward, d.action, d.propensity, target(d), predicted))
    return out


@dataclass(frozen=True)
class TargetResult:
    """A target policy's estimates (by method; a method without an estimate: its error)."""

    name: str
    estimates: Mapping[str, offpolicy.Estimate]
    errors: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        first = next(iter(self.estimates.values()), None)
        return {
            "target": self.name,
            "ess": first.ess if first else None,
            "max_weight": first.max_weight if first else None,
            "estimates": {
                m: {"value": e.value, "low": e.low, "high": e.high}
                for m, e in self.estimates.items()
            },
            "errors": dict(self.errors),
        }


@dataclass(frozen=True)
class Evaluation:
    """The report: the logged policy's observed value and each target's estimates."""

    decisions: int
    observed: float | None  # the logged mean reward (clicks per first carousel)
    policy_versions: Mapping[str, int]
    state_version: str
    results: Sequence[TargetResult]
    skipped: Skipped
    level: float
    resamples: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": "the first carousel of a home screen counted as seen; reward: its clicks",
            "decisions": self.decisions, "observed": self.observed,
            "policy_versions": dict(self.policy_versions), "state_version": self.state_version,
            "level": self.level, "resamples": self.resamples, "skipped": self.skipped.as_dict(),
            "targets": [r.as_dict() for r in self.results],
        }  # fmt: skip


def evaluate(
    found: Sequence[Decision],
    post: bandit.Posterior,
    state_version: str = "prior",
    skipped: Skipped | None = None,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Evaluation:
    """Every target's IPS, SNIPS and DR estimates with their bootstrap intervals (none when
    there are no decisions; a method that cannot estimate a target says why)."""
    versions: dict[str, int] = {}
    for d in found:
        versions[d.policy_version] = versions.get(d.policy_version, 0) + 1
    observed = math.fsum(d.reward for d in found) / len(found) if found else None
    results = []
    for name, target in targets(post).items() if found else ():
        logged = records(found, target, post)
        estimates: dict[str, offpolicy.Estimate] = {}
        errors: dict[str, str] = {}
        for method in METHODS:
            try:
                estimates[method] = offpolicy.estimate(logged, method, resamples=resamples,
                                                       level=level, seed=seed)  # fmt: skip
            except offpolicy.OffPolicyError as exc:
                errors[method] = str(exc)
        results.append(TargetResult(name, estimates, errors))
    return Evaluation(len(found), observed, versions, state_version, results,
                      skipped or Skipped(), level, resamples)  # fmt: skip


def format_evaluation(report: Evaluation) -> str:
    """The report as text."""
    if not report.decisions:
        return ("home: no logged first carousels with their issued decisions in the window: "
                "nothing to evaluate (has the home screen been served and seen? the log and "
                "the issued records are kept 7 days)")  # fmt: skip
    pct = f"{report.level:.0%}"
    versions = ", ".join(f"{v} ({n})" for v, n in sorted(report.policy_versions.items()))
    lines = [
        "home: off-policy evaluation of the first carousel (reward: its clicks per impression)",
        f"decisions {report.decisions:,}; logged by policy versions {versions}; "
        f"current state version {report.state_version}",
        f"logged policy's observed value: {report.observed:.4f}",
        f"{'target':<9}{'method':<7}{'value':>8}  {pct} interval{'':>8}{'ESS':>9}{'max w':>9}",
    ]
    for result in report.results:
        for method in METHODS:
            e = result.estimates.get(method)
            if e is None:
                lines.append(f"{result.name:<9}{method:<7}{'—':>8}  {result.errors[method]}")
                continue
            lines.append(f"{result.name:<9}{method:<7}{e.value:>8.4f}  [{e.low:.4f}, {e.high:.4f}]"
                         f"{e.ess:>13,.1f}{e.max_weight:>9.2f}")  # fmt: skip
    s = report.skipped
    if s.other_positions or s.unissued or s.clicks_without_impression:
        lines.append(
            f"left out: {s.other_positions:,} entries of other positions, {s.unissued:,} "
            f"without their issued record, {s.clicks_without_impression:,} orphan clicks"
        )
    return "\n".join(lines)
