"""The build steps of the local stack, each a subprocess of the project's own command line (the
same commands the image and the pipeline run), skipped when their output is already there."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lambdas.batch_source import BatchSource
from lambdas.load import Tables, active, load_version
from lambdas.tables import table
from local import aws
from local.stack import PREFIX, Stack

STEP_TIMEOUT_S = 1800


class BuildError(RuntimeError):
    """A build step that failed; its command's output says why."""


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print a step's name and, when it ends, its duration."""
    print(f"• {name} ...", flush=True)
    started = time.monotonic()
    yield
    print(f"  {name}: done in {time.monotonic() - started:.1f} s", flush=True)


def run(args: Sequence[str], allowed: Sequence[int] = (0,)) -> int:
    """Run ``python -m ...`` with this interpreter; raise unless it exits with an allowed code."""
    result = subprocess.run([sys.executable, "-m", *args], timeout=STEP_TIMEOUT_S)
    if result.returncode not in allowed:
        raise BuildError(f"`python -m {' '.join(args)}` exited with {result.returncode}")
    return result.returncode


def _stamp(path: Path) -> dict[str, object] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def dataset(stack: Stack, data: str | None, users: int, seed: int, rebuild: bool) -> Path:
    """The dataset: ``data`` (MovieLens raw directories are imported first), else a world."""
    if data:
        source = Path(data)
        if (source / "u.data").is_file():  # raw MovieLens: import it into the data contract
            out = stack.dir / "datasets" / source.name
            if rebuild or not (out / "users.parquet").exists():
                run(["training.datasets.movielens", "--src", str(source), "--out", str(out)])
            source = out
        run(["training.validate", str(source)])
        return source
    out = stack.dir / "world"
    wanted = {"users": users, "seed": seed}
    if rebuild or _stamp(out / "stamp.json") != wanted:
        run(["training.world", "--users", str(users), "--seed", str(seed), "--out", str(out)])
        (out / "stamp.json").write_text(json.dumps(wanted))
    return out


def model(
    data: Path,
    out: Path,
    rebuild: bool,
    baseline: Path | None = None,
    hyperparameters: Sequence[str] = (),
) -> bool:
    """Train into ``out`` unless a model of ``data`` is there; whether it passed the gate."""
    wanted = {"data": str(data.resolve())}
    if not rebuild and _stamp(out / "stamp.json") == wanted:
        return bool(json.loads((out / "metrics.json").read_text())["gate"]["passed"])
    args = ["training.train", "--data", str(data), "--model-dir", str(out), "--no-progress"]
    if baseline is not None:
        args += ["--baseline-model", str(baseline)]
    for hp in hyperparameters:
        args += ["--hp", hp]
    code = run(args, allowed=(0, 1))
    (out / "stamp.json").write_text(json.dumps(wanted))
    return code == 0


def batch(data: Path, root: Path, version: str, rebuild: bool) -> Path:
    """The batch lists of ``data`` as version ``version`` under ``root``."""
    out = root / version
    if rebuild or not (out / "manifest.json").is_file():
        if out.exists():
            import shutil

            shutil.rmtree(out)
        run(["training.batch", "--data", str(data), "--out", str(root), "--version", version,
             "--no-progress"])  # fmt: skip
    return out


def tables(stack: Stack) -> Tables:
    dynamodb = aws.client("dynamodb", stack.aws_url, kind="resource")
    return Tables(
        dynamodb.Table(table("lists").physical_name(PREFIX)),
        dynamodb.Table(table("state").physical_name(PREFIX)),
    )


def load(stack: Stack, version_dir: Path) -> str:
    """Load a version into local DynamoDB and switch to it, unless it is already active."""
    target = tables(stack)
    current = active(target)
    version = version_dir.name
    if current is None or current["version"] != version:
        load_version(BatchSource(str(version_dir)), target, progress=True)
    return version
