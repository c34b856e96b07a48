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
import os
import sys

from lambdas.logic import home_evaluation, onboarding_bandit, onboarding_evaluation
from lambdas.logic.experiment_report import (
    VariantResult,
    compare,
    format_report,
    read_totals,
    report,
    sum_counters,
)
from lambdas.logic.experiments import load
from lambdas.logic.home import BANDIT
from lambdas.logic.ope_window import MAX_HOURS, off_policy, onboarding_log
from lambdas.store.dynamodb import Store

# the report's arithmetic and the evaluation live in lambdas.logic (the console's routes share
# them); these names stay importable from here for the bench and the tests
__all__ = ["VariantResult", "compare", "format_report", "main", "off_policy", "onboarding_log",
           "operator_store", "report", "sum_counters"]  # fmt: skip


def operator_store(table_name: str) -> Store:
    """A store over the experiments table with the operator's credentials (explicit timeouts,
    three attempts)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3})
    return Store({"experiments": boto3.resource("dynamodb", config=config).Table(table_name)})


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
        if not 0 < args.hours <= MAX_HOURS:
            parser.error(f"--hours: in (0, {MAX_HOURS}] (the log is kept 7 days)")
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
    totals = read_totals(operator_store(args.table), chosen)
    for name, experiment in experiments.items():
        if args.experiment in (None, name):
            print(format_report(experiment, report(experiment, totals.get(name, {}))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
