"""The experiments report's arithmetic: per variant impressions, clicks, CTR and the relative
lift over the control with a 95 % interval and a p-value, from the counters the events route
writes (read by key, never by scanning a table that also holds every issued answer). The
command line (``python -m lambdas.ops.experiments report``) and the console's route share it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.logic import home
from lambdas.logic.experiments import Experiment
from lambdas.store import keys
from lambdas.store.dynamodb import Store

METRICS = ("impressions", "clicks")
Totals = dict[str, dict[str, dict[str, int]]]  # experiment -> variant -> metric -> total


@dataclass(frozen=True)
class VariantResult:
    variant: str
    impressions: int
    clicks: int
    lift: float | None = None  # relative CTR lift over the control
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "impressions": self.impressions, "clicks": self.clicks,
                "ctr": self.ctr, "lift": self.lift, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "p_value": self.p_value}  # fmt: skip


def compare(
    control: tuple[int, int], treatment: tuple[int, int]
) -> tuple[float, float, float, float] | None:
    """Relative CTR lift of ``treatment`` over ``control`` ((impressions, clicks) each): the lift,
    its 95 % interval (log ratio, Katz) and the two-sided p-value of the pooled z-test."""
    (n0, c0), (n1, c1) = control, treatment
    if min(n0, n1, c0, c1) <= 0:
        return None
    p0, p1 = c0 / n0, c1 / n1
    se_log = math.sqrt((1 - p1) / c1 + (1 - p0) / c0)
    log_ratio = math.log(p1 / p0)
    pooled = (c0 + c1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = (p1 - p0) / se if se else 0.0
    return (
        p1 / p0 - 1,
        math.exp(log_ratio - 1.96 * se_log) - 1,
        math.exp(log_ratio + 1.96 * se_log) - 1,
        math.erfc(abs(z) / math.sqrt(2)),
    )


def report(experiment: Experiment, counts: Mapping[str, Mapping[str, int]]) -> list[VariantResult]:
    """Per variant: counts, CTR, and the comparison with the control."""
    base = counts.get(experiment.control, {})
    control = (int(base.get("impressions", 0)), int(base.get("clicks", 0)))
    rows = []
    for variant in experiment.variants:
        own = counts.get(variant, {})
        pair = (int(own.get("impressions", 0)), int(own.get("clicks", 0)))
        result = None if variant == experiment.control else compare(control, pair)
        rows.append(VariantResult(variant, *pair, *(result or (None, None, None, None))))
    return rows


def sum_counters(items: Iterable[Mapping[str, Any]]) -> Totals:
    """experiment -> variant -> metric -> total, from the counter items of the table."""
    totals: Totals = {}
    for item in items:
        if "count" not in item:  # the table also holds issued answers and counted markers
            continue
        experiment, variant, _shard = str(item["pk"]).rsplit("#", 2)
        metric = totals.setdefault(experiment, {}).setdefault(variant, {})
        metric[str(item["sk"])] = metric.get(str(item["sk"]), 0) + int(item.get("count", 0))
    return totals


def format_report(experiment: Experiment, rows: list[VariantResult]) -> str:
    lines = [
        f"experiment {experiment.name} (control: {experiment.control})",
        f"{'variant':<12}{'impressions':>12}{'clicks':>9}{'CTR':>9}  lift (95 % CI), p-value",
    ]
    for row in rows:
        if row.lift is None:
            tail = "control" if row.variant == experiment.control else "not enough data"
        else:
            tail = f"{row.lift:+.1%} ({row.ci_low:+.1%} to {row.ci_high:+.1%}), p={row.p_value:.3g}"
        lines.append(
            f"{row.variant:<12}{row.impressions:>12,}{row.clicks:>9,}{row.ctr:>9.2%}  {tail}"
        )
    return "\n".join(lines)


def counter_keys(experiments: Iterable[Experiment]) -> list[dict[str, str]]:
    """The key of every counter shard of every variant and metric of ``experiments``."""
    return [
        keys.counter(experiment.name, variant, shard, metric)
        for experiment in experiments
        for variant in experiment.variants
        for shard in range(keys.COUNTER_SHARDS)
        for metric in METRICS
    ]


def read_totals(store: Store, experiments: Iterable[Experiment]) -> Totals:
    """The counters of ``experiments`` summed over their shards, read by key (BatchGetItem on
    the experiments table; :class:`lambdas.store.dynamodb.UnreadError` when DynamoDB leaves
    keys unread after its retries)."""
    return sum_counters(store.items("experiments", counter_keys(experiments)))


def counted_experiments(configured: Mapping[str, Experiment]) -> dict[str, Experiment]:
    """Every experiment the events route counts impressions and clicks under: the configured
    ones, and the home screen's (its carousels count under experiment ``home`` with a single
    variant, the bandit's policy: it has no control to compare with)."""
    policy = home.POLICY_NAME
    found = dict(configured)
    found.setdefault(home.BANDIT, Experiment(home.BANDIT, home.BANDIT, policy, {policy: 1}))
    return found
