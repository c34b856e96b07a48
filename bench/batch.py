"""Benchmark batch scoring: ``python -m bench.batch [--users 1000000]``.

Generates (or reuses, under .local/bench/) a synthetic world, runs ``python -m training.batch``
on it in a subprocess, measures wall time and the child's peak resident memory (``wait4``),
and writes the ``batch`` section of docs/benchmarks.md: time per stage, records per family,
output size, the evaluation against the baselines, and a plot of the time per stage
(docs/img/batch_throughput.png). Budget at 1M users and 100k songs: under
5 minutes and 8 GB (issue 20). Exits 1 if the run failed or broke the budget. The 1M run
writes the ``batch`` section; another size writes ``batch-<users>`` (``make bench`` runs
300,000 listeners to stay within its 30 minutes), so neither replaces the other.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import DEFAULT_SEED, ensure_world
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section

SECTION = "batch"
IMAGE = REPO_ROOT / "docs" / "img" / "batch_throughput.png"
BUDGET_SECONDS = 300.0
BUDGET_USERS = 1_000_000
BUDGET_BYTES = 8 * 10**9  # 8 GB (7.45 GiB)


def section(users: int) -> str:
    """The docs/benchmarks.md section a run of ``users`` listeners writes."""
    return SECTION if users == BUDGET_USERS else f"{SECTION}-{users}"


def image(users: int) -> Path:
    """The plot a run of ``users`` listeners draws."""
    return IMAGE if users == BUDGET_USERS else IMAGE.with_name(f"batch_throughput_{users}.png")


def time_batch(data: Path, out: Path, extra: Sequence[str]) -> tuple[list[str], float, int, int]:
    """Run the batch CLI; its command, wall seconds, peak RSS bytes and exit code."""
    command = [sys.executable, "-m", "training.batch", "--data", str(data), "--out", str(out)]
    command += ["--version", "bench", *extra]
    started = time.monotonic()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    return (
        command,
        time.monotonic() - started,
        usage.ru_maxrss * 1024,
        os.waitstatus_to_exitcode(status),
    )


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def plot(manifest: dict[str, Any], seconds: float, path: Path = IMAGE) -> Path:
    """Seconds per stage of the run, and the listeners scored per second overall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timings = manifest.get("metrics", {}).get("timings_s", {})
    data = manifest.get("data", {})
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.barh(list(timings), list(timings.values()), color="#37a")
    for bar, value in zip(bars, timings.values(), strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.0f} s",
                va="center", fontsize=8)  # fmt: skip
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_xlim(0, max(timings.values(), default=1) * 1.15)
    active = data.get("active_users", 0)
    ax.set_title(
        f"python -m training.batch: {data.get('users', 0):,} listeners ({active:,} active)\n"
        f"{seconds:.0f} s in all: {active / max(seconds, 1e-9):,.0f} active listeners/s",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(
    users: int, seconds: float, peak: int, code: int, manifest: dict[str, Any], size: int
) -> str:
    m = machine()
    met = code == 0 and seconds < BUDGET_SECONDS and peak < BUDGET_BYTES
    data = manifest.get("data", {})
    metrics = manifest.get("metrics", {})
    lines = [
        "## Batch personalisation" + ("" if users == BUDGET_USERS else f" ({users:,} listeners)"),
        "",
        f"Command: `python -m bench.batch --users {users}` (runs `python -m training.batch "
        f"--data WORLD --out DIR` on `python -m training.data.world --users {users} --seed 7`).",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.",
        "",
        "| users | active users | songs | interactions | wall time | peak RSS | output |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {data.get('users', 0):,} | {data.get('active_users', 0):,} | "
        f"{data.get('items', 0):,} | {data.get('interactions', 0):,} | {seconds:.0f} s | "
        f"{peak / 1e9:.1f} GB ({peak / 1024**3:.1f} GiB) | {size / 1024**2:,.0f} MB |",
        "",
        "Seconds per stage: "
        + ", ".join(f"{k} {v:.0f}" for k, v in metrics.get("timings_s", {}).items())
        + f". Throughput: {data.get('active_users', 0) / max(seconds, 1e-9):,.0f} active "
        f"listeners/s ({data.get('users', 0) / max(seconds, 1e-9):,.0f} listeners/s) end to end.",
        "",
        f"![seconds per stage](img/{image(users).name})",
        "",
        "| family | records | files |",
        "|---|---:|---:|",
    ]
    for name, family in manifest.get("families", {}).items():
        lines.append(f"| {name} | {family['records']:,} | {len(family['files'])} |")
    lines += ["", "Evaluation (last 7 days held out, a sample of listeners):", ""]
    lines += [
        "| list | users | model | recall@20 | NDCG@20 | best baseline recall@20 | NDCG@20 | "
        "other candidates' recall@20 |"
    ]
    lines += ["|---|---:|---|---:|---:|---:|---:|---|"]
    for family in ("personal", "artists"):
        result = metrics.get(family)
        if not result or not result.get("users"):
            continue
        base = result["baselines"]
        best = max(base.values(), key=lambda b: b["recall@20"])
        others = ", ".join(
            f"{name} {c['recall@20']:.4f}" for name, c in result.get("candidates", {}).items()
        )
        lines.append(
            f"| {family} | {result['users']:,} | {result.get('algorithm', '')} | "
            f"{result['recall@20']:.4f} | {result['ndcg@20']:.4f} | {best['recall@20']:.4f} | "
            f"{best['ndcg@20']:.4f} | {others} |"
        )
    verdict = "**met**" if met else "**NOT met**"
    budget = f"under {BUDGET_SECONDS / 60:.0f} min and {BUDGET_BYTES / 1e9:.0f} GB"
    if users == BUDGET_USERS:
        lines += ["", f"Budget for 1M users ({budget}): {verdict}; exit code {code}."]
    else:
        lines += ["", f"Exit code {code}. The budget ({budget}) is for 1M users: "
                  "`python -m bench.batch` (its default size) checks it; `make bench` runs "
                  f"{users:,} users to stay within its own 30 minutes."]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    data = ensure_world(args.users, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        command, seconds, peak, code = time_batch(data, Path(tmp), ["--no-progress"])
        version = Path(tmp) / "bench"
        path = version / "manifest.json"
        manifest = json.loads(path.read_text()) if path.is_file() else {}
        size = _size(version) if version.exists() else 0
    print(" ".join(command), f"-> {seconds:.0f} s, {peak / 1e9:.1f} GB, exit {code}")
    if manifest:
        plot(manifest, seconds, image(args.users))
    body = markdown(args.users, seconds, peak, code, manifest, size)
    write_section(section(args.users), body, args.doc)
    ok = code == 0 and seconds < BUDGET_SECONDS and peak < BUDGET_BYTES
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
