"""The report's text as the bench reads it, the run's own statistics and the section's verdict."""

from __future__ import annotations

from bench.ab.experiment_report import ReportRow, parse_report, run_rows
from bench.ab.section import comparison
from bench.ab.simulate import ListenerResult
from bench.ab.stats import bootstrap_lift, cumulative_lift, totals
from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import load
from lambdas.ops.experiments import format_report, report


def test_the_report_is_read_back_exactly() -> None:
    experiment = load(DEFAULT_EXPERIMENTS)["onboarding"]
    counts = {"model": {"impressions": 12345, "clicks": 2345},
              "rules": {"impressions": 12000, "clicks": 2000}}  # fmt: skip
    rows = parse_report(format_report(experiment, report(experiment, counts)))
    assert (rows["rules"].impressions, rows["rules"].clicks, rows["rules"].lift) == (
        12000,
        2000,
        None,
    )
    model = rows["model"]
    assert (model.impressions, model.clicks) == (12345, 2345)
    expected = report(experiment, counts)[0]
    assert model.lift is not None
    assert expected.lift is not None
    assert abs(model.lift - expected.lift) < 0.0005
    assert model.ci_low is not None
    assert model.ci_high is not None
    assert model.ci_low < model.lift < model.ci_high


def test_a_runs_counts_are_the_reports_growth_over_the_run() -> None:
    experiment = load(DEFAULT_EXPERIMENTS)["onboarding"]
    before = {"model": ReportRow("model", 100, 10), "rules": ReportRow("rules", 50, 5)}
    after = {"model": ReportRow("model", 1100, 210), "rules": ReportRow("rules", 1050, 105)}
    text, rows = run_rows(before, after, experiment)
    assert (rows["model"].impressions, rows["model"].clicks) == (1000, 200)
    assert (rows["rules"].impressions, rows["rules"].clicks) == (1000, 100)
    assert rows["model"].lift is not None
    assert abs(rows["model"].lift - 1.0) < 1e-9  # 20 % over 10 %
    printed = parse_report(text)  # the text shows the same run (figures rounded)
    assert {v: (r.impressions, r.clicks) for v, r in printed.items()} == {
        v: (r.impressions, r.clicks) for v, r in rows.items()
    }


def _result(variant: str, day: int, shown: int, clicked: int) -> ListenerResult:
    return ListenerResult("w", "u", day, variant, "rules", {"stations": shown, "songs": 0},
                          {"stations": clicked, "songs": 0})  # fmt: skip


def test_totals_lift_by_day_and_bootstrap() -> None:
    results = [_result("rules", d % 2, 10, 2) for d in range(40)]
    results += [_result("model", d % 2, 10, 3) for d in range(40)]
    rules = totals(results, "rules")
    assert (rules.listeners, rules.impressions, rules.clicks) == (40, 400, 80)
    assert rules.by_kind == {"stations": (400, 80), "songs": (0, 0)}
    lifts = cumulative_lift(results, 2, "rules", "model")
    assert all(point is not None and abs(point[1] - 0.5) < 1e-9 for point in lifts)
    interval = bootstrap_lift(results, "rules", "model", seed=1)
    assert interval is not None
    low, high = interval
    assert abs(low - 0.5) < 1e-9
    assert abs(high - 0.5) < 1e-9


def test_the_comparison_says_where_the_reference_lies() -> None:
    inside = ReportRow("model", 1000, 200, 0.05, 0.01, 0.09, 0.01)
    assert comparison(inside).startswith("The reference's +8.7 % lies inside")
    above = ReportRow("model", 1000, 200, 0.2, 0.1, 0.3, 0.01)
    assert comparison(above).startswith("This interval lies above")
    assert comparison(ReportRow("model", 1000, 200)).startswith("Not enough clicks")
    assert comparison(None).startswith("Not enough clicks")
