"""What the gate writes down (the pipeline's log, model.json and the SageMaker failure reason):
every check's name, verdict and figures, and a missing comparison as a failed check."""

from __future__ import annotations

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import Lift
from training.model.gate import PREVIOUS, GateResult, quality_gate


def _lift(baseline, value, base, lift, lift_low, lift_high, diff_low, diff_high, metric="hit@3"):
    return Lift(
        model="lightgbm",
        baseline=baseline,
        metric=metric,
        model_value=value,
        baseline_value=base,
        lift=lift,
        lift_low=lift_low,
        lift_high=lift_high,
        diff=value - base,
        diff_low=diff_low,
        diff_high=diff_high,
    )


RULE_LIFT = _lift(RULE, 0.625, 0.5, 0.25, 0.125, 0.375, 0.0625, 0.1875)
GLOBAL_LIFT = _lift(GLOBAL, 0.625, 0.375, 0.6667, 0.5, 0.8, 0.125, 0.375)
PREVIOUS_LIFT = _lift(PREVIOUS, 0.625, 0.75, -0.1667, -0.3, -0.05, -0.25, -0.0625)

RULE_DETAIL = "hit@3 0.6250 vs rule 0.5000 (lift +25.0%, 95% CI +12.5% to +37.5%)"
GLOBAL_DETAIL = "hit@3 0.6250 vs 0.3750, difference +0.2500 (95% CI +0.1250 to +0.3750)"
PREVIOUS_DETAIL = "hit@3 0.6250 vs 0.7500, difference -0.1250 (95% CI -0.2500 to -0.0625)"


def test_a_passing_gate_lists_every_check_with_its_figures():
    gate = quality_gate([RULE_LIFT, GLOBAL_LIFT], "lightgbm")
    assert gate.passed is True
    assert gate.checks == [
        {"check": "beats rule", "passed": True, "detail": RULE_DETAIL},
        {"check": "not worse than global popularity", "passed": True, "detail": GLOBAL_DETAIL},
    ]
    assert gate.reason == (
        f"passed: beats rule: {RULE_DETAIL}; not worse than global popularity: {GLOBAL_DETAIL}"
    )
    assert gate.to_dict() == {"passed": True, "reason": gate.reason, "checks": gate.checks}


def test_a_rejection_names_each_failed_check_only():
    gate = quality_gate([RULE_LIFT, GLOBAL_LIFT, PREVIOUS_LIFT], "lightgbm", has_previous=True)
    assert gate.passed is False
    assert [c["passed"] for c in gate.checks] == [True, True, False]
    assert gate.checks[2] == {
        "check": "not worse than previous model",
        "passed": False,
        "detail": PREVIOUS_DETAIL,
    }
    assert gate.reason == f"rejected: not worse than previous model failed: {PREVIOUS_DETAIL}"


def test_missing_comparisons_fail_their_checks_and_the_others_still_run():
    gate = quality_gate([GLOBAL_LIFT], "lightgbm", has_previous=True)
    assert gate.checks == [
        {
            "check": "beats rule",
            "passed": False,
            "detail": "no hit@3 comparison with rule_selected_popular",
        },
        {"check": "not worse than global popularity", "passed": True, "detail": GLOBAL_DETAIL},
        {
            "check": "not worse than previous model",
            "passed": False,
            "detail": "no hit@3 comparison with previous_model",
        },
    ]
    assert gate.reason == (
        "rejected: beats rule failed: no hit@3 comparison with rule_selected_popular; "
        "not worse than previous model failed: no hit@3 comparison with previous_model"
    )
    nothing = quality_gate([], "lightgbm", has_previous=True)
    assert [c["passed"] for c in nothing.checks] == [False, False, False]
    assert nothing.checks[1]["detail"] == "no hit@3 comparison with global_popular"


def test_the_gate_reads_its_metric_and_its_model_only():
    other_metric = _lift(RULE, 0.9, 0.1, 8.0, 7.0, 9.0, 0.7, 0.9, metric="hit@1")
    gate = quality_gate([other_metric, GLOBAL_LIFT], "lightgbm")
    assert gate.checks[0]["passed"] is False
    hit1 = quality_gate([other_metric], "lightgbm", metric="hit@1")
    assert hit1.checks[0] == {
        "check": "beats rule",
        "passed": True,
        "detail": "hit@1 0.9000 vs rule 0.1000 (lift +800.0%, 95% CI +700.0% to +900.0%)",
    }
    assert quality_gate([RULE_LIFT, GLOBAL_LIFT], "catboost").passed is False


def test_a_gate_result_as_a_document():
    result = GateResult(passed=False, reason="rejected: x", checks=[{"check": "c"}])
    assert result.to_dict() == {
        "passed": False,
        "reason": "rejected: x",
        "checks": [{"check": "c"}],
    }
    assert GateResult(True, "passed: ").checks == []
