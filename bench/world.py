"""Benchmark the synthetic world generator: ``python -m bench.world [--users N]``.

Runs ``python -m training.data.world`` in a subprocess (its progress bar shows on stderr), measures
wall time and the child's peak resident memory (``os.wait4``), counts the rows written, checks
the budget (1M users: under 5 minutes and 8 GB) and writes the ``world`` section of
docs/benchmarks.md through :mod:`bench.report`. Exits 1 if the run failed or broke the budget.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bench.report import DEFAULT_DOC, machine, write_section

SECTION = "world"
BUDGET_SECONDS = 300.0
BUDGET_BYTES = 8 * 1024**3
TABLES = ("users", "items", "artists", "stations", "interactions", "follows")


@dataclass(frozen=True)
class Run:
    """One timed generation."""

    command: list[str]
    seconds: float
    peak_bytes: int
    exit_code: int
    rows: dict[str, int]
    output_bytes: int
    load_before: tuple[float, float, float]

    @property
    def within_budget(self) -> bool:
        return (
            self.exit_code == 0 and self.seconds < BUDGET_SECONDS and self.peak_bytes < BUDGET_BYTES
        )


def _rows(out: Path) -> dict[str, int]:
    rows = {}
    for name in TABLES:
        path = out / f"{name}.parquet"
        if path.is_file():
            rows[name] = pq.ParquetFile(path).metadata.num_rows
    return rows


def _size(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def time_world(users: int, seed: int, workers: int, out: Path) -> Run:
    """Generate a world of ``users`` into ``out`` in a child process and measure it."""
    command = [
        sys.executable,
        "-m",
        "training.data.world",
        "--users",
        str(users),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--out",
        str(out),
    ]
    load = os.getloadavg()
    started = time.monotonic()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux; with workers, the largest process (not their sum).
    return Run(
        command=command,
        seconds=seconds,
        peak_bytes=usage.ru_maxrss * 1024,
        exit_code=child.returncode,
        rows=_rows(out),
        output_bytes=_size(out) if out.exists() else 0,
        load_before=load,
    )


def markdown(run: Run, users: int, note: str = "") -> str:
    """The ``world`` section of docs/benchmarks.md."""
    m = machine()
    shown = " ".join(run.command[1:-1]) + " DIR"
    interactions = run.rows.get("interactions", 0)
    verdict = "**met**" if run.within_budget else "**NOT met**"
    lines = [
        "## Synthetic world generation",
        "",
        f"Command: `python {shown}` (run by `python -m bench.world --users {users}`).",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']} memory, Python {m['python']}, {m['system']}. Load average before "
        f"the run: {run.load_before[0]:.1f} / {run.load_before[1]:.1f} / "
        f"{run.load_before[2]:.1f}.",
        "",
        "| users | songs | artists | stations | interactions | follows | wall time | "
        "peak RSS | interactions/s | output |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {run.rows.get('users', 0):,} | {run.rows.get('items', 0):,} | "
        f"{run.rows.get('artists', 0):,} | {run.rows.get('stations', 0):,} | "
        f"{interactions:,} | {run.rows.get('follows', 0):,} | {run.seconds:.1f} s | "
        f"{run.peak_bytes / 1024**3:.2f} GB | {interactions / max(run.seconds, 1e-9):,.0f} | "
        f"{run.output_bytes / 1024**2:,.0f} MB |",
        "",
        f"Budget for 1M users (under {BUDGET_SECONDS / 60:.0f} min and "
        f"{BUDGET_BYTES / 1024**3:.0f} GB): {verdict}"
        + ("" if users == 1_000_000 else f" (this run: {users:,} users)")
        + f"; exit code {run.exit_code}.",
    ]
    if note:
        lines += ["", note]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.world", description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, help="where to write the world (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated world")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--note", default="", help="a remark for the doc (e.g. other load)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args(argv)

    tmp = None if args.out else Path(tempfile.mkdtemp(prefix="bench-world-"))
    out = args.out or (tmp / "world")  # type: ignore[operator]
    try:
        run = time_world(args.users, args.seed, args.workers, out)
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    text = markdown(run, args.users, args.note)
    print(text)
    if not args.no_write:
        write_section(SECTION, text, args.doc)
    return 0 if run.within_budget else 1


if __name__ == "__main__":
    sys.exit(main())
