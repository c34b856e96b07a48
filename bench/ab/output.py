"""The JSON document of a run (``python -m bench.ab --json FILE``).

Shape (day numbers from 1; a CTR with no impressions, a lift or an interval that cannot be
computed are null)::

    {"command", "date", "seed", "run_id", "experiment", "defined_variants": [...],
     "arms": [...], "control", "listeners", "days", "source", "limit",
     "per_arm": {arm: {"expected_share", "listeners", "impressions", "clicks", "ctr",
                       "expected_ctr", "fallbacks",
                       "by_kind": {"stations"|"songs": {"impressions", "clicks"}},
                       "lift": null for the control, else
                               {"estimate", "ci95_report": [low, high], "p_value",
                                "ci95_bootstrap": [low, high], "truth_expected"}}},
     "pairwise": [{"treatment", "control", "estimate", "ci95": [low, high],
                   "ci95_bootstrap": [low, high]}]  (each arm but the control over each earlier
                                                     one, e.g. bandit over model),
     "off_policy": null, or with the bandit arm {"evaluation": the ope report's JSON,
                   "truth": {target: true click rate at position 0}},
     "per_day": [{"day", "arms": {arm: {"listeners", "impressions", "clicks", "ctr"}},
                  "cumulative": {arm: {...the same...}},
                  "cumulative_lift": {arm but the control: {"estimate", "ci95": [low, high]}}}],
     "checks": {"posted", "stored", "duplicates", "errors", "retries", "counts_match_report"},
     "seconds": {"simulation", "report"}, "plot"}

``lift.estimate`` and ``ci95_report`` are the report's (``python -m lambdas.ops.experiments
report`` arithmetic on the run's counts, impressions taken as independent); ``ci95_bootstrap``
resamples listeners; ``truth_expected`` is the lift of the CTRs the truth expects for what was
shown (no click noise).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.ab.section import RunSummary
from bench.ab.simulate import SHOWN
from bench.ab.stats import Day, Lift, VariantTotals
from bench.report import repo_relative


def counts(totals: VariantTotals) -> dict[str, Any]:
    """Listeners, impressions, clicks and CTR (null without impressions)."""
    return {
        "listeners": totals.listeners,
        "impressions": totals.impressions,
        "clicks": totals.clicks,
        "ctr": totals.ctr if totals.impressions else None,
    }


def _interval(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [pair[0], pair[1]]


def arm_lift(summary: RunSummary, arm: str) -> dict[str, Any] | None:
    """``arm``'s lift over the control: the report's, the listener bootstrap's, the truth's."""
    if arm == summary.control:
        return None
    row = summary.report.get(arm)
    report_ci = None
    if row is not None and row.ci_low is not None and row.ci_high is not None:
        report_ci = [row.ci_low, row.ci_high]
    return {
        "estimate": row.lift if row else None,
        "ci95_report": report_ci,
        "p_value": row.p_value if row else None,
        "ci95_bootstrap": _interval(summary.bootstrap.get(arm)),
        "truth_expected": summary.expected_lift(arm),
    }


def arm_entry(summary: RunSummary, totals: VariantTotals) -> dict[str, Any]:
    return {
        "expected_share": summary.weights.get(totals.variant),
        **counts(totals),
        "expected_ctr": totals.expected_ctr if totals.impressions else None,
        "fallbacks": totals.fallbacks,
        "by_kind": {
            kind: {"impressions": totals.by_kind[kind][0], "clicks": totals.by_kind[kind][1]}
            for kind in SHOWN
        },
        "lift": arm_lift(summary, totals.variant),
    }


def _lift(figures: Lift | None) -> dict[str, Any] | None:
    return None if figures is None else {"estimate": figures[0], "ci95": [figures[1], figures[2]]}


def day_entry(day: Day) -> dict[str, Any]:
    return {
        "day": day.day + 1,
        "arms": {arm: counts(t) for arm, t in day.arms.items()},
        "cumulative": {arm: counts(t) for arm, t in day.cumulative.items()},
        "cumulative_lift": {arm: _lift(figures) for arm, figures in day.lift.items()},
    }


def document(summary: RunSummary, run_id: str = "", counts_match: bool = True) -> dict[str, Any]:
    """The run as JSON (see the module's docstring)."""
    return {
        "command": summary.command,
        "date": summary.date,
        "seed": summary.seed,
        "run_id": run_id,
        "experiment": summary.experiment,
        "defined_variants": list(summary.defined),
        "arms": list(summary.arms),
        "control": summary.control,
        "listeners": summary.listeners,
        "days": summary.days,
        "source": summary.source,
        "limit": summary.shown_limit,
        "per_arm": {arm: arm_entry(summary, summary.totals(arm)) for arm in summary.arms},
        "pairwise": [
            {
                "treatment": treatment,
                "control": control,
                **(_lift(lift) or {"estimate": None, "ci95": None}),
                "ci95_bootstrap": _interval(boot),
            }
            for treatment, against in summary.pairwise.items()
            for control, (lift, boot) in against.items()
        ],
        "off_policy": (
            {"evaluation": summary.off_policy.evaluation, "truth": summary.off_policy.truth}
            if summary.off_policy
            else None
        ),
        "per_day": [day_entry(day) for day in summary.days_detail],
        "checks": {
            "posted": summary.posted,
            "stored": summary.stored,
            "duplicates": summary.duplicates,
            "errors": summary.errors,
            "retries": summary.retries,
            "counts_match_report": counts_match,
        },
        "seconds": {"simulation": summary.simulate_s, "report": summary.report_s},
        "plot": repo_relative(summary.plot),
    }


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
