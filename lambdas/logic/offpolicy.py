"""Off-policy evaluation: what a *target* policy would have earned, estimated from what a
*logging* policy showed, the rewards it got and the probability (propensity) with which it
showed each thing. Pure functions (stdlib only).

A logged record (:class:`Logged`) holds, for one decision: the reward r, the logging policy's
probability μ of the action it took, the target policy's probability π of that same action, and
for doubly robust a reward model's prediction r̂ for the logged action and its expectation under
the target policy over all candidates, Σₐ π(a) r̂(a) (:func:`logged` computes both from the
distributions over the candidates). With importance weights w = π / μ:

- inverse propensity scoring, IPS: mean(w r). Unbiased when every action π can take had μ > 0
  (and the propensities are the true ones); its variance grows with the weights.
- self-normalised IPS, SNIPS: Σ w r / Σ w. Slightly biased, much less variable; undefined when
  π gives no logged action any probability (Σ w = 0: an error).
- doubly robust, DR: mean(Σₐ π(a) r̂(a) + w (r - r̂)). Unbiased like IPS; the closer r̂ is to the
  true expected reward, the smaller its variance (exact r̂ and deterministic rewards: none but
  the contexts').
- the direct method, DM: mean(Σₐ π(a) r̂(a)), the reward model alone (biased as it is wrong).

:func:`estimate` adds a percentile bootstrap interval (records resampled with replacement) and
the importance weights' effective sample size, (Σ w)² / Σ w², a warning sign when it is small.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Method = Literal["ips", "snips", "dr", "dm"]
METHODS: tuple[Method, ...] = ("ips", "snips", "dr", "dm")


class OffPolicyError(ValueError):
    """Records that cannot give the asked estimate."""


@dataclass(frozen=True)
class Logged:
    """One logged decision, seen from a target policy (see the module docstring)."""

    reward: float
    propensity: float  # μ(a | x): the logging policy's probability of the logged action
    target: float  # π(a | x): the target policy's probability of the same action
    predicted: float = 0.0  # r̂(x, a) of the logged action (doubly robust, direct method)
    baseline: float = 0.0  # Σₐ π(a | x) r̂(x, a) over the candidates (doubly robust, direct)

    @property
    def weight(self) -> float:
        return self.target / self.propensity


def logged(
    reward: float,
    action: int,
    propensity: float,
    target: Sequence[float],
    predicted: Sequence[float] | None = None,
) -> Logged:
    """A :class:`Logged` from the target policy's distribution over the candidates (``target``,
    by index) and, optionally, the reward model's prediction for each candidate."""
    if not 0 <= action < len(target):
        raise OffPolicyError(f"action {action} is not one of the {len(target)} candidates")
    if predicted is None:
        return Logged(reward, propensity, target[action])
    if len(predicted) != len(target):
        raise OffPolicyError("one prediction per candidate")
    baseline = math.fsum(p * r for p, r in zip(target, predicted, strict=True))
    return Logged(reward, propensity, target[action], predicted[action], baseline)


def check(records: Sequence[Logged]) -> None:
    """Raise :class:`OffPolicyError` unless every record is usable: propensity in (0, 1], target
    probability in [0, 1], finite reward and predictions."""
    if not records:
        raise OffPolicyError("no logged records")
    for i, r in enumerate(records):
        if not 0.0 < r.propensity <= 1.0:
            raise OffPolicyError(
                f"record {i}: logging propensity {r.propensity} is not in (0, 1] (a shown item "
                "had probability > 0 of being shown; 0 or missing means it was not logged)"
            )
        if not 0.0 <= r.target <= 1.0:
            raise OffPolicyError(f"record {i}: target probability {r.target} is not in [0, 1]")
        if not all(math.isfinite(v) for v in (r.reward, r.predicted, r.baseline)):
            raise OffPolicyError(f"record {i}: reward and predictions must be finite")


def ips(records: Sequence[Logged]) -> float:
    """Inverse propensity scoring: mean(w r)."""
    check(records)
    return math.fsum(r.weight * r.reward for r in records) / len(records)


def snips(records: Sequence[Logged]) -> float:
    """Self-normalised IPS: Σ w r / Σ w; :class:`OffPolicyError` when Σ w = 0."""
    check(records)
    total = math.fsum(r.weight for r in records)
    if total <= 0.0:
        raise OffPolicyError(
            "SNIPS is undefined: the target policy gives probability 0 to every logged action "
            "(the sum of the importance weights is 0); the log has no support for it"
        )
    return math.fsum(r.weight * r.reward for r in records) / total


def doubly_robust(records: Sequence[Logged]) -> float:
    """Doubly robust: mean(Σₐ π(a) r̂(a) + w (r - r̂(a_logged)))."""
    check(records)
    return math.fsum(r.baseline + r.weight * (r.reward - r.predicted) for r in records) / len(
        records
    )


def direct(records: Sequence[Logged]) -> float:
    """The direct method: mean(Σₐ π(a) r̂(a)), the reward model's value of the target."""
    check(records)
    return math.fsum(r.baseline for r in records) / len(records)


ESTIMATORS: dict[Method, Callable[[Sequence[Logged]], float]] = {
    "ips": ips,
    "snips": snips,
    "dr": doubly_robust,
    "dm": direct,
}


@dataclass(frozen=True)
class Estimate:
    """A policy value with its bootstrap interval. ``undefined``: bootstrap resamples where the
    estimate does not exist (SNIPS with no weight), left out of the interval."""

    method: Method
    value: float
    low: float
    high: float
    n: int
    ess: float  # effective sample size of the importance weights
    max_weight: float
    level: float
    resamples: int
    undefined: int = 0

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


def effective_sample_size(records: Sequence[Logged]) -> float:
    """(Σ w)² / Σ w²: how many records the weighted ones are worth (n when π = μ)."""
    squares = math.fsum(r.weight**2 for r in records)
    return math.fsum(r.weight for r in records) ** 2 / squares if squares > 0 else 0.0


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def estimate(
    records: Sequence[Logged],
    method: Method = "dr",
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """The ``method`` estimate of the target policy's value (mean reward per decision) with a
    percentile bootstrap interval at ``level`` from ``resamples`` resamples of the records
    (seeded: the same records and seed give the same interval)."""
    if method not in ESTIMATORS:
        raise OffPolicyError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    if resamples < 1 or not 0.0 < level < 1.0:
        raise OffPolicyError("resamples >= 1 and level in (0, 1)")
    value = ESTIMATORS[method](records)  # checks the records; SNIPS raises on Σ w = 0
    n = len(records)
    weights = [r.weight for r in records]
    # per-record terms: the estimate is mean(num) (IPS, DR, DM) or Σ num / Σ weights (SNIPS)
    if method == "ips" or method == "snips":
        num = [w * r.reward for w, r in zip(weights, records, strict=True)]
    elif method == "dr":
        num = [
            r.baseline + w * (r.reward - r.predicted) for w, r in zip(weights, records, strict=True)
        ]
    else:
        num = [r.baseline for r in records]
    rng = random.Random(seed)
    population = range(n)
    reps: list[float] = []
    undefined = 0
    for _ in range(resamples):
        idx = rng.choices(population, k=n)
        total = math.fsum(map(num.__getitem__, idx))
        if method == "snips":
            wsum = math.fsum(map(weights.__getitem__, idx))
            if wsum <= 0.0:
                undefined += 1
                continue
            reps.append(total / wsum)
        else:
            reps.append(total / n)
    if not reps:
        raise OffPolicyError("SNIPS is undefined in every bootstrap resample")
    reps.sort()
    tail = (1.0 - level) / 2.0
    return Estimate(
        method=method,
        value=value,
        low=_quantile(reps, tail),
        high=_quantile(reps, 1.0 - tail),
        n=n,
        ess=effective_sample_size(records),
        max_weight=max(weights),
        level=level,
        resamples=resamples,
        undefined=undefined,
    )


def estimate_all(
    records: Sequence[Logged],
    methods: Sequence[Method] = METHODS,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[Method, Estimate]:
    """:func:`estimate` for each of ``methods`` (the same resamples: same seed)."""
    return {m: estimate(records, m, resamples=resamples, level=level, seed=seed) for m in methods}
