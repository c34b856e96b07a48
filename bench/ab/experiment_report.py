"""``python -m lambdas.ops.experiments report`` on a local stack's experiments table, for one run.

Impressions and clicks count under the experiment and variant the server recorded for each
answer (the ``onboarding`` experiment), whatever an event claims, so a run cannot have counters of
its own: the report is read before and after the run, and the run's counts are the difference
(nothing else posts impressions or clicks to the stack meanwhile), with the lift computed from
them by the report's own arithmetic (:mod:`lambdas.ops.experiments`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

from lambdas.logic.experiments import Experiment
from lambdas.logic.services import ONBOARDING_EXPERIMENT
from lambdas.ops.experiments import format_report, report
from lambdas.store.tables import table
from local.stack import PREFIX, Stack

ROW = re.compile(r"^(?P<variant>\S+)\s+(?P<impressions>[\d,]+)\s+(?P<clicks>[\d,]+)\s+[\d.]+%")
LIFT = re.compile(r"(?P<lift>[+-][\d.]+)% \((?P<low>[+-][\d.]+)% to (?P<high>[+-][\d.]+)%\), "
                  r"p=(?P<p>\S+)")  # fmt: skip
TIMEOUT_S = 120


@dataclass(frozen=True)
class ReportRow:
    """One variant's line of the report (lift figures as fractions; None for the control)."""

    variant: str
    impressions: int
    clicks: int
    lift: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None


def command(experiment: str) -> list[str]:
    return [sys.executable, "-m", "lambdas.ops.experiments", "report",
            "--table", table("experiments").physical_name(PREFIX),
            "--experiment", experiment]  # fmt: skip


def run_report(stack: Stack, experiment: str = ONBOARDING_EXPERIMENT) -> tuple[str, list[str]]:
    """The report's text for ``experiment`` and the command that printed it."""
    args = command(experiment)
    env = {**os.environ, **stack.handler_env()}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"experiments report exited with {done.returncode}: {done.stderr}")
    return done.stdout, args


def run_rows(
    before: dict[str, ReportRow], after: dict[str, ReportRow], experiment: Experiment
) -> tuple[str, dict[str, ReportRow]]:
    """The run's report (text and rows): the counters' growth between ``before`` and ``after``,
    compared by the report's arithmetic."""
    empty = ReportRow("", 0, 0)
    counts = {
        variant: {
            "impressions": row.impressions - before.get(variant, empty).impressions,
            "clicks": row.clicks - before.get(variant, empty).clicks,
        }
        for variant, row in after.items()
    }
    results = report(experiment, counts)
    rows = {
        r.variant: ReportRow(r.variant, r.impressions, r.clicks, r.lift, r.ci_low, r.ci_high,
                             r.p_value)
        for r in results
    }  # fmt: skip
    return format_report(experiment, results), rows


def parse_report(text: str) -> dict[str, ReportRow]:
    """The variants' rows of a report's text."""
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if not match:
            continue
        lift = LIFT.search(line)
        figures: tuple[float | None, ...] = (None, None, None, None)
        if lift:
            figures = (*(float(lift[k]) / 100 for k in ("lift", "low", "high")), float(lift["p"]))
        rows[match["variant"]] = ReportRow(
            match["variant"],
            int(match["impressions"].replace(",", "")),
            int(match["clicks"].replace(",", "")),
            *figures,
        )
    return rows
