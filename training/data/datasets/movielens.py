"""Import MovieLens 100K or 1M as a training dataset (the data contract, DESIGN section 4).

    python -m training.data.datasets.movielens --src ../shared/data/ml-100k --out build/ml-100k

The format is detected from the files present. The protocol that makes the onboarding task a
real one (primary genres, pseudo-artists, questionnaire from the earliest ratings, re-timing)
is in :mod:`training.data.datasets.movielens_protocol` and explained in docs/data.md. Exit status:
0 on success, 2 when the source is not MovieLens, a file is malformed or unreadable, or the
output cannot be written (a one-line message naming the file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.compute as pc
from tqdm import tqdm

from training.data.dataset_io import write_table
from training.data.datasets.movielens_formats import MovieLensFormatError, read_movielens
from training.data.datasets.movielens_protocol import Converted, Protocol, convert

__all__ = ["ImportSummary", "MovieLensFormatError", "Protocol", "import_movielens", "main"]


@dataclass(frozen=True)
class ImportSummary:
    """What an import read, wrote and dropped (counts only: no onboarding answers)."""

    format: str
    out: str
    users: int
    items: int
    artists: int
    stations: int
    ratings: int
    selection_ratings: int
    plays: int
    likes: int
    dropped_movies: int
    dropped_ratings: int
    dropped_users: int


def import_movielens(
    src: str | Path, out: str | Path, protocol: Protocol | None = None
) -> ImportSummary:
    """Read MovieLens from ``src`` and write the contract tables into ``out``.

    Nothing is written unless the whole source parsed.
    """
    with tqdm(total=3, desc="movielens", unit="step", disable=None) as bar:
        bar.set_postfix_str("reading")
        raw = read_movielens(src)
        bar.update()
        bar.set_postfix_str("converting")
        converted = convert(raw, protocol)
        bar.update()
        bar.set_postfix_str("writing")
        for name, table in converted.tables.items():
            write_table(out, name, table)
        bar.update()
    return _summary(raw.format, str(out), len(raw.ratings), converted)


def _summary(fmt: str, out: str, ratings: int, converted: Converted) -> ImportSummary:
    tables = converted.tables
    events = tables["interactions"].column("event")
    plays = int(pc.sum(pc.equal(events, "play")).as_py() or 0)
    likes = int(pc.sum(pc.equal(events, "like")).as_py() or 0)
    return ImportSummary(
        format=fmt,
        out=out,
        users=tables["users"].num_rows,
        items=tables["items"].num_rows,
        artists=tables["artists"].num_rows,
        stations=tables["stations"].num_rows,
        ratings=ratings,
        selection_ratings=ratings - converted.dropped_ratings - plays,
        plays=plays,
        likes=likes,
        dropped_movies=converted.dropped_movies,
        dropped_ratings=converted.dropped_ratings,
        dropped_users=converted.dropped_users,
    )


def _parser() -> argparse.ArgumentParser:
    defaults = Protocol()
    parser = argparse.ArgumentParser(
        prog="python -m training.data.datasets.movielens",
        description="Import MovieLens 100K or 1M (detected) as a training dataset.",
    )
    parser.add_argument("--src", required=True, type=Path, help="the raw MovieLens directory")
    parser.add_argument("--out", required=True, type=Path, help="the dataset directory to write")
    parser.add_argument(
        "--selection-ratings",
        type=int,
        default=defaults.selection_ratings,
        metavar="K",
        help="earliest ratings per user that answer the genre questionnaire "
        f"(default {defaults.selection_ratings})",
    )
    parser.add_argument(
        "--label-window",
        type=float,
        nargs=2,
        default=(defaults.window_start_day, defaults.window_end_day),
        metavar=("START", "END"),
        help="days after signup that receive the later half of each user's ratings "
        f"(default {defaults.window_start_day:g} {defaults.window_end_day:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: import, print a JSON summary; exit 2 with a message on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        protocol = Protocol(
            selection_ratings=args.selection_ratings,
            window_start_day=args.label_window[0],
            window_end_day=args.label_window[1],
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        summary = import_movielens(args.src, args.out, protocol)
    except (MovieLensFormatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
