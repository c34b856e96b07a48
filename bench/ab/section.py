"""The ``ab`` section of docs/benchmarks.md and its plot, from a finished run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.ab import ope_check
from bench.ab.experiment_report import ReportRow
from bench.ab.ope_check import OpeCheck
from bench.ab.stats import Day, Lift, VariantTotals

REFERENCE_LIFT = 0.087  # the CTR lift the reference deployment reported
REFERENCE_ARMS = ("rules", "model")  # ... of its model over the rule


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
    seed: int
    experiment: str
    arms: tuple[str, ...]  # the variants taking part, the first the control of the lifts
    defined: tuple[str, ...]  # every variant the experiment defines
    configured_control: str  # the experiment's control in its configuration
    variants: list[VariantTotals]  # the arms' totals, in the order of ``arms``
    weights: dict[str, float]  # each arm's expected share of the listeners (among the arms)
    report_command: str
    report_text: str
    report: dict[str, ReportRow]
    bootstrap: dict[str, tuple[float, float] | None]  # per arm but the control
    days_detail: list[Day]
    posted: int
    stored: int
    duplicates: int
    errors: int
    retries: int
    simulate_s: float
    report_s: float
    plot: str
    note: str = ""
    # treatment -> control -> (lift, 95 % low, high; the bootstrap's low, high) for every pair of
    # arms but the control's (the later arm over the earlier): e.g. bandit over model
    pairwise: dict[str, dict[str, tuple[Lift | None, tuple[float, float] | None]]] = field(
        default_factory=dict
    )
    off_policy: OpeCheck | None = None  # with the bandit arm: bench.ab.ope_check

    @property
    def control(self) -> str:
        return self.arms[0]

    @property
    def treatments(self) -> tuple[str, ...]:
        return self.arms[1:]

    def totals(self, arm: str) -> VariantTotals:
        return next(v for v in self.variants if v.variant == arm)

    def expected_lift(self, arm: str) -> float | None:
        """The lift the truth expects for what ``arm`` and the control showed (no click noise)."""
        control, mine = self.totals(self.control).expected_ctr, self.totals(arm).expected_ctr
        return mine / control - 1 if control else None


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.1%}" if signed else f"{x:.2%}"


def variants_table(summary: RunSummary) -> list[str]:
    share = "configured share" + (
        "" if set(summary.arms) >= set(summary.defined) else " of the arms"
    )
    lines = [
        f"| variant | {share} | listeners | share | impressions | clicks | CTR "
        "| CTR the truth expects | station CTR | song CTR | model fell back to the rule |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in summary.variants:
        kinds = [c / n if n else 0.0 for n, c in (v.by_kind["stations"], v.by_kind["songs"])]
        lines.append(
            f"| {v.variant} | {summary.weights.get(v.variant, 0):.0%} "
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


def arms_sentence(summary: RunSummary) -> str:
    """Which variants took part, and how listeners were kept to them."""
    named = ", ".join(f"`{arm}`" for arm in summary.arms)
    if set(summary.arms) >= set(summary.defined):
        return f"Arms: {named} (every variant of the experiment; the first is the control)."
    return (
        f"Arms: {named} of the experiment's {', '.join(f'`{v}`' for v in summary.defined)} (the "
        "first is the control); each listener's API id is the first of `<id>`, `<id>.1`, ... the "
        "experiment's hash assigns to one of these arms, so they keep their configured relative "
        "shares."
    )


def lift_lines(summary: RunSummary, arm: str) -> list[str]:
    """The sentence on ``arm``'s lift over the control: the report's, the bootstrap's, the
    truth's."""
    row = summary.report.get(arm)
    boot = summary.bootstrap.get(arm)
    resampled = f"{boot[0]:+.1%} to {boot[1]:+.1%}" if boot else "n/a (an arm without listeners)"
    return [
        f"**Lift of `{arm}` over `{summary.control}`: {_pct(row.lift if row else None, True)}** "
        f"(95 % interval {_pct(row.ci_low if row else None, True)} to "
        f"{_pct(row.ci_high if row else None, True)}, the report's, which treats impressions as "
        f"independent); resampling listeners instead (bootstrap, 2,000 draws): {resampled}. The "
        "lift the truth expects for these listeners and answers (no click noise): "
        f"{_pct(summary.expected_lift(arm), True)}.",
        "",
    ]


def pairwise_lines(summary: RunSummary) -> list[str]:
    """The lift of each arm but the control over each earlier one (bandit over model)."""
    lines = []
    for treatment, against in summary.pairwise.items():
        for control, (lift, boot) in against.items():
            mine, theirs = summary.totals(treatment), summary.totals(control)
            truth = mine.expected_ctr / theirs.expected_ctr - 1 if theirs.expected_ctr else None
            resampled = f"{boot[0]:+.1%} to {boot[1]:+.1%}" if boot else "n/a"
            low, high = (lift[1], lift[2]) if lift else (None, None)
            lines += [
                f"**Lift of `{treatment}` over `{control}`: "
                f"{_pct(lift[0] if lift else None, True)}** (95 % interval {_pct(low, True)} to "
                f"{_pct(high, True)}, the report's arithmetic on the two arms' counts); "
                f"resampling listeners: {resampled}. The lift the truth expects: "
                f"{_pct(truth, True)}.",
                "",
            ]
    return lines


def reference_paragraph(summary: RunSummary) -> str:
    """The comparison with the reference deployment's lift of its model over the rule."""
    control, treatment = REFERENCE_ARMS
    if summary.control != control or treatment not in summary.treatments:
        return (
            f"The reference's +8.7 % is the lift of `{treatment}` over `{control}`; this run "
            "does not compare those two arms that way, so no comparison."
        )
    return comparison(summary.report.get(treatment))


def body(summary: RunSummary) -> str:
    """The section's Markdown."""
    per_day = summary.listeners / summary.days
    lines = [
        "## Simulated A/B test: onboarding model against the rule"
        + (", and the bandit" if "bandit" in summary.arms else ""),
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
        f"`{summary.experiment}`). {arms_sentence(summary)} Details: "
        "[experiments.md](experiments.md).",
        "",
        *variants_table(summary),
        "",
        f"The run's counts: `{summary.report_command}` before and after the run, the "
        "difference compared by the report's own arithmetic"
        + (
            ""
            if summary.control == summary.configured_control
            else f" with `{summary.control}`, the first arm, as the control"
        )
        + (":" if set(summary.arms) >= set(summary.defined) else ", on the run's arms:"),
        "",
        "```text",
        summary.report_text.rstrip(),
        "```",
        "",
        *(line for arm in summary.treatments for line in lift_lines(summary, arm)),
        *pairwise_lines(summary),
        *(ope_check.markdown(summary.off_policy) if "bandit" in summary.arms else []),
        f"Events posted: {summary.posted:,}; stored: {summary.stored:,}; answered as stored "
        f"before: {summary.duplicates:,}; errors: {summary.errors:,}; requests repeated after "
        f"a timeout: {summary.retries:,}. "
        f"Simulation {summary.simulate_s:.0f} s "
        f"({summary.listeners / max(summary.simulate_s, 1e-9):.1f} listeners/s, "
        f"{summary.posted / max(summary.simulate_s, 1e-9):.0f} events/s), report "
        f"{summary.report_s:.1f} s.",
        "",
        *([f"Note: {summary.note}", ""] if summary.note else []),
        f"![CTR by simulated day per arm, and the cumulative lift](img/{Path(summary.plot).name})",
        "",
        "**Against the reference deployment.** " + reference_paragraph(summary),
    ]
    return "\n".join(lines)


def plot(path: Path, days: list[Day], reference: bool = True) -> Path:
    """The learning curve: each arm's CTR by simulated day (that day's listeners; all so far),
    and the cumulative lift of every arm over the control with its 95 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (daily, cumulative, lift) = plt.subplots(1, 3, figsize=(14, 3.8))
    x = [d.day + 1 for d in days]
    arms = list(days[0].arms) if days else []
    for panel, attr in ((daily, "arms"), (cumulative, "cumulative")):
        for i, arm in enumerate(arms):
            ctrs = [getattr(d, attr)[arm] for d in days]
            y = [100 * t.ctr if t.impressions else float("nan") for t in ctrs]
            label = arm + (" (control)" if i == 0 else "")
            panel.plot(x, y, marker="o", color=f"C{i}", label=label)
        panel.set(xlabel="simulated day", ylabel="CTR (%)")
        if arms:
            panel.legend(fontsize=8)
    daily.set_title("CTR of the day's listeners")
    cumulative.set_title("CTR of the listeners so far")
    for i, arm in enumerate(arms[1:], start=1):
        points = [(d.day + 1, figures) for d in days if (figures := d.lift[arm]) is not None]
        xs = [p[0] for p in points]
        lift.fill_between(xs, [100 * p[1][1] for p in points], [100 * p[1][2] for p in points],
                          color=f"C{i}", alpha=0.2)  # fmt: skip
        lift.plot(xs, [100 * p[1][0] for p in points], marker="o", color=f"C{i}",
                  label=f"{arm} (band: 95 % interval)")  # fmt: skip
    if reference:
        lift.axhline(100 * REFERENCE_LIFT, color="grey", linestyle="--", label="reference +8.7 %")
    lift.axhline(0, color="black", linewidth=0.8)
    control = arms[0] if arms else "the control"
    lift.set(xlabel="simulated day", ylabel="CTR lift (%)", title=f"Lift over {control} so far")
    if lift.get_legend_handles_labels()[0]:
        lift.legend(fontsize=8)
    for panel in (daily, cumulative, lift):
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
