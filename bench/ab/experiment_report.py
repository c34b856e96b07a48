"""``python -m lambdas.ops.experiments report`` on a local stack's experiments table, for one run.

The run's events name their own experiment (so other traffic on the stack is not counted), so
the report gets a configuration holding that name with the variants, weights and control of the
``onboarding`` experiment the API assigned them by.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lambdas.config import DEFAULT_EXPERIMENTS
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


def run_config(experiment: str, template: str = "onboarding") -> dict[str, object]:
    """The experiments configuration naming ``experiment`` like ``template`` (variants, weights,
    salt, control)."""
    document = json.loads(Path(DEFAULT_EXPERIMENTS).read_text())
    return {experiment: document[template]}


def command(stack: Stack, experiment: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "lambdas.ops.experiments", "report",
            "--table", table("experiments").physical_name(PREFIX),
            "--experiment", experiment, "--config", str(config)]  # fmt: skip


def run_report(stack: Stack, experiment: str) -> tuple[str, list[str]]:
    """The report's text for ``experiment`` and the command that printed it."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "experiments.json"
        config.write_text(json.dumps(run_config(experiment)))
        args = command(stack, experiment, config)
        env = {**os.environ, **stack.handler_env()}
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"experiments report exited with {done.returncode}: {done.stderr}")
    return done.stdout, args


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
