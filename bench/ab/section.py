"""The ``ab`` section of docs/benchmarks.md and its plot, from a finished run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.ab.experiment_report import ReportRow
from bench.ab.stats import VariantTotals

REFERENCE_LIFT = 0.087  # the CTR lift the reference deployment reported


@dataclass(frozen=True)
class RunSummary:
    """Everything the section states about one run."""

    command: str
    date: str
    machine: str
    load: str
    stack: str
    source: str
    listeners: int
    days: int
    shown_limit: int
    experiment: str
    control: str
    treatment: str
    variants: list[VariantTotals]
    weights: dict[str, int]
    report_command: str
    report_text: str
    report: dict[str, ReportRow]
    bootstrap: tuple[float, float]
    posted: int
    stored: int
    duplicates: int
    errors: int
    retries: int
    simulate_s: float
    report_s: float
    plot: str
    note: str = ""


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.1%}" if signed else f"{x:.2%}"


def variants_table(summary: RunSummary) -> list[str]:
    weight_sum = sum(summary.weights.values())
    lines = [
        "| variant | configured share | listeners | share | impressions | clicks | CTR "
        "| CTR the truth expects | station CTR | song CTR | model fell back to the rule |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in summary.variants:
        kinds = [c / n if n else 0.0 for n, c in (v.by_kind["stations"], v.by_kind["songs"])]
        lines.append(
            f"| {v.variant} | {summary.weights.get(v.variant, 0) / weight_sum:.0%} "
            f"| {v.listeners:,} | {v.listeners / max(summary.listeners, 1):.1%} "
            f"| {v.impressions:,} | {v.clicks:,} | {_pct(v.ctr)} | {_pct(v.expected_ctr)} "
            f"| {_pct(kinds[0])} | {_pct(kinds[1])} | {v.fallbacks:,} |"
        )
    return lines


def comparison(row: ReportRow | None) -> str:
    """How the run's lift (the treatment's report row) compares with the reference deployment's
    lift, stated plainly."""
    if row is None or row.lift is None or row.ci_low is None or row.ci_high is None:
        return "Not enough clicks for a lift, so no comparison with the reference's +8.7 %."
    low, high = row.ci_low, row.ci_high
    if low <= REFERENCE_LIFT <= high:
        verdict = "The reference's +8.7 % lies inside this interval"
    elif low > REFERENCE_LIFT:
        verdict = "This interval lies above the reference's +8.7 %"
    else:
        verdict = "This interval lies below the reference's +8.7 %"
    return (
        f"{verdict} (simulated: {row.lift:+.1%}, {low:+.1%} to {high:+.1%}). The two figures "
        "measure different things. The reference's +8.7 % was measured on real listeners of a "
        "real product; here listeners, their onboarding answers and their clicks come from the "
        "synthetic world, whose click model is known: logistic in the listener's true affinity "
        "for the item's genre, the item's appeal and the regional match "
        "([world.md](world.md#the-truth-and-the-click-model)). So the simulated lift says how "
        "much better the model's genres fit the planted taste than the rule's do, through the "
        "whole API, and nothing about real behaviour: every shown item counts as seen, clicks "
        "are independent given the listener (no position effect, no fatigue, no novelty), the "
        "world's picks and tastes are the generator's assumptions, and the size of the lift "
        "follows from the click model's coefficients, which nobody fitted to real clicks."
    )


def body(summary: RunSummary) -> str:
    """The section's Markdown."""
    row = summary.report.get(summary.treatment)
    control = next(v for v in summary.variants if v.variant == summary.control)
    treatment = next(v for v in summary.variants if v.variant == summary.treatment)
    expected_lift = (
        treatment.expected_ctr / control.expected_ctr - 1 if control.expected_ctr else None
    )
    per_day = summary.listeners / summary.days
    lines = [
        "## Simulated A/B test: onboarding model against the rule",
        "",
        f"Command: `{summary.command}`.",
        f"Date: {summary.date}. Machine: {summary.machine}. Load average before the run: "
        f"{summary.load}.",
        "",
        f"Stack: {summary.stack}. Listeners: {summary.listeners:,} {summary.source}, "
        f"{per_day:,.0f} a day over {summary.days} simulated days; each onboards through the "
        f"local gateway (`limit` {summary.shown_limit}), is assigned a variant by the API, is "
        "shown the stations and songs of the answer (one impression each) and clicks each with "
        "the probability the world's hidden truth gives; impressions and clicks are posted to "
        "`POST /v1/events` with the listener's own token and the answer's `recommendation_id`, "
        f"and the server counts them under the variant it recorded for that answer (experiment "
        f"`{summary.experiment}`). Details: [experiments.md](experiments.md).",
        "",
        *variants_table(summary),
        "",
        f"The run's counts: `{summary.report_command}` before and after the run, the "
        "difference compared by the report's own arithmetic:",
        "",
        "```text",
        summary.report_text.rstrip(),
        "```",
        "",
        f"**Lift of `{summary.treatment}` over `{summary.control}`: "
        f"{_pct(row.lift if row else None, True)}** (95 % interval "
        f"{_pct(row.ci_low if row else None, True)} to {_pct(row.ci_high if row else None, True)},"
        " the report's, which treats impressions as independent); resampling listeners instead "
        f"(bootstrap, 2,000 draws): {summary.bootstrap[0]:+.1%} to {summary.bootstrap[1]:+.1%}. "
        f"The lift the truth expects for these listeners and answers (no click noise): "
        f"{_pct(expected_lift, True)}.",
        "",
        f"Events posted: {summary.posted:,}; stored: {summary.stored:,}; answered as stored "
        f"before: {summary.duplicates:,}; errors: {summary.errors:,}; requests repeated after "
        f"a timeout: {summary.retries:,}. "
        f"Simulation {summary.simulate_s:.0f} s "
        f"({summary.listeners / max(summary.simulate_s, 1e-9):.1f} listeners/s, "
        f"{summary.posted / max(summary.simulate_s, 1e-9):.0f} events/s), report "
        f"{summary.report_s:.1f} s.",
        "",
        *([f"Note: {summary.note}", ""] if summary.note else []),
        f"![Cumulative CTR lift by simulated day](img/{Path(summary.plot).name})",
        "",
        "**Against the reference deployment.** " + comparison(row),
    ]
    return "\n".join(lines)


def plot(
    path: Path,
    lift_by_day: list[tuple[int, float, float, float] | None],
    daily_ctr: dict[str, list[float]],
) -> Path:
    """Cumulative lift with its interval, and each variant's CTR, by simulated day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    points = [p for p in lift_by_day if p is not None]
    days = [p[0] + 1 for p in points]
    left.fill_between(days, [100 * p[2] for p in points], [100 * p[3] for p in points],
                      alpha=0.25, label="95 % interval")  # fmt: skip
    left.plot(days, [100 * p[1] for p in points], marker="o", label="lift so far")
    left.axhline(100 * REFERENCE_LIFT, color="grey", linestyle="--", label="reference +8.7 %")
    left.axhline(0, color="black", linewidth=0.8)
    left.set(xlabel="simulated day", ylabel="CTR lift (%)", title="Cumulative lift")
    left.legend(fontsize=8)
    for variant, ctrs in daily_ctr.items():
        right.plot(range(1, len(ctrs) + 1), [100 * c for c in ctrs], marker="o", label=variant)
    right.set(xlabel="simulated day", ylabel="CTR (%)", title="CTR of the day's listeners")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
