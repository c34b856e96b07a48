"""The experiments report: ``python -m lambdas.ops.experiments report [--table NAME] [--experiment
X]`` prints, per variant, impressions, clicks, CTR and the lift over the control with a 95 %
interval and a p-value, from the counters the events route recorded.

``python -m lambdas.ops.experiments ope [--bandit home|onboarding] [--table NAME] [--hours 24]
[--json]`` estimates what other policies would have earned with the home screen's first carousel
(IPS, SNIPS, doubly robust with bootstrap intervals) from the home bandit's log and the issued
decisions (:mod:`lambdas.logic.home_evaluation`; docs/experiments.md, "Off-policy evaluation");
``--bandit onboarding``, with the onboarding answer's first station
(:mod:`lambdas.logic.onboarding_evaluation`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from lambdas.logic import home_evaluation, onboarding_bandit, onboarding_evaluation
from lambdas.logic.bandit import Posterior
from lambdas.logic.bandit_state import PRIOR_VERSION, Spec, posterior_of, prior
from lambdas.logic.experiments import Experiment, load
from lambdas.logic.home import BANDIT, SPEC
from lambdas.store import keys
from lambdas.store.dynamodb import MAX_BATCH_GET, Store

BATCH_GET_ATTEMPTS = 5


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


def sum_counters(items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """experiment -> variant -> metric -> total, from the counter items of the table."""
    totals: dict[str, dict[str, dict[str, int]]] = {}
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


METRICS = ("impressions", "clicks")


def counter_keys(experiments: Iterable[Experiment]) -> list[dict[str, str]]:
    """The key of every counter shard of every variant and metric of ``experiments``."""
    return [
        keys.counter(experiment.name, variant, shard, metric)
        for experiment in experiments
        for variant in experiment.variants
        for shard in range(keys.COUNTER_SHARDS)
        for metric in METRICS
    ]


def read_counters(table_name: str, experiments: Iterable[Experiment]) -> list[dict[str, Any]]:
    """The counter items of ``experiments``, read by key (BatchGetItem, unprocessed keys asked
    again), not by scanning a table that also holds every issued answer."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3})
    client = boto3.resource("dynamodb", config=config).meta.client
    wanted = counter_keys(experiments)
    items: list[dict[str, Any]] = []
    for start in range(0, len(wanted), MAX_BATCH_GET):
        request = {table_name: {"Keys": wanted[start : start + MAX_BATCH_GET]}}
        for _ in range(BATCH_GET_ATTEMPTS):
            page = client.batch_get_item(RequestItems=request)
            items.extend(page["Responses"].get(table_name, []))
            request = page.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{table_name}: counters still unread after {BATCH_GET_ATTEMPTS}")
    return items


def operator_store(table_name: str) -> Store:
    """A store over the experiments table with the operator's credentials (timeouts and retries
    as the report's reads)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3})
    return Store({"experiments": boto3.resource("dynamodb", config=config).Table(table_name)})


def bandit_log(store: Store, name: str, hours: float, now: float | None = None) -> list[Any]:
    """The bandit ``name``'s log entries of the last ``hours``, read minute by minute (8 shard
    queries a minute: 11,520 for a day)."""
    now = time.time() if now is None else now
    last = int(now // 60)
    return [e for minute in range(last - math.ceil(hours * 60), last + 1)
            for e in store.bandit_log(name, minute)]  # fmt: skip


def current_posterior(store: Store, spec: Spec) -> tuple[Posterior, str]:
    """The bandit's current posterior and its version (the prior without a state)."""
    state = store.bandit_state(spec.name, cached=False)
    if state is None:
        return prior(spec), PRIOR_VERSION
    number, post = posterior_of(state, spec)
    return post, str(number)


class OnboardingLog(NamedTuple):
    """The onboarding bandit's first stations of a window, what was left out, and the current
    posterior with its version: what its evaluation (and the bench's truth) take."""

    decisions: list[onboarding_evaluation.Decision]
    skipped: onboarding_evaluation.Skipped
    posterior: Posterior
    state_version: str


def onboarding_log(store: Store, hours: float = 24.0, now: float | None = None) -> OnboardingLog:
    """The onboarding bandit's first stations over the last ``hours`` (the log, then their
    issued decisions by BatchGetItem) and its current posterior."""
    entries = bandit_log(store, onboarding_bandit.BANDIT, hours, now)
    rewards, skipped = onboarding_evaluation.first_stations(entries)
    found, unissued = onboarding_evaluation.decisions(rewards, store.issued_many(rewards))
    skipped = onboarding_evaluation.Skipped(skipped.other_positions, unissued,
                                            skipped.clicks_without_impression)  # fmt: skip
    post, version = current_posterior(store, onboarding_bandit.SPEC)
    return OnboardingLog(found, skipped, post, version)


def off_policy(
    store: Store,
    hours: float = 24.0,
    now: float | None = None,
    *,
    bandit: str = BANDIT,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> home_evaluation.Evaluation:
    """The off-policy evaluation of ``bandit``'s first position over the last ``hours``: the
    bandit's log read minute by minute, the first positions' issued decisions (BatchGetItem)
    and the current state's posterior (the prior without one). ``home``: the home screen's
    first carousel; ``onboarding``: the onboarding answer's first station."""
    if bandit == onboarding_bandit.BANDIT:
        log = onboarding_log(store, hours, now)
        return onboarding_evaluation.evaluate(
            log.decisions, log.posterior, log.state_version, log.skipped,
            resamples=resamples, level=level, seed=seed,
        )  # fmt: skip
    if bandit != BANDIT:
        raise ValueError(f"unknown bandit {bandit!r}: {BANDIT} or {onboarding_bandit.BANDIT}")
    rewards, skipped = home_evaluation.first_carousels(bandit_log(store, BANDIT, hours, now))
    found, unissued = home_evaluation.decisions(rewards, store.issued_many(rewards))
    skipped = home_evaluation.Skipped(skipped.other_positions, unissued,
                                      skipped.clicks_without_impression)  # fmt: skip
    post, version = current_posterior(store, SPEC)
    return home_evaluation.evaluate(found, post, version, skipped, resamples=resamples,
                                    level=level, seed=seed)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from lambdas.config import Settings

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m lambdas.ops.experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="impressions, clicks, CTR and lift per variant")
    rep.add_argument("--table", default=settings.tables["experiments"])
    rep.add_argument("--experiment", default=None)
    rep.add_argument("--config", default=os.environ.get("EXPERIMENTS_CONFIG"))
    ope = sub.add_parser("ope", help="off-policy estimates of a bandit's first position")
    ope.add_argument("--bandit", choices=(BANDIT, onboarding_bandit.BANDIT), default=BANDIT,
                     help="the home screen's first carousel, or the onboarding answer's first "
                     "station")  # fmt: skip
    ope.add_argument("--table", default=settings.tables["experiments"])
    ope.add_argument("--hours", type=float, default=24.0, help="the window read (at most 168)")
    ope.add_argument("--resamples", type=int, default=1000)
    ope.add_argument("--seed", type=int, default=0)
    ope.add_argument("--json", action="store_true", help="the report as JSON")
    args = parser.parse_args(argv)
    if args.command == "ope":
        if not 0 < args.hours <= 168:
            parser.error("--hours: in (0, 168] (the log is kept 7 days)")
        result = off_policy(operator_store(args.table), args.hours, bandit=args.bandit,
                            resamples=args.resamples, seed=args.seed)  # fmt: skip
        text = (onboarding_evaluation.format_evaluation if args.bandit == onboarding_bandit.BANDIT
                else home_evaluation.format_evaluation)  # fmt: skip
        print(json.dumps(result.as_dict(), indent=2) if args.json else text(result))
        return 0
    experiments = load(args.config or settings.experiments_path)
    if args.experiment and args.experiment not in experiments:
        parser.error(f"--experiment: {args.experiment!r} is not in the configuration")
    chosen = [e for name, e in experiments.items() if args.experiment in (None, name)]
    totals = sum_counters(read_counters(args.table, chosen))
    for name, experiment in experiments.items():
        if args.experiment in (None, name):
            print(format_report(experiment, report(experiment, totals.get(name, {}))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
