"""The sharded batch run at ten times the listeners: ``python -m bench.batch_scale``.

Runs two shards of a ``--shards``-way batch run on the 1M-listener world, as two SageMaker
Processing instances would (``python -m training.batch --shard i/n``): shard 1 does what every
instance does (read every play, fit the factor models, write its share of the per-user lists);
shard 0 also writes the shared lists and runs the evaluation and the gate. Each run's wall time,
seconds per stage and peak memory are measured (``wait4``), and from them the run for
``--target`` listeners on SageMaker Processing is projected for a few instance types and counts:
time, memory and cost per run, and which configurations fit (docs/benchmarks.md, "Batch scoring
at 10M listeners"). What scales how is stated in the section, next to the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.batch import time_batch
from bench.common import DEFAULT_SEED, ensure_world
from bench.report import DEFAULT_DOC, machine, write_section
from training.batch.cores import THREADS

SECTION = "batch-scale"
MEMORY_HEADROOM = 1.25  # an instance needs this much more memory than the projected peak


@dataclass(frozen=True)
class Instance:
    """A SageMaker Processing instance type: vCPUs, memory and the on-demand price per hour."""

    name: str
    vcpus: int
    memory_gib: int
    usd_per_hour: float


# On-demand prices of SageMaker Processing in us-east-1 (aws.amazon.com/sagemaker/pricing,
# "Processing"); other regions differ: pass --price NAME=USD to use yours.
INSTANCES = (
    Instance("ml.m5.4xlarge", 16, 64, 0.922),
    Instance("ml.r5.4xlarge", 16, 128, 1.21),
    Instance("ml.m5.12xlarge", 48, 192, 2.765),
    Instance("ml.r5.8xlarge", 32, 256, 2.419),
)
COUNTS = (4, 8, 16)


@dataclass(frozen=True)
class ShardRun:
    """One measured shard: its stage seconds, wall seconds, peak bytes and listeners scored."""

    stages: dict[str, float]
    seconds: float
    peak_bytes: int
    listeners: int  # active listeners whose lists this shard wrote
    vcpus: int = 2  # the threads it ran on (training.batch.cores.THREADS where measured)

    @classmethod
    def of(cls, manifest: dict[str, Any], seconds: float, peak: int) -> ShardRun:
        families = manifest.get("families", {})
        return cls(
            stages=dict(manifest.get("metrics", {}).get("timings_s", {})),
            seconds=seconds,
            peak_bytes=peak,
            listeners=int(families.get("personal", {}).get("records", 0)),
            vcpus=THREADS,
        )

    @property
    def rate_per_vcpu(self) -> float:
        """Active listeners' lists written per second per vCPU."""
        return self.listeners / max(self.stages.get("per-user lists", 0.0), 1e-9) / self.vcpus


@dataclass(frozen=True)
class Projection:
    """One configuration at the target size: ``count`` instances of ``instance``."""

    instance: Instance
    count: int
    seconds: float  # the slowest shard's (shard 0's) wall time
    memory_gib: float  # projected peak per instance
    fits: bool

    @property
    def usd(self) -> float:
        """Every instance billed for the job's duration (the slowest shard)."""
        return self.count * self.instance.usd_per_hour * self.seconds / 3600


def project(
    shard0: ShardRun, shard1: ShardRun, shards: int, scale: float, instance: Instance, count: int
) -> Projection:
    """The target run (``scale`` times the measured listeners and plays, the same catalogue) on
    ``count`` instances of ``instance``, from the two measured shards of a ``shards``-way run:

    - reading every play and the evaluation (shard 0) grow with the plays (``scale``), at the
      measured speed (reading is mostly one thread; the evaluation's sample is fixed, but it
      builds its matrices from every play);
    - the factorisation grows with the plays and runs on every vCPU (the songs' ALS, most of
      it, runs ``implicit``'s threads on every core; the artists' SVD is a few seconds);
    - the per-user lists: the measured listeners per second per vCPU (shard 1's), times the
      instance's vCPUs, for ``scale`` times the active listeners split over ``count`` shards;
    - the shared lists (songs x songs) do not grow with listeners, and use every vCPU;
    - peak memory grows with the plays (the play arrays and listening matrices dominate it).
    """
    speedup = instance.vcpus / shard0.vcpus
    every = shard0.stages.get("read", 0.0) * scale + shard0.stages.get("factorise", 0.0) * (
        scale / speedup
    )
    all_listeners = shard1.listeners * shards * scale
    lists = all_listeners / count / (shard1.rate_per_vcpu * instance.vcpus)
    shared = shard0.stages.get("item, artist and regional lists", 0.0) / speedup
    evaluation = (shard0.stages.get("evaluation", 0.0) + shard0.stages.get("gate", 0.0)) * scale
    seconds = every + lists + shared + evaluation
    memory = max(shard0.peak_bytes, shard1.peak_bytes) / 1024**3 * scale
    fits = memory * MEMORY_HEADROOM <= instance.memory_gib
    return Projection(instance, count, seconds, memory, fits)


def markdown(
    users: int, shards: int, target: int, shard0: ShardRun, shard1: ShardRun,
    projections: list[Projection], command: str,
) -> str:  # fmt: skip
    m = machine()
    scale = target / users
    lines = [
        f"## Batch scoring at {target / 1e6:.0f}M listeners (SageMaker Processing, sharded)",
        "",
        f"Command: `{command}`.",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.",
        "",
        f"Measured: shards 0 and 1 of a {shards}-way run on the {users:,}-listener world "
        f"(`python -m training.batch --shard i/{shards}`, each what one processing instance "
        "runs: every instance reads every play and fits the same factor models, then writes "
        "its listeners' lists; shard 0 also writes the shared lists and runs the evaluation "
        "and the gate).",
        "",
        "| shard | listeners scored | wall time | peak RSS | seconds per stage |",
        "|---|---:|---:|---:|---|",
    ]
    for name, run in (("0", shard0), ("1", shard1)):
        stages = ", ".join(f"{k} {v:.0f}" for k, v in run.stages.items())
        lines.append(
            f"| {name} | {run.listeners:,} | {run.seconds:.0f} s | "
            f"{run.peak_bytes / 1024**3:.1f} GiB | {stages} |"
        )
    lines += [
        "",
        f"Per-shard rate of the per-user lists: **{shard1.rate_per_vcpu:,.0f} active listeners "
        f"per second per vCPU** (shard 1: {shard1.listeners:,} listeners in "
        f"{shard1.stages.get('per-user lists', 0):.0f} s on {shard1.vcpus} vCPUs).",
        "",
        f"Projected for {target:,} listeners ({scale:.0f}x the plays and active listeners, the "
        "same 100k-song catalogue), per run, for every instance billed until the slowest shard "
        f"(shard 0) ends; memory must fit {MEMORY_HEADROOM:.2f}x the projected peak:",
        "",
        "| instances | vCPUs each | memory each | projected peak | time per run | cost per run |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for p in projections:
        note = "" if p.fits else " (does not fit)"
        lines.append(
            f"| {p.count} x {p.instance.name} | {p.instance.vcpus} | {p.instance.memory_gib} GiB"
            f" | {p.memory_gib:.0f} GiB{note} | {p.seconds / 60:.1f} min | "
            f"{'$' + format(p.usd, '.2f') if p.fits else '-'} |"
        )
    fitting = [p for p in projections if p.fits]
    if fitting:
        best = min(fitting, key=lambda p: (p.usd, p.seconds))
        fastest = min(fitting, key=lambda p: p.seconds)
        lines += [
            "",
            f"Cheapest that fits: **{best.count} x {best.instance.name}, about "
            f"{best.seconds / 60:.0f} min and ${best.usd:.2f} per run**; fastest: "
            f"{fastest.count} x {fastest.instance.name}, {fastest.seconds / 60:.0f} min and "
            f"${fastest.usd:.2f}.",
        ]
    lines += [
        "",
        "How each part is scaled (`bench/batch_scale.py`, `project`): reading every play and "
        "the evaluation grow with the plays at the speed measured here (no gain from more "
        "vCPUs assumed); the factorisation grows with the plays and runs on every vCPU (ALS); "
        "the per-user lists use every vCPU at the measured rate per vCPU; the shared lists do "
        "not grow with listeners; peak memory grows with the plays. Prices: SageMaker "
        "Processing on demand in us-east-1 (`--price NAME=USD` for another region). Beyond "
        "this size the fixed part (every shard reading and factorising every play, and the "
        "evaluation on shard 0) dominates: more instances stop helping, and the next step "
        "is one fitting job whose factors the shards read.",
    ]
    return "\n".join(lines)


def _run_shard(data: Path, shard: str) -> ShardRun:
    with tempfile.TemporaryDirectory(prefix="bench-batch-scale-") as tmp:
        command, seconds, peak, code = time_batch(
            data, Path(tmp), ["--no-progress", "--shard", shard]
        )
        manifests = sorted((Path(tmp) / "bench").glob("manifest*.json"))
        if code != 0 or not manifests:
            raise SystemExit(f"{' '.join(command)} failed (exit {code})")
        manifest = json.loads(manifests[0].read_text())
    print(" ".join(command), f"-> {seconds:.0f} s, {peak / 1024**3:.1f} GiB")
    return ShardRun.of(manifest, seconds, peak)


def _prices(overrides: Sequence[str]) -> tuple[Instance, ...]:
    prices = {i.name: i.usd_per_hour for i in INSTANCES}
    for item in overrides:
        name, sep, usd = item.partition("=")
        if not sep or name not in prices:
            raise SystemExit(f"--price: expected NAME=USD with NAME one of {sorted(prices)}")
        prices[name] = float(usd)
    return tuple(Instance(i.name, i.vcpus, i.memory_gib, prices[i.name]) for i in INSTANCES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_scale", description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000, help="the measured world's size")
    parser.add_argument("--shards", type=int, default=4, help="the measured run's shard count")
    parser.add_argument("--target", type=int, default=10_000_000, help="listeners projected")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--price", action="append", default=[], metavar="NAME=USD")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    instances = _prices(args.price)
    data = ensure_world(args.users, args.seed)
    shard0 = _run_shard(data, f"0/{args.shards}")
    shard1 = _run_shard(data, f"1/{args.shards}")
    scale = args.target / args.users
    projections = [
        project(shard0, shard1, args.shards, scale, instance, count)
        for instance in instances
        for count in COUNTS
    ]
    command = "python -m bench.batch_scale" + (
        "" if args.users == 1_000_000 else f" --users {args.users}"
    )
    text = markdown(args.users, args.shards, args.target, shard0, shard1, projections, command)
    write_section(SECTION, text, args.doc)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
