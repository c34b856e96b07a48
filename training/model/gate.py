"""The quality gate: may this model replace what is serving?

On ``hit@3``, all on the same test users:

1. it must beat the business rule (a higher hit@3 than ``rule_selected_popular``);
2. it must not be worse than global popularity beyond noise (fails only when the whole 95 %
   interval of the difference is below zero);
3. when a previous model is given, it must not be worse than that one beyond noise (same test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import Lift, find_lift

PREVIOUS = "previous_model"
GATE_METRIC = "hit@3"


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reason": self.reason, "checks": self.checks}


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"check": name, "passed": ok, "detail": detail}


def quality_gate(
    lifts: Sequence[Lift], model: str, has_previous: bool = False, metric: str = GATE_METRIC
) -> GateResult:
    """Apply the three checks to ``model``'s lifts; the reason names every failed check."""
    checks: list[dict[str, Any]] = []

    rule = find_lift(lifts, model, RULE, metric)
    if rule is None:
        checks.append(_check("beats rule", False, f"no {metric} comparison with {RULE}"))
    else:
        checks.append(
            _check(
                "beats rule",
                rule.diff > 0,
                f"{metric} {rule.model_value:.4f} vs rule {rule.baseline_value:.4f} "
                f"(lift {rule.lift:+.1%}, 95% CI {rule.lift_low:+.1%} to {rule.lift_high:+.1%})",
            )
        )

    pairs = [("not worse than global popularity", GLOBAL)]
    if has_previous:
        pairs.append(("not worse than previous model", PREVIOUS))
    for name, baseline in pairs:
        lift = find_lift(lifts, model, baseline, metric)
        if lift is None:
            checks.append(_check(name, False, f"no {metric} comparison with {baseline}"))
            continue
        checks.append(
            _check(
                name,
                not lift.diff_high < 0,
                f"{metric} {lift.model_value:.4f} vs {lift.baseline_value:.4f}, difference "
                f"{lift.diff:+.4f} (95% CI {lift.diff_low:+.4f} to {lift.diff_high:+.4f})",
            )
        )

    failed = [c for c in checks if not c["passed"]]
    if failed:
        reason = "rejected: " + "; ".join(f"{c['check']} failed: {c['detail']}" for c in failed)
    else:
        reason = "passed: " + "; ".join(f"{c['check']}: {c['detail']}" for c in checks)
    return GateResult(passed=not failed, reason=reason, checks=checks)
