"""The quality gate: may this model replace what is serving?

On hit@1 and hit@3, all on the same test users, with the 95 % paired-bootstrap interval of
each difference (model minus baseline):

1. against the **best baseline of each metric** (the rule or global popularity, whichever has
   the higher value on that metric), the model must not be worse beyond noise on either metric
   (it fails when the whole interval is below zero);
2. and it must be better than that best baseline beyond noise on at least one of them (the whole
   interval above zero): a model that only ties popularity does not ship;
3. when a previous model is given, the model must not be worse than it beyond noise on either
   metric.

Every failed check names its metric, the model it was compared with and the interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import Lift, find_lift

PREVIOUS = "previous_model"
GATE_METRICS: tuple[str, ...] = ("hit@1", "hit@3")
BASELINES: tuple[str, ...] = (RULE, GLOBAL)


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reason": self.reason, "checks": self.checks}


def _check(name: str, ok: bool, detail: str, **extra: Any) -> dict[str, Any]:
    return {"check": name, "passed": ok, "detail": detail, **extra}


def _difference(lift: Lift) -> str:
    return (
        f"{lift.metric} {lift.model_value:.4f} vs {lift.baseline} {lift.baseline_value:.4f}, "
        f"difference {lift.diff:+.4f} (95% CI {lift.diff_low:+.4f} to {lift.diff_high:+.4f})"
    )


def best_baseline(
    lifts: Sequence[Lift], model: str, metric: str, baselines: Sequence[str] = BASELINES
) -> Lift | None:
    """The model's comparison with the baseline that is best at ``metric`` (highest value;
    ties go to the first in ``baselines``), or None when there is no comparison."""
    found = [lift for b in baselines if (lift := find_lift(lifts, model, b, metric)) is not None]
    if not found:
        return None
    return max(found, key=lambda lift: lift.baseline_value)  # max keeps the first of ties


def quality_gate(
    lifts: Sequence[Lift],
    model: str,
    has_previous: bool = False,
    metrics: Sequence[str] = GATE_METRICS,
    baselines: Sequence[str] = BASELINES,
) -> GateResult:
    """Apply the checks to ``model``'s lifts; the reason names every failed check."""
    checks: list[dict[str, Any]] = []
    best = {metric: best_baseline(lifts, model, metric, baselines) for metric in metrics}

    for metric, lift in best.items():
        name = f"{metric} not worse than the best baseline"
        if lift is None:
            checks.append(_check(name, False, f"no {metric} comparison with a baseline"))
            continue
        checks.append(
            _check(name, not lift.diff_high < 0, _difference(lift), baseline=lift.baseline)
        )

    found = [lift for lift in best.values() if lift is not None]
    better = [lift for lift in found if lift.diff_low > 0]
    checks.append(
        _check(
            "better than the best baseline beyond noise",
            bool(better),
            ("; ".join(_difference(lift) for lift in (better or found)))
            or "no comparison with a baseline",
            metrics=[lift.metric for lift in better],
        )
    )

    if has_previous:
        for metric in metrics:
            name = f"{metric} not worse than the previous model"
            lift = find_lift(lifts, model, PREVIOUS, metric)
            if lift is None:
                checks.append(_check(name, False, f"no {metric} comparison with {PREVIOUS}"))
                continue
            checks.append(_check(name, not lift.diff_high < 0, _difference(lift)))

    failed = [c for c in checks if not c["passed"]]
    if failed:
        reason = "rejected: " + "; ".join(f"{c['check']} failed: {c['detail']}" for c in failed)
    else:
        reason = "passed: " + "; ".join(f"{c['check']}: {c['detail']}" for c in checks)
    return GateResult(passed=not failed, reason=reason, checks=checks)
