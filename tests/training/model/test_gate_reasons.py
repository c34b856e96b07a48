"""What the gate writes down (the pipeline's log, model.json and the SageMaker failure reason):
every check's name, verdict and figures, and a missing comparison as a failed check."""

from __future__ import annotations

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import Lift
from training.model.gate import PREVIOUS, GateResult, quality_gate


def _lift(baseline, metric, value, base, diff_low, diff_high, model="lightgbm"):
    return Lift(
        model=model,
        baseline=baseline,
        metric=metric,
        model_value=value,
        baseline_value=base,
        lift=value / base - 1,
        lift_low=0.0,
        lift_high=0.0,
        diff=value - base,
        diff_low=diff_low,
        diff_high=diff_high,
    )


LIFTS = [
    _lift(RULE, "hit@1", 0.375, 0.25, 0.0625, 0.1875),
    _lift(GLOBAL, "hit@1", 0.375, 0.125, 0.1875, 0.3125),
    _lift(RULE, "hit@3", 0.625, 0.5, -0.0625, 0.25),
    _lift(GLOBAL, "hit@3", 0.625, 0.5625, -0.0625, 0.125),
]
HIT1 = (
    "hit@1 0.3750 vs rule_selected_popular 0.2500, difference +0.1250 (95% CI +0.0625 to +0.1875)"
)
HIT3 = "hit@3 0.6250 vs global_popular 0.5625, difference +0.0625 (95% CI -0.0625 to +0.1250)"


def test_a_passing_gate_lists_every_check_with_its_figures():
    gate = quality_gate(LIFTS, "lightgbm")
    assert gate.passed is True
    assert gate.checks == [
        {
            "check": "hit@1 not worse than the best baseline",
            "passed": True,
            "detail": HIT1,
            "baseline": RULE,
        },
        {
            "check": "hit@3 not worse than the best baseline",
            "passed": True,
            "detail": HIT3,
            "baseline": GLOBAL,
        },
        {
            "check": "better than the best baseline beyond noise",
            "passed": True,
            "detail": HIT1,
            "metrics": ["hit@1"],
        },
    ]
    assert gate.reason == (
        f"passed: hit@1 not worse than the best baseline: {HIT1}; "
        f"hit@3 not worse than the best baseline: {HIT3}; "
        f"better than the best baseline beyond noise: {HIT1}"
    )
    assert gate.to_dict() == {"passed": True, "reason": gate.reason, "checks": gate.checks}


def test_a_rejection_names_each_failed_check_only():
    previous = [
        _lift(PREVIOUS, "hit@1", 0.375, 0.375, -0.0625, 0.0625),
        _lift(PREVIOUS, "hit@3", 0.625, 0.75, -0.25, -0.0625),
    ]
    gate = quality_gate([*LIFTS, *previous], "lightgbm", has_previous=True)
    assert gate.passed is False
    assert [c["passed"] for c in gate.checks] == [True, True, True, True, False]
    assert gate.reason == (
        "rejected: hit@3 not worse than the previous model failed: hit@3 0.6250 vs "
        "previous_model 0.7500, difference -0.1250 (95% CI -0.2500 to -0.0625)"
    )


def test_missing_comparisons_fail_their_checks_and_the_others_still_run():
    gate = quality_gate([LIFTS[0]], "lightgbm", has_previous=True)
    assert [(c["check"], c["passed"]) for c in gate.checks] == [
        ("hit@1 not worse than the best baseline", True),
        ("hit@3 not worse than the best baseline", False),
        ("better than the best baseline beyond noise", True),
        ("hit@1 not worse than the previous model", False),
        ("hit@3 not worse than the previous model", False),
    ]
    assert gate.checks[1]["detail"] == "no hit@3 comparison with a baseline"
    assert gate.checks[3]["detail"] == "no hit@1 comparison with previous_model"
    nothing = quality_gate([], "lightgbm")
    assert [c["passed"] for c in nothing.checks] == [False, False, False]
    assert nothing.checks[2]["detail"] == "no comparison with a baseline"


def test_the_gate_reads_its_metrics_and_its_model_only():
    mrr = [_lift(b, "mrr", 0.9, 0.1, 0.7, 0.9) for b in (RULE, GLOBAL)]
    assert not quality_gate(mrr, "lightgbm").passed
    assert quality_gate(mrr, "lightgbm", metrics=["mrr"]).passed
    other = [
        _lift(b, m, 0.9, 0.1, 0.7, 0.9, model="catboost")
        for b in (RULE, GLOBAL)
        for m in ("hit@1", "hit@3")
    ]
    assert quality_gate(other, "lightgbm").passed is False
    assert quality_gate(other, "catboost").passed is True


def test_a_gate_result_as_a_document():
    result = GateResult(passed=False, reason="rejected: x", checks=[{"check": "c"}])
    assert result.to_dict() == {
        "passed": False,
        "reason": "rejected: x",
        "checks": [{"check": "c"}],
    }
    assert GateResult(True, "passed: ").checks == []
