"""Benchmark onboarding-model training: ``python -m bench.train --users 100000 300000 1000000``.

For each size, takes the world from the shared bench cache (.local/bench/, see
:mod:`bench.batch`), generating it first if missing (outside the timing), then runs
``python -m training.model.train`` on it in a subprocess and measures its wall time and peak memory
(the child's maximum resident set, from ``wait4``). Writes the ``train`` section of
docs/benchmarks.md through :mod:`bench.report`, with a plot of time and memory against users
(docs/img/train_scaling.png).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import DEFAULT_SEED, ensure_world
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section

SECTION = "train"
IMAGE = REPO_ROOT / "docs" / "img" / "train_scaling.png"
#: The budget: training on 1M synthetic users finishes in under 3 minutes.
BUDGET_USERS = 1_000_000
BUDGET_SECONDS = 180.0
STEP = re.compile(r"^\[\s*([\d.]+)s\] (.+?)(?: \((.*)\))?$")


@dataclass
class Run:
    """One timed training run."""

    users: int
    seconds: float
    peak_mb: float
    exit_code: int
    steps: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def _steps(stderr: str) -> tuple[dict[str, float], dict[str, str]]:
    """Per-step durations from the pipeline's ``[  12.3s] step (note)`` lines."""
    steps: dict[str, float] = {}
    notes: dict[str, str] = {}
    last = 0.0
    for line in stderr.splitlines():
        match = STEP.match(line.strip())
        if match:
            at = float(match.group(1))
            steps[match.group(2)] = round(at - last, 1)
            notes[match.group(2)] = match.group(3) or ""
            last = at
    return steps, notes


def time_training(data: Path, extra: Sequence[str] = ()) -> Run:
    """Run ``python -m training.model.train`` on ``data``; wall time and the child's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        model_dir = Path(tmp) / "model"
        cmd = [sys.executable, "-m", "training.model.train", "--data", str(data)]
        cmd += ["--model-dir", str(model_dir), "--no-progress", *extra]
        err_path = Path(tmp) / "stderr"
        with open(err_path, "w") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = err_path.read_text()
        steps, notes = _steps(stderr)
        metrics_path = model_dir / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        if proc.returncode not in (0, 1):
            print(stderr[-3000:], file=sys.stderr)
    return Run(
        users=0,
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,
        exit_code=proc.returncode,
        steps=steps,
        metrics=metrics,
        notes=notes,
    )


def markdown(runs: Sequence[Run], conditions: dict[str, str]) -> str:
    """The section: one row per size, then the per-step split and the conditions."""
    lines = [
        "## Onboarding model training",
        "",
        "Command: `python -m training.model.train --data DIR --model-dir DIR --no-progress` "
        "(run by `python -m bench.train --users ...`) on "
        "`python -m training.data.world --users N --seed 7` worlds.",
        "",
        "Training the onboarding model (`python -m training.model.train`, validation, labels, "
        "logistic regression, LightGBM, evaluation with bootstrap intervals) on synthetic "
        "worlds, one subprocess per size; peak memory is the process's maximum resident set.",
        "",
        "| users | labelled | train users | test users | wall time | peak memory "
        "| LightGBM rounds | hit@3 LightGBM | hit@3 rule | exit |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        models = run.metrics.get("models", {})
        lgbm = models.get("lightgbm", {}).get("hit@3", float("nan"))
        rule = models.get("rule_selected_popular", {}).get("hit@3", float("nan"))
        labelled = re.search(r"([\d,]+) labelled", run.notes.get("labels", ""))
        trained = re.search(r"(\d[\d,]*) users", run.notes.get("lightgbm", ""))
        rounds = re.search(r"(\d+) rounds", run.notes.get("lightgbm", ""))
        lines.append(
            f"| {run.users:,} | {labelled.group(1) if labelled else '?'} "
            f"| {trained.group(1) if trained else '?'} | {run.metrics.get('n_test_users', 0):,} "
            f"| {run.seconds:.0f} s | {run.peak_mb:,.0f} MB "
            f"| {rounds.group(1) if rounds else '?'} | {lgbm:.4f} | {rule:.4f} "
            f"| {run.exit_code} |"
        )
    step_names = list(dict.fromkeys(s for run in runs for s in run.steps))
    lines += [
        "",
        "Seconds per step:",
        "",
        "| users | " + " | ".join(step_names) + " |",
        "|---:|" + "---:|" * len(step_names),
    ]
    for run in runs:
        cells = " | ".join(f"{run.steps.get(s, float('nan')):.1f}" for s in step_names)
        lines.append(f"| {run.users:,} | {cells} |")
    lines += ["", "Conditions: " + "; ".join(f"{k}: {v}" for k, v in conditions.items()) + "."]
    budget = [r for r in runs if r.users == BUDGET_USERS]
    if budget:
        met = all(r.seconds < BUDGET_SECONDS and r.exit_code in (0, 1) for r in budget)
        lines += [
            "",
            f"Budget for {BUDGET_USERS:,} users (under {BUDGET_SECONDS:.0f} s): "
            f"**{'met' if met else 'missed'}** ({budget[0].seconds:.0f} s).",
        ]
    return "\n".join(lines) + "\n"


def plot(runs: Sequence[Run], path: Path = IMAGE) -> Path:
    """Wall time and peak memory against the number of users (log scale), one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [r.users for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.plot(users, [r.seconds for r in runs], "o-", color="#2a7")
    left.axhline(BUDGET_SECONDS, color="#c54", ls="--", lw=1, label="budget at 1M users")
    left.set_ylabel("wall time (s)")
    left.legend(fontsize=8)
    right.plot(users, [r.peak_mb / 1024 for r in runs], "o-", color="#37a")
    right.set_ylabel("peak memory (GB)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("users in the world")
        ax.set_ylim(bottom=0)
        ax.set_xticks(users, [f"{u / 1e6:g}M" if u >= 1e6 else f"{u / 1e3:g}k" for u in users])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    fig.suptitle("Onboarding model training (python -m training.model.train)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def conditions(extra: Sequence[str]) -> dict[str, str]:
    load = os.getloadavg()
    info = machine()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{info['cpus']} CPUs ({info['cpu']}), {info['memory']} memory, "
        f"Python {info['python']}, {info['system']}",
        "load average before the runs": f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        "training options": " ".join(extra) or "defaults",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train", description=__doc__)
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    parser.add_argument("train_args", nargs="*", help="after --: passed to training.model.train")
    args = parser.parse_args(argv)

    worlds = {n: ensure_world(n, args.seed) for n in args.users}
    cond = conditions(args.train_args)
    runs = []
    for users in tqdm(args.users, desc="bench.train", unit="size"):
        run = time_training(worlds[users], args.train_args)
        run.users = users
        runs.append(run)
        tqdm.write(
            f"{users:,} users: {run.seconds:.1f} s, {run.peak_mb:,.0f} MB, exit {run.exit_code}"
        )
    text = markdown(runs, cond)
    print(text)
    if not args.no_write:
        if len(runs) > 1:
            plot(runs)
            text += f"\n![training time and peak memory by users](img/{IMAGE.name})\n"
        write_section(SECTION, text, args.doc)
    return 0 if all(r.exit_code in (0, 1) for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
