"""What the off-policy evaluations of the bandits share (the home screen's first carousel,
:mod:`lambdas.logic.home_evaluation`; the onboarding answer's first station,
:mod:`lambdas.logic.onboarding_evaluation`): the unit read from a bandit's log (an answer's
position 0 counted as seen, the clicks counted on it as its reward), what is left out and why,
each target's IPS, SNIPS and DR estimates (:func:`lambdas.logic.offpolicy.estimate`), the report
and its table. Pure functions."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from lambdas.logic import offpolicy

METHODS: tuple[offpolicy.Method, ...] = ("ips", "snips", "dr")


class Unit(Protocol):
    """One logged decision at position 0, as each evaluation's ``Decision`` holds it."""

    @property
    def policy_version(self) -> str: ...
    @property
    def reward(self) -> float: ...
    @property
    def propensity(self) -> float: ...
    @property
    def action(self) -> int: ...


D = TypeVar("D", bound=Unit)


@dataclass(frozen=True)
class Skipped:
    """Logged entries left out, and why."""

    other_positions: int = 0  # impressions and clicks below the first position
    unissued: int = 0  # first positions whose issued record is gone (expired) or unusable
    clicks_without_impression: int = 0  # a click whose impression is not in the window

    def as_dict(self) -> dict[str, int]:
        return {"other_positions": self.other_positions, "unissued": self.unissued,
                "clicks_without_impression": self.clicks_without_impression}  # fmt: skip


def recommendation_id(entry: Mapping[str, Any]) -> str:
    """The answer a log entry is about (from its sort key, ``<ts>#<id>|<type>|<item>``)."""
    return str(entry["sk"]).split("#", 1)[1].split("|", 1)[0]


def first_positions(entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, float], Skipped]:
    """The recommendation ids whose position 0 was counted as seen, with the clicks counted on
    it (their reward), from a bandit's log entries (any order, several minutes)."""
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


def records(
    found: Sequence[D],
    target: Callable[[D], list[float]],
    predicted: Callable[[D], list[float]],
) -> list[offpolicy.Logged]:
    """The :mod:`offpolicy` records of ``found`` for ``target`` (its probabilities of each
    candidate at position 0), with ``predicted`` (each candidate's predicted reward) as the
    reward model of doubly robust."""
    return [offpolicy.logged(d.reward, d.action, d.propensity, target(d), predicted(d))
            for d in found]  # fmt: skip


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


def estimate_target(
    name: str, logged: Sequence[offpolicy.Logged], *, resamples: int, level: float, seed: int
) -> TargetResult:
    """A target's :data:`METHODS` estimates with their bootstrap intervals (a method that cannot
    estimate it: why)."""
    estimates: dict[str, offpolicy.Estimate] = {}
    errors: dict[str, str] = {}
    for method in METHODS:
        try:
            estimates[method] = offpolicy.estimate(logged, method, resamples=resamples,
                                                   level=level, seed=seed)  # fmt: skip
        except offpolicy.OffPolicyError as exc:
            errors[method] = str(exc)
    return TargetResult(name, estimates, errors)


@dataclass(frozen=True)
class Evaluation:
    """The report: the logged policy's observed value and each target's estimates."""

    decisions: int
    observed: float | None  # the logged mean reward (clicks at position 0)
    policy_versions: Mapping[str, int]
    state_version: str
    results: Sequence[TargetResult]
    skipped: Skipped
    level: float
    resamples: int
    unit: str = ""  # what one decision is, in words

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "decisions": self.decisions, "observed": self.observed,
            "policy_versions": dict(self.policy_versions), "state_version": self.state_version,
            "level": self.level, "resamples": self.resamples, "skipped": self.skipped.as_dict(),
            "targets": [r.as_dict() for r in self.results],
        }  # fmt: skip


def evaluate(
    found: Sequence[D],
    targets: Mapping[str, Callable[[D], list[float]]],
    predicted: Callable[[D], list[float]],
    state_version: str,
    skipped: Skipped | None,
    unit: str,
    *,
    resamples: int,
    level: float,
    seed: int,
) -> Evaluation:
    """Every target's :func:`estimate_target` over ``found`` (none without decisions)."""
    versions: dict[str, int] = {}
    for d in found:
        versions[d.policy_version] = versions.get(d.policy_version, 0) + 1
    observed = math.fsum(d.reward for d in found) / len(found) if found else None
    results = [
        estimate_target(
            name, records(found, target, predicted), resamples=resamples, level=level, seed=seed
        )
        for name, target in (targets.items() if found else ())
    ]
    return Evaluation(len(found), observed, versions, state_version, results,
                      skipped or Skipped(), level, resamples, unit)  # fmt: skip


def table(report: Evaluation) -> list[str]:
    """The report's header line of versions, its observed value, one line per target and
    method, and what was left out (when anything was)."""
    pct = f"{report.level:.0%}"
    width = max([9, *(len(r.name) + 2 for r in report.results)])
    versions = ", ".join(f"{v} ({n})" for v, n in sorted(report.policy_versions.items()))
    lines = [
        f"decisions {report.decisions:,}; logged by policy versions {versions}; "
        f"current state version {report.state_version}",
        f"logged policy's observed value: {report.observed:.4f}",
        f"{'target':<{width}}{'method':<7}{'value':>8}  {pct} interval{'':>8}{'ESS':>9}"
        f"{'max w':>9}",
    ]
    for result in report.results:
        for method in METHODS:
            name = f"{result.name:<{width}}{method:<7}"
            e = result.estimates.get(method)
            if e is None:
                lines.append(f"{name}{'—':>8}  {result.errors[method]}")
                continue
            lines.append(f"{name}{e.value:>8.4f}  [{e.low:.4f}, {e.high:.4f}]"
                         f"{e.ess:>13,.1f}{e.max_weight:>9.2f}")  # fmt: skip
    s = report.skipped
    if s.other_positions or s.unissued or s.clicks_without_impression:
        lines.append(
            f"left out: {s.other_positions:,} entries of other positions, {s.unissued:,} "
            f"without their issued record, {s.clicks_without_impression:,} orphan clicks"
        )
    return lines
