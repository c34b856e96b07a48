"""Model-quality tables: ``python -m bench.quality [--users 100000]``.

Regenerates the tables of docs/model.md on the synthetic world (the shared bench world of
``--users`` listeners, .local/bench/) and on MovieLens 100K (``--ml100k``, read in place; left
out with a note when absent):

- the onboarding model against the baselines (``python -m training.model.train``; its metrics.json:
  hit@1 and hit@3 with 95 % bootstrap intervals, MRR, hit@3 lifts over the rule and global
  popularity with their intervals);
- the batch lists against popularity and regional popularity (``python -m training.batch``; the
  manifest's ``metrics``: recall@20 / NDCG@20 from ``training/batch/evaluate.py``).

Each run is a subprocess into a temporary directory; the figures are read from what it wrote,
never recomputed. Writes the ``quality`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import DEFAULT_SEED, ML100K, ensure_world
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section

SECTION = "quality"
MODELS = ("lightgbm", "logistic", "rule_selected_popular", "global_popular")
BASELINES = ("rule_selected_popular", "global_popular")
#: MovieLens squeezes each user's ratings into two months: a 7-day holdout leaves ~11 users.
ML_BATCH_ARGS = ("--holdout-days", "30")


class QualityError(RuntimeError):
    """A training or batch run that did not write its figures."""


@dataclass(frozen=True)
class Dataset:
    """One data set's figures: the onboarding metrics.json and the batch manifest's metrics."""

    name: str
    command: str
    onboarding: dict[str, Any]
    batch: dict[str, Any]
    seconds: float


def _run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True
    )


def onboarding_metrics(data: Path, work: Path) -> dict[str, Any]:
    """Train on ``data`` (``python -m training.model.train``) and return its metrics.json."""
    model = work / "model"
    result = _run(
        ["training.model.train", "--data", str(data), "--model-dir", str(model), "--no-progress"]
    )
    path = model / "metrics.json"
    if result.returncode not in (0, 1) or not path.is_file():  # 1: the gate rejected it
        raise QualityError(f"training.model.train on {data} failed:\n{result.stderr[-2000:]}")
    return dict(json.loads(path.read_text()))


def batch_metrics(data: Path, work: Path, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Compute the lists of ``data`` (``python -m training.batch``); the manifest's metrics."""
    out = work / "lists"
    args = ["training.batch", "--data", str(data), "--out", str(out), "--version", "quality"]
    result = _run([*args, "--no-progress", *extra])
    path = out / "quality" / "manifest.json"
    if result.returncode != 0 or not path.is_file():
        raise QualityError(f"training.batch on {data} failed:\n{result.stderr[-2000:]}")
    return dict(json.loads(path.read_text())["metrics"])


def synthetic(users: int, seed: int, work: Path) -> Dataset:
    """Both evaluations on the bench world of ``users`` listeners."""
    world = ensure_world(users, seed)
    started = time.perf_counter()
    onboarding = onboarding_metrics(world, work)
    batch = batch_metrics(world, work)
    command = (
        f"python -m training.data.world --users {users} --seed {seed} --out W; "
        "python -m training.model.train --data W --model-dir M; "
        "python -m training.batch --data W --out L"
    )
    name = f"Synthetic world, {users:,} listeners"
    return Dataset(name, command, onboarding, batch, time.perf_counter() - started)


def movielens(src: Path, work: Path) -> Dataset:
    """Both evaluations on MovieLens imported from ``src`` (read in place)."""
    data = work / "ml"
    started = time.perf_counter()
    result = _run(["training.data.datasets.movielens", "--src", str(src), "--out", str(data)])
    if result.returncode != 0:
        raise QualityError(f"importing {src} failed:\n{result.stderr[-2000:]}")
    onboarding = onboarding_metrics(data, work)
    batch = batch_metrics(data, work, ML_BATCH_ARGS)
    command = (
        "python -m training.data.datasets.movielens --src ml-100k --out ML; "
        "python -m training.model.train --data ML --model-dir M; "
        f"python -m training.batch --data ML --out L {' '.join(ML_BATCH_ARGS)}"
    )
    return Dataset("MovieLens 100K", command, onboarding, batch, time.perf_counter() - started)


def _lift(metrics: Mapping[str, Any], model: str, baseline: str, metric: str = "hit@3") -> str:
    for lift in metrics.get("lifts", []):
        if (lift["model"], lift["baseline"], lift["metric"]) == (model, baseline, metric):
            low, high = lift["lift_ci95"]
            return f"{lift['lift']:+.1%} ({low:+.1%} to {high:+.1%})"
    return ""


def _with_interval(metrics: Mapping[str, Any], model: str, metric: str) -> str:
    value = metrics["models"][model][metric]
    interval = metrics.get("intervals", {}).get(model, {}).get(metric)
    if not interval:
        return f"{value:.4f}"
    return f"{value:.4f} ({interval[0]:.4f}-{interval[1]:.4f})"


def onboarding_table(metrics: Mapping[str, Any]) -> list[str]:
    """The model comparison: hit@1 and hit@3 with 95 % intervals, MRR, hit@3 lifts."""
    lines = [
        "| model | hit@1 (95 % CI) | hit@3 (95 % CI) | MRR | hit@3 vs rule (95 % CI) "
        "| hit@3 vs global (95 % CI) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model in MODELS:
        name = f"**{model}**" if model == "lightgbm" else model
        lines.append(
            f"| {name} | {_with_interval(metrics, model, 'hit@1')} "
            f"| {_with_interval(metrics, model, 'hit@3')} "
            f"| {metrics['models'][model]['mrr']:.4f} "
            f"| {_lift(metrics, model, BASELINES[0])} | {_lift(metrics, model, BASELINES[1])} |"
        )
    gate = metrics.get("gate", {})
    lines += [
        "",
        f"Test users: {metrics.get('n_test_users', 0):,}. Gate: {gate.get('reason', '?')}.",
    ]
    return lines


def _cell(result: Mapping[str, Any]) -> str:
    return f"{result['recall@20']:.4f} / {result['ndcg@20']:.4f}"


def batch_table(metrics: Mapping[str, Any]) -> list[str]:
    """The lists against the baselines: recall@20 / NDCG@20 per candidate and baseline."""
    protocol = metrics.get("protocol", {})
    lines = [
        f"Last {protocol.get('holdout_days', '?')} days held out; cells are recall@20 / NDCG@20.",
        "",
        "| list | users | served (its name) | PureSVD alone | popularity "
        "| regional popularity | lift over the best baseline | beats both |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for family in ("personal", "artists"):
        result = metrics.get(family, {})
        if not result.get("users"):
            lines.append(f"| {family} | 0 | | | | | | no listeners to evaluate |")
            continue
        lift = result["lift_over_best_baseline"]
        lift_text = ", ".join(
            f"{lift[m]:+.0%} {name}"
            for m, name in (("recall@20", "recall"), ("ndcg@20", "NDCG"))
            if lift.get(m) is not None
        )
        baselines = result["baselines"]
        lines.append(
            f"| {family} | {result['users']:,} | {_cell(result)} ({result['algorithm']}) "
            f"| {_cell(result['candidates']['puresvd'])} | {_cell(baselines['popularity'])} "
            f"| {_cell(baselines['regional-popularity'])} | {lift_text} "
            f"| {'yes' if result['beats_baselines'] else 'no'} |"
        )
    return lines


def markdown(
    datasets: Sequence[Dataset],
    command: str,
    notes: Sequence[str] = (),
    load: tuple[float, float, float] | None = None,
) -> str:
    """The ``quality`` section: per data set, the onboarding table and the batch table
    (``load``: the load average before the runs, which explains their times)."""
    m = machine()
    shared = (
        f" Load average before the runs: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."
        if load
        else ""
    )
    lines = [
        "## Model quality",
        "",
        f"Command: `{command}`.",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.{shared}",
        "",
        "The tables of [model.md](model.md), regenerated: the figures are those the training "
        "runs wrote (`metrics.json` of `training.model.train`; the manifest's `metrics` of "
        "`training.batch`), with their default settings. Onboarding: the label is the top genre "
        "of the second month, time split, 95 % paired-bootstrap intervals. Batch lists: "
        "`training/batch/evaluate.py` on a time split.",
    ]
    for dataset in datasets:
        lines += [
            "",
            f"### {dataset.name}",
            "",
            f"`{dataset.command}` ({dataset.seconds:.0f} s for both runs).",
            "",
            "Onboarding model:",
            "",
            *onboarding_table(dataset.onboarding),
            "",
            "Batch lists:",
            "",
            *batch_table(dataset.batch),
        ]
    for note in notes:
        lines += ["", note]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--users", type=int, default=100_000, help="listeners of the world")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--ml100k", type=Path, default=ML100K, help="raw MovieLens 100K")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args(argv)

    notes = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        datasets = [synthetic(args.users, args.seed, Path(tmp) / "synthetic")]
        if (args.ml100k / "u.data").is_file():
            datasets.append(movielens(args.ml100k, Path(tmp) / "ml"))
        else:
            notes.append(
                f"MovieLens 100K left out: not found at `{args.ml100k}` (set MUSICREC_ML100K "
                "or pass --ml100k)."
            )
            print(notes[-1], file=sys.stderr)
    command = f"python -m bench.quality --users {args.users}"
    text = markdown(datasets, command, notes, load)
    print(text)
    if not args.no_write:
        write_section(SECTION, text, args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
