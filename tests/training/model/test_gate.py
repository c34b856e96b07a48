"""The quality gate: pass and reject cases, with and without a previous model."""

from __future__ import annotations

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import Lift
from training.model.gate import PREVIOUS, quality_gate


def _lift(baseline, model_value, baseline_value, diff_low, diff_high, metric="hit@3"):
    diff = model_value - baseline_value
    return Lift(
        model="lightgbm",
        baseline=baseline,
        metric=metric,
        model_value=model_value,
        baseline_value=baseline_value,
        lift=diff / baseline_value,
        lift_low=diff_low / baseline_value,
        lift_high=diff_high / baseline_value,
        diff=diff,
        diff_low=diff_low,
        diff_high=diff_high,
    )


def test_passes_when_better_than_everything():
    gate = quality_gate(
        [_lift(RULE, 0.6, 0.5, 0.08, 0.12), _lift(GLOBAL, 0.6, 0.4, 0.18, 0.22)], "lightgbm"
    )
    assert gate.passed
    assert gate.reason.startswith("passed")
    assert [c["check"] for c in gate.checks] == ["beats rule", "not worse than global popularity"]


def test_rejects_when_not_beating_the_rule():
    gate = quality_gate(
        [_lift(RULE, 0.5, 0.5, -0.01, 0.01), _lift(GLOBAL, 0.5, 0.4, 0.08, 0.12)], "lightgbm"
    )
    assert not gate.passed
    assert "beats rule failed" in gate.reason


def test_global_popularity_only_fails_beyond_noise():
    noise = [_lift(RULE, 0.6, 0.5, 0.05, 0.15), _lift(GLOBAL, 0.6, 0.61, -0.03, 0.01)]
    assert quality_gate(noise, "lightgbm").passed
    worse = [_lift(RULE, 0.6, 0.5, 0.05, 0.15), _lift(GLOBAL, 0.6, 0.65, -0.07, -0.03)]
    gate = quality_gate(worse, "lightgbm")
    assert not gate.passed
    assert "not worse than global popularity failed" in gate.reason


def test_previous_model():
    base = [_lift(RULE, 0.6, 0.5, 0.05, 0.15), _lift(GLOBAL, 0.6, 0.4, 0.15, 0.25)]
    ok = quality_gate([*base, _lift(PREVIOUS, 0.6, 0.605, -0.02, 0.01)], "lightgbm", True)
    assert ok.passed
    assert len(ok.checks) == 3
    bad = quality_gate([*base, _lift(PREVIOUS, 0.6, 0.66, -0.08, -0.04)], "lightgbm", True)
    assert not bad.passed
    assert "not worse than previous model failed" in bad.reason
    missing = quality_gate(base, "lightgbm", has_previous=True)
    assert not missing.passed
