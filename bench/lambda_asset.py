"""The Lambda asset's size: ``python -m bench.lambda_asset``.

Builds the asset exactly as the CDK stacks do (:func:`infra.bundling.build_asset`: the pinned
requirements for python3.12 arm64 plus the ``lambdas`` package), zips it, and writes the
``lambda-asset`` section of docs/benchmarks.md. Every function uses this one asset. Budget:
under 10 MB zipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from bench.report import DEFAULT_DOC, machine, write_section
from infra.bundling import RUNTIME_PROVIDED, build_asset
from lambdas.routes import BANDIT_REFRESH, FUNCTIONS, LOADER

SECTION = "lambda-asset"
BUDGET_BYTES = 10 * 1024 * 1024


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lambda_asset", description=__doc__)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        asset = Path(tmp) / "asset"
        asset.mkdir()
        build_asset(asset)
        unzipped = _size(asset)
        largest = sorted(((_size(p) if p.is_dir() else p.stat().st_size), p.name)
                         for p in asset.iterdir())[-5:]  # fmt: skip
        zipped = Path(shutil.make_archive(str(Path(tmp) / "asset"), "zip", asset)).stat().st_size
    m = machine()
    functions = ", ".join(f.name for f in (*FUNCTIONS, LOADER, BANDIT_REFRESH))
    verdict = "**met**" if zipped < BUDGET_BYTES else "**NOT met**"
    body = "\n".join([
        "## Lambda asset",
        "",
        "Command: `python -m bench.lambda_asset` (builds the asset as `infra/bundling.py` does for "
        "`cdk synth`: `pip install --platform manylinux2014_aarch64 --python-version 3.12 "
        "--only-binary=:all: -r lambdas/requirements.txt` plus the `lambdas` package, every "
        "module precompiled to python3.12 bytecode so that cold starts do not compile them).",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.",
        "",
        f"One asset for every function ({functions}): **{zipped / 1024**2:.1f} MB zipped**, "
        f"{unzipped / 1024**2:.1f} MB unzipped; budget under 10 MB zipped: {verdict}.",
        "",
        "Largest parts (unzipped): "
        + ", ".join(f"{name} {size / 1024**2:.1f} MB" for size, name in reversed(largest))
        + f". Left out because the python3.12 runtime provides them: {', '.join(RUNTIME_PROVIDED)} "
        "(aws-xray-sdk, Powertools' tracer dependency, would otherwise bring botocore's 32 MB).",
    ])  # fmt: skip
    print(body)
    write_section(SECTION, body, args.doc)
    return 0 if zipped < BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
