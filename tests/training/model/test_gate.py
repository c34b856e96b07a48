"""The quality gate: pass and reject cases, with and without a previous model."""

from __future__ import annotations

import math

import pytest

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


# --- each check exactly at its boundary ------------------------------------------------------
# Values are multiples of 1/8 so every difference below is exact in floating point.

CLEAR_RULE = (RULE, 0.625, 0.375, 0.125, 0.375)  # ahead by 0.25, interval above zero
CLEAR_GLOBAL = (GLOBAL, 0.625, 0.25, 0.25, 0.5)
CLEAR_PREVIOUS = (PREVIOUS, 0.625, 0.5, 0.0625, 0.1875)


def _verdicts(gate):
    return {c["check"]: c["passed"] for c in gate.checks}


def _gate(rule=CLEAR_RULE, global_=CLEAR_GLOBAL, previous=None):
    lifts = [_lift(*rule), _lift(*global_)]
    if previous is not None:
        lifts.append(_lift(*previous))
    return quality_gate(lifts, "lightgbm", has_previous=previous is not None)


def test_beats_the_rule_on_the_point_estimate_even_when_the_interval_crosses_zero():
    # Ahead of the rule by 0.125, but the 95 % interval (-0.125, +0.375) includes zero: the
    # check asks for a higher hit@3, not a significant one.
    gate = _gate(rule=(RULE, 0.625, 0.5, -0.125, 0.375))
    assert _verdicts(gate) == {"beats rule": True, "not worse than global popularity": True}
    assert gate.passed
    assert gate.reason.startswith("passed: beats rule: hit@3 0.6250 vs rule 0.5000")


def test_equal_to_the_rule_does_not_beat_it():
    gate = _gate(rule=(RULE, 0.5, 0.5, -0.125, 0.125))
    assert _verdicts(gate) == {"beats rule": False, "not worse than global popularity": True}
    assert not gate.passed
    assert gate.reason.startswith("rejected: beats rule failed: hit@3 0.5000 vs rule 0.5000")


def test_behind_the_rule_within_noise_does_not_beat_it():
    # Behind by 0.125 with an interval that includes zero: "not worse beyond noise" would
    # pass, but beating the rule needs the model ahead.
    gate = _gate(rule=(RULE, 0.5, 0.625, -0.25, 0.125))
    assert _verdicts(gate)["beats rule"] is False
    assert not gate.passed


NOISE_CHECKS = [
    pytest.param(GLOBAL, "not worse than global popularity", id="global"),
    pytest.param(PREVIOUS, "not worse than previous model", id="previous"),
]


def _gate_against(baseline, lift):
    if baseline == GLOBAL:
        return _gate(global_=lift, previous=CLEAR_PREVIOUS)
    return _gate(previous=lift)


@pytest.mark.parametrize(("baseline", "check"), NOISE_CHECKS)
def test_not_worse_passes_when_the_interval_reaches_exactly_zero(baseline, check):
    # Behind by 0.125 and the interval (-0.25, 0) touches zero: not entirely below zero.
    gate = _gate_against(baseline, (baseline, 0.5, 0.625, -0.25, 0.0))
    assert _verdicts(gate)[check] is True
    assert gate.passed


@pytest.mark.parametrize(("baseline", "check"), NOISE_CHECKS)
def test_not_worse_fails_when_the_interval_is_just_below_zero(baseline, check):
    # The largest float below zero: any tolerance around zero would let this through.
    gate = _gate_against(baseline, (baseline, 0.5, 0.625, -0.25, -math.ulp(0.0)))
    assert _verdicts(gate)[check] is False
    assert not gate.passed
    assert f"{check} failed" in gate.reason
    assert all(ok for name, ok in _verdicts(gate).items() if name != check)


@pytest.mark.parametrize(("baseline", "check"), NOISE_CHECKS)
def test_not_worse_passes_when_behind_within_noise_and_when_equal(baseline, check):
    behind = _gate_against(baseline, (baseline, 0.5, 0.625, -0.25, 0.125))
    equal = _gate_against(baseline, (baseline, 0.5, 0.5, 0.0, 0.0))
    assert _verdicts(behind)[check] is True
    assert _verdicts(equal)[check] is True
    assert behind.passed
    assert equal.passed


@pytest.mark.parametrize(("baseline", "check"), NOISE_CHECKS)
def test_not_worse_fails_when_ahead_on_the_point_but_interval_below_zero(baseline, check):
    # An inconsistent lift (point ahead, interval below zero) shows which figure the check
    # reads: the interval's upper bound, not the point estimate.
    gate = _gate_against(baseline, (baseline, 0.625, 0.5, -0.25, -0.125))
    assert _verdicts(gate)[check] is False
