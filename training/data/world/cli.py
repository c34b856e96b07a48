"""Command line: ``python -m training.data.world --users N --seed S --out DIR``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from training.data.world.config import WorldConfig, default_artists, default_songs
from training.data.world.generate import generate_world


def _date(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.data.world",
        description="Generate a synthetic music world: a dataset per the data contract, with "
        "its hidden truth under OUT/truth/.",
    )
    p.add_argument("--users", type=int, required=True, help="number of users")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--songs",
        type=int,
        help=f"catalogue size (default max(5000, users/10): {default_songs(1_000_000):,} "
        "for 1M users)",
    )
    p.add_argument(
        "--artists",
        type=int,
        help=f"number of artists (default max(1000, songs/10): {default_artists(100_000):,} "
        "for 100k songs)",
    )
    p.add_argument(
        "--stations-per-region", type=int, default=4, help="regional stations per region (4)"
    )
    p.add_argument(
        "--national-stations", type=int, default=3, help="national stations per genre (3)"
    )
    p.add_argument(
        "--start", type=_date, default=datetime(2025, 1, 1, tzinfo=UTC), help="first signup day"
    )
    p.add_argument("--signup-days", type=int, default=365, help="signups spread over (365)")
    p.add_argument("--days", type=int, default=60, help="days of listening per user (60)")
    p.add_argument(
        "--quiet-share", type=float, default=0.3, help="share of users who go quiet (0.3)"
    )
    p.add_argument("--workers", type=int, default=1, help="processes generating user blocks (1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = WorldConfig(
            users=args.users,
            seed=args.seed,
            songs=args.songs,
            artists=args.artists,
            stations_per_region=args.stations_per_region,
            national_stations_per_genre=args.national_stations,
            start=args.start,
            signup_days=args.signup_days,
            days=args.days,
            quiet_share=args.quiet_share,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    counts = generate_world(config, args.out, workers=args.workers, progress=not args.no_progress)
    seconds = time.monotonic() - started
    print(
        json.dumps({"out": str(args.out), "seconds": round(seconds, 1), **counts}), file=sys.stderr
    )
    return 0
