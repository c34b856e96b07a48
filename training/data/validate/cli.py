"""``python -m training.data.validate DIR``: print every problem of a dataset directory.

Exit status: 0 when the dataset is valid, 1 when it has problems, 2 when DIR does not exist.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from training.data.contract import TABLES
from training.data.validate.run import Report, check_dataset


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the directory named on the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m training.data.validate",
        description="Check a dataset directory against the data contract (DESIGN section 4).",
    )
    parser.add_argument("dir", help="dataset directory: one Parquet file (or directory) per table")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    args = parser.parse_args(argv)
    root = Path(args.dir)
    if not root.is_dir():
        print(f"error: {root} does not exist or is not a directory", file=sys.stderr)
        return 2
    report = check_dataset(root, progress=False if args.no_progress else None)
    for problem in report.problems:
        print(problem)
    print(summary(report))
    return 0 if report.valid else 1


def summary(report: Report) -> str:
    """One line: the row counts when valid, else how many problems were found."""
    if report.valid:
        counts = ", ".join(f"{report.rows[n]:,} {n}" for n in TABLES if n in report.rows)
        return f"valid: {counts}"
    n = len(report.problems)
    return f"invalid: {n} problem{'s' if n != 1 else ''} in {report.root}"
