"""``python -m bench.all`` (``make bench``): every benchmark, one after the other, on this machine.

First the benchmarks that need nothing running (world generation, training, the inference
server, batch scoring, the Lambda handlers and asset, DynamoDB loading, model quality), then one
local stack (``python -m local.up``) started for the rest: the load test, the API through the
local gateway, fuzzing and the A/B simulation, in that order (the load test first, on an empty
events table). Each benchmark is its own process and writes its own section of
docs/benchmarks.md; this one writes the ``suite`` section: each command, its wall time and
whether it passed, and the total. Exits 1 if any benchmark failed (the others still run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import local_stack
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, repo_relative, write_section

SECTION = "suite"
BUDGET_S = 30 * 60
STACK_USERS, STACK_SEED = 20_000, 7  # the stack `make local` starts by default

OFFLINE: list[tuple[str, list[str]]] = [
    # written where bench.train and bench.batch look for their worlds, so train reuses it
    ("world", ["bench.world", "--users", "1000000", "--out", ".local/bench/world-1000000"]),
    ("train", ["bench.train", "--users", "100000", "300000", "1000000"]),
    ("inference", ["bench.inference", "--workers", "1", "2"]),
    ("batch", ["bench.batch", "--users", "300000"]),
    ("api handlers", ["bench.api_handlers"]),
    ("lambda asset", ["bench.lambda_asset"]),
    ("dynamodb load", ["bench.dynamodb_load"]),
    ("quality", ["bench.quality"]),
]
ON_STACK: list[tuple[str, list[str]]] = [  # each gets --dir <the stack's directory>
    ("load test", ["bench.load_test", "--minutes", "5"]),
    ("api gateway", ["bench.api_gateway"]),
    ("fuzz", ["bench.fuzz", "--examples", "1000"]),
    ("a/b simulation", ["bench.ab", "--listeners", "1000"]),
]


@dataclass(frozen=True)
class Outcome:
    name: str
    command: str
    seconds: float
    passed: bool


def run(name: str, module_args: list[str], doc: Path) -> Outcome:
    """Run one benchmark as ``python -m ...``, its output going to this terminal."""
    args = [*module_args, "--doc", repo_relative(doc)]  # run from the repository root
    command = "python -m " + " ".join(args)
    print(f"\n=== {name}: {command}", flush=True)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})  # fmt: skip
    outcome = Outcome(name, command, time.monotonic() - started, result.returncode == 0)
    print(f"=== {name}: {'passed' if outcome.passed else 'FAILED'} in {outcome.seconds:.0f} s",
          flush=True)  # fmt: skip
    return outcome


def markdown(outcomes: list[Outcome], total_s: float, stack_s: float) -> str:
    m = machine()
    verdict = "under" if total_s < BUDGET_S else "**over**"
    lines = [
        "## The whole suite",
        "",
        "Command: `make bench` (`python -m bench.all`): every benchmark below, one after the "
        "other, each in its own process; the load test, gateway, fuzzing and A/B benchmarks "
        f"share one local stack (`python -m local.up --users {STACK_USERS:,} --seed "
        f"{STACK_SEED}`, started by the suite).",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.",
        "",
        "| benchmark | command | wall time | result |",
        "|---|---|---:|---|",
    ]
    for o in outcomes:
        result = "passed" if o.passed else "**failed**"
        lines.append(f"| {o.name} | `{o.command.split(' --doc ')[0]}` | {o.seconds / 60:.1f} min "
                     f"| {result} |")  # fmt: skip
    lines += [
        "",
        f"Starting the local stack (world, model, lists, local AWS) took {stack_s / 60:.1f} min. "
        f"Total: **{total_s / 60:.1f} min**, {verdict} the 30-minute budget.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--stack-dir", type=Path, default=REPO_ROOT / ".local" / "bench" / "stack")
    parser.add_argument("--skip", nargs="*", default=[], help="benchmarks to leave out, by name")
    args = parser.parse_args(argv)
    started = time.monotonic()
    outcomes = [run(name, cmd, args.doc) for name, cmd in OFFLINE if name not in args.skip]
    stack_started = time.monotonic()
    print(f"\n=== starting the local stack in {args.stack_dir}", flush=True)
    with local_stack(args.stack_dir, STACK_USERS, STACK_SEED) as (stack, _):
        stack_s = time.monotonic() - stack_started
        for name, cmd in ON_STACK:
            if name not in args.skip:
                outcomes.append(run(name, [*cmd, "--dir", repo_relative(stack.dir)], args.doc))
    total_s = time.monotonic() - started
    body = markdown(outcomes, total_s, stack_s)
    print("\n" + body)
    write_section(SECTION, body, args.doc)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
