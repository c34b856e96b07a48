"""``python -m training.batch --data DIR --out DIR [--version V] [--shard i/n] ...`` and
``python -m training.batch merge DIR [--out OUT]``: compute a batch version, or merge its shards'
manifests (read in DIR) into manifest.json (written to OUT, by default DIR itself).

``--active DIR``: the active version (its manifest.json and `personal` files), for the batch gate
(:mod:`training.batch.gate`). A version the gate refuses exits with 1, naming the metric and the
interval, and gets no manifest.json (a sharded run: its merge refuses it)."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from dataclasses import fields
from pathlib import Path

from training.batch.gate import GateRefusedError
from training.batch.output import (
    MANIFEST,
    VERSION_PATTERN,
    OutputError,
    default_version,
    merge,
)
from training.batch.params import BatchParams
from training.batch.run import Shard, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.batch", description=__doc__)
    parser.add_argument("--data", required=True, type=Path, help="dataset directory")
    parser.add_argument("--out", required=True, type=Path, help="output root directory")
    parser.add_argument("--version", default=None, help="version name (default: UTC time)")
    parser.add_argument(
        "--shard",
        default="0/1",
        help="score shard i of n listeners (i/n); 'sagemaker': this processing instance's share",
    )
    parser.add_argument(
        "--active",
        type=Path,
        default=None,
        help="the active version's directory, for the batch gate (none there: the first run)",
    )
    parser.add_argument("--no-progress", action="store_true")
    defaults = BatchParams()
    for f in fields(BatchParams):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        parser.add_argument(flag, type=type(default), default=default, dest=f.name)
    return parser


def _merge(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.batch merge")
    parser.add_argument("version_dir", type=Path, help="the version's shard manifests")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write manifest.json (default: version_dir); nothing else is written",
    )
    args = parser.parse_args(argv)
    out = args.version_dir if args.out is None else args.out
    try:
        merged = merge(args.version_dir, out)
    except OutputError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    print(f"merged {merged['shards']} shards into {out / MANIFEST}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["merge"]:
        return _merge(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        shard = Shard.from_sagemaker() if args.shard == "sagemaker" else Shard.parse(args.shard)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    version = args.version or default_version()
    if not VERSION_PATTERN.match(version):
        parser.error(f"--version: use 1-64 of [0-9A-Za-z._-], got {version!r}")
    if not args.data.is_dir():
        parser.error(f"--data: {args.data} is not a directory")
    values = {f.name: getattr(args, f.name) for f in fields(BatchParams)}
    negative = [n for n, value in values.items() if not isinstance(value, str) and value < 0]
    if negative or values["n"] < 1:
        parser.error(f"--{(negative or ['n'])[0].replace('_', '-')}: must be positive")
    try:
        params = BatchParams(**values)
    except ValueError as exc:  # an unknown --song-model
        parser.error(f"--{str(exc).replace('_', '-')}")
    if args.active is not None and params.eval_users == 0:
        parser.error("--active: the batch gate needs the evaluation (--eval-users > 0)")
    version_dir = args.out / version
    if (version_dir / "manifest.json").exists():
        parser.error(f"--version: {version_dir} is already complete; choose another version")
    version_dir.mkdir(parents=True, exist_ok=True)
    try:
        run(args.data, version_dir, params, shard, not args.no_progress, args.active)
    except GateRefusedError as refused:
        print(f"{refused}; {version_dir} is not published", file=sys.stderr)
        return 1
    except BaseException:
        if shard.count == 1:
            shutil.rmtree(version_dir, ignore_errors=True)  # never leave half a version behind
        raise
    print(f"wrote {version_dir}")
    return 0
