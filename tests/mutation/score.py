"""The mutation score per module of the last ``mutmut run`` (the end of ``make mutate``).

``python -m tests.mutation.score [--min PERCENT]`` reads ``mutmut results --all true`` and prints,
per mutated file, its mutants, how many the tests killed (a mutant that makes the tests hang,
``timeout``, counts as killed), survived, or had no test calling their function, and the score
(killed / mutants). Exit status 1 when the score over all files is below ``--min``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

KILLED = ("killed", "timeout")


def module_of(mutant: str) -> str:
    """``lambdas.logic.rules.x_pick_songs__mutmut_12`` -> ``lambdas.logic.rules`` (a method's
    mutants are named ``module.xǁClassǁmethod__mutmut_N``)."""
    return re.split(r"\.xǁ|\.x_", mutant, maxsplit=1)[0]


def tally(lines: Iterable[str]) -> dict[str, Counter[str]]:
    """Statuses per module file from the lines ``<mutant>: <status>`` of ``mutmut results``."""
    per_file: dict[str, Counter[str]] = {}
    for line in lines:
        mutant, sep, status = line.strip().rpartition(": ")
        if not sep:
            continue
        path = module_of(mutant).replace(".", "/") + ".py"
        per_file.setdefault(path, Counter())[status] += 1
    return per_file


def score(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return 100.0 * sum(counts[s] for s in KILLED) / total if total else 0.0


def table(per_file: dict[str, Counter[str]]) -> str:
    rows = [
        f"{'module':<34} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} "
        f"{'other':>5} {'score':>7}"
    ]
    overall: Counter[str] = Counter()
    for path in sorted(per_file):
        counts = per_file[path]
        overall.update(counts)
        rows.append(_row(path, counts))
    rows.append(_row("all", overall))
    return "\n".join(rows)


def _row(name: str, counts: Counter[str]) -> str:
    total = sum(counts.values())
    killed = sum(counts[s] for s in KILLED)
    other = total - killed - counts["survived"] - counts["no tests"]
    return (
        f"{name:<34} {total:>7} {killed:>6} {counts['survived']:>8} {counts['no tests']:>8} "
        f"{other:>5} {score(counts):>6.1f}%"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min", type=float, default=0.0, help="fail below this score (percent)")
    args = parser.parse_args(argv)
    mutmut = Path(sys.executable).parent / "mutmut"
    results = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=False
    )
    if results.returncode != 0:
        print(results.stderr, end="", file=sys.stderr)
        return 1
    per_file = tally(results.stdout.splitlines())
    if not per_file:
        print("no mutants: run `make mutate` (mutmut run) first", file=sys.stderr)
        return 1
    print(table(per_file))
    overall: Counter[str] = sum(per_file.values(), Counter())
    if score(overall) < args.min:
        print(f"mutation score {score(overall):.1f}% is below {args.min:.0f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
