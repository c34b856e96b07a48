"""The learning curve (per-day and cumulative totals, the lift of every arm over the control so
far) on hand-made listeners, the JSON document of a run, and two tiny runs of ``python -m
bench.ab --json`` on the shared local stack (every arm; one arm only)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.ab.arms import restricted, shares
from bench.ab.cli import main, pairwise
from bench.ab.experiment_report import ReportRow
from bench.ab.output import document
from bench.ab.section import RunSummary, body, plot
from bench.ab.simulate import ListenerResult
from bench.ab.stats import by_day, totals
from lambdas.logic.experiments import Experiment
from lambdas.ops.experiments import compare, report
from local.stack import Stack

THREE = Experiment("onboarding", "salt-3", "rules", {"rules": 2, "model": 1, "bandit": 1})
ARMS = ("rules", "model", "bandit")
TOP = {"command", "date", "seed", "run_id", "experiment", "defined_variants", "arms", "control",
       "listeners", "days", "source", "limit", "per_arm", "pairwise", "off_policy", "per_day",
       "checks", "seconds", "plot"}  # fmt: skip
ARM = {"expected_share", "listeners", "impressions", "clicks", "ctr", "expected_ctr", "fallbacks",
       "by_kind", "lift"}  # fmt: skip
LIFT = {"estimate", "ci95_report", "p_value", "ci95_bootstrap", "truth_expected"}
COUNTS = {"listeners", "impressions", "clicks", "ctr"}


def _listener(variant: str, day: int, clicks: int, shown: int = 10) -> ListenerResult:
    result = ListenerResult("w", "u", day, variant, "model", {"stations": shown, "songs": 0},
                            {"stations": clicks, "songs": 0})  # fmt: skip
    result.expected_clicks = clicks + 0.5
    return result


# day 0: rules 2 listeners (2 clicks of 20), model 1 (2 of 10), bandit none;
# day 1: rules 3 of 10, model 4 of 10, bandit 5 of 10
RESULTS = [
    _listener("rules", 0, 1),
    _listener("model", 0, 2),
    _listener("rules", 0, 1),
    _listener("rules", 1, 3),
    _listener("model", 1, 4),
    _listener("bandit", 1, 5),
]


def _counts(t: Any) -> tuple[int, int, int]:
    return t.listeners, t.impressions, t.clicks


def test_the_learning_curve_by_day_per_arm() -> None:
    days = by_day(RESULTS, 3, ARMS)
    assert [d.day for d in days] == [0, 1, 2]
    assert {a: _counts(t) for a, t in days[0].arms.items()} == {
        "rules": (2, 20, 2), "model": (1, 10, 2), "bandit": (0, 0, 0)}  # fmt: skip
    assert {a: _counts(t) for a, t in days[1].arms.items()} == {
        "rules": (1, 10, 3), "model": (1, 10, 4), "bandit": (1, 10, 5)}  # fmt: skip
    assert {a: _counts(t) for a, t in days[1].cumulative.items()} == {
        "rules": (3, 30, 5), "model": (2, 20, 6), "bandit": (1, 10, 5)}  # fmt: skip
    assert all(_counts(t) == (0, 0, 0) for t in days[2].arms.values())  # nobody on day 2
    assert days[2].cumulative == days[1].cumulative
    assert set(days[0].lift) == {"model", "bandit"}  # every arm but the control
    assert days[0].lift["bandit"] is None  # no click yet
    model0 = days[0].lift["model"]
    assert model0 is not None
    assert math.isclose(model0[0], 0.2 / 0.1 - 1)
    model1, bandit1 = days[1].lift["model"], days[1].lift["bandit"]
    assert model1 is not None
    assert bandit1 is not None
    assert math.isclose(model1[0], 0.3 / (5 / 30) - 1)
    assert math.isclose(bandit1[0], 0.5 / (5 / 30) - 1)
    katz = compare((30, 5), (20, 6))
    assert katz is not None
    assert model1 == pytest.approx(katz[:3])
    assert model1[1] < model1[0] < model1[2]


def _summary(tmp_path: Path, arms: tuple[str, ...] = ARMS) -> RunSummary:
    counts = {a: {"impressions": totals(RESULTS, a).impressions,
                  "clicks": totals(RESULTS, a).clicks} for a in arms}  # fmt: skip
    rows = {r.variant: ReportRow(r.variant, r.impressions, r.clicks, r.lift, r.ci_low, r.ci_high,
                                 r.p_value)
            for r in report(restricted(THREE, arms), counts)}  # fmt: skip
    days = by_day(RESULTS, 2, arms)
    return RunSummary(
        command="python -m bench.ab --arms " + ",".join(arms),
        date="2026-12-07",
        machine="m",
        load="0",
        stack="s",
        source="held out",
        listeners=len(RESULTS),
        days=2,
        shown_limit=5,
        seed=3,
        experiment=THREE.name,
        arms=arms,
        defined=tuple(THREE.variants),
        configured_control=THREE.control,
        variants=[totals(RESULTS, a) for a in arms],
        weights=shares(THREE, arms),
        report_command="python -m lambdas.ops.experiments report",
        report_text="experiment onboarding (control: rules)",
        report=rows,
        bootstrap={a: (0.1, 0.9) for a in arms[1:]},
        pairwise=pairwise(RESULTS, [totals(RESULTS, a) for a in arms], arms, 3),
        days_detail=days,
        posted=70,
        stored=70,
        duplicates=0,
        errors=0,
        retries=0,
        simulate_s=1.0,
        report_s=0.1,
        plot=str(plot(tmp_path / "ab.png", days)),
    )


def test_the_document_of_a_run(tmp_path: Path) -> None:
    summary = _summary(tmp_path)
    doc = json.loads(json.dumps(document(summary, "r1"), allow_nan=False))
    assert set(doc) == TOP
    assert (doc["arms"], doc["control"], doc["seed"]) == (list(ARMS), "rules", 3)
    assert set(doc["per_arm"]) == set(ARMS)
    assert all(set(entry) == ARM for entry in doc["per_arm"].values())
    rules, model = doc["per_arm"]["rules"], doc["per_arm"]["model"]
    assert rules["lift"] is None
    assert set(model["lift"]) == LIFT
    assert (model["impressions"], model["clicks"], model["ctr"]) == (20, 6, 0.3)
    assert model["expected_share"] == 0.25
    assert math.isclose(model["lift"]["estimate"], 0.3 / (5 / 30) - 1)
    assert model["lift"]["ci95_report"] == [summary.report["model"].ci_low,
                                            summary.report["model"].ci_high]  # fmt: skip
    assert model["lift"]["ci95_bootstrap"] == [0.1, 0.9]
    assert math.isclose(model["lift"]["truth_expected"], (7 / 20) / (6.5 / 30) - 1)
    first = doc["per_day"][0]
    assert first["day"] == 1
    assert first["arms"]["bandit"] == {"listeners": 0, "impressions": 0, "clicks": 0, "ctr": None}
    assert first["cumulative_lift"]["bandit"] is None
    assert set(first["cumulative_lift"]["model"]) == {"estimate", "ci95"}
    assert doc["per_day"][-1]["cumulative"]["model"] == {
        "listeners": 2, "impressions": 20, "clicks": 6, "ctr": 0.3}  # fmt: skip
    assert (tmp_path / "ab.png").stat().st_size > 0
    [pair] = doc["pairwise"]  # bandit over model, the control's two treatments
    assert (pair["treatment"], pair["control"]) == ("bandit", "model")
    assert math.isclose(pair["estimate"], 0.5 / 0.3 - 1)
    assert pair["ci95"][0] < pair["estimate"] < pair["ci95"][1]
    assert len(pair["ci95_bootstrap"]) == 2


def test_the_section_names_every_arm_and_compares_the_reference_only_for_model_over_rules(
    tmp_path: Path,
) -> None:
    text = body(_summary(tmp_path))
    assert "**Lift of `model` over `rules`" in text
    assert "**Lift of `bandit` over `rules`" in text
    assert "**Lift of `bandit` over `model`" in text
    assert "every variant of the experiment" in text
    other = body(_summary(tmp_path, ("bandit", "rules")))
    assert "**Lift of `rules` over `bandit`" in other
    assert "so no comparison" in other
    assert "`<id>.1`" in other  # says how listeners were kept to the arms
    assert "with `bandit`, the first arm, as the control" in other


def _tiny_run(stack: Stack, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "ab.json"
    code = main(["--dir", str(stack.dir), "--source", "held-out", "--listeners", "6",
                 "--days", "2", "--limit", "2", "--json", str(out),
                 "--doc", str(tmp_path / "bench.md"), "--plot", str(tmp_path / "ab.png"),
                 *extra])  # fmt: skip
    return code, json.loads(out.read_text())


def test_a_tiny_run_writes_the_documented_json(stack: Stack, tmp_path: Path) -> None:
    code, doc = _tiny_run(stack, tmp_path, "--seed", "21", "--arms", "rules,model")
    assert code == 0
    assert set(doc) == TOP
    assert (doc["arms"], doc["control"], doc["listeners"], doc["days"]) == (
        ["rules", "model"], "rules", 6, 2)  # fmt: skip
    assert doc["checks"]["counts_match_report"] is True
    assert doc["checks"]["posted"] == doc["checks"]["stored"]
    assert all(set(entry) == ARM for entry in doc["per_arm"].values())
    assert doc["per_arm"]["rules"]["lift"] is None
    assert set(doc["per_arm"]["model"]["lift"]) == LIFT
    assert sum(e["listeners"] for e in doc["per_arm"].values()) == 6
    assert [d["day"] for d in doc["per_day"]] == [1, 2]
    for arm, entry in doc["per_arm"].items():
        assert sum(d["arms"][arm]["impressions"] for d in doc["per_day"]) == entry["impressions"]
        assert sum(d["arms"][arm]["clicks"] for d in doc["per_day"]) == entry["clicks"]
        assert all(set(d["arms"][arm]) == COUNTS for d in doc["per_day"])
        last = doc["per_day"][-1]["cumulative"][arm]
        assert (last["impressions"], last["clicks"]) == (entry["impressions"], entry["clicks"])
    assert "python -m bench.ab" in doc["command"]
    assert (tmp_path / "ab.png").stat().st_size > 0
    assert "**Lift of `model` over `rules`" in (tmp_path / "bench.md").read_text()


def test_a_run_of_one_arm_keeps_every_listener_in_it(stack: Stack, tmp_path: Path) -> None:
    code, doc = _tiny_run(stack, tmp_path, "--seed", "22", "--arms", "model")
    assert code == 0  # the report's counters grew for model only, by what was posted
    assert doc["arms"] == ["model"]
    assert doc["per_arm"]["model"]["listeners"] == 6
    assert doc["per_arm"]["model"]["lift"] is None
    assert doc["checks"]["counts_match_report"] is True


def test_a_run_with_the_bandit_checks_its_off_policy_estimates_against_the_truth(
    stack: Stack, tmp_path: Path
) -> None:
    code, doc = _tiny_run(stack, tmp_path, "--seed", "23", "--arms", "model,bandit")
    assert code == 0
    assert doc["per_arm"]["bandit"]["listeners"] >= 1
    found = doc["off_policy"]
    assert found is not None
    evaluation = found["evaluation"]
    assert evaluation["decisions"] >= 1  # every bandit listener's first station was seen
    targets = {t["target"] for t in evaluation["targets"]}
    assert targets == set(found["truth"]) == {"prior", "prior-greedy", "greedy", "logging"}
    assert all(0.0 < p < 1.0 for p in found["truth"].values())
    logging = next(t for t in evaluation["targets"] if t["target"] == "logging")
    assert logging["estimates"]["ips"]["value"] == pytest.approx(evaluation["observed"])
    text = (tmp_path / "bench.md").read_text()
    assert "**Off-policy check**" in text
    assert "| prior-greedy |" in text
