"""The build steps of the local stack, each a subprocess of the project's own command line (the
same commands the image and the pipeline run), skipped when what they would build is already
there: every output carries a stamp of its inputs (dataset contents, arguments, the code of
``training``), so a changed dataset or changed code rebuilds, and nothing else does."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lambdas.store.batch_source import BatchSource
from lambdas.store.loader import Tables, active, load_version
from lambdas.store.tables import table
from local import aws
from local.stack import PREFIX, Stack

STEP_TIMEOUT_S = 1800
STAMP = "stamp.json"


class BuildError(RuntimeError):
    """A build step that failed; its command's output says why."""


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print a step's name and, when it ends, its duration."""
    print(f"• {name} ...", flush=True)
    started = time.monotonic()
    yield
    print(f"  {name}: done in {time.monotonic() - started:.1f} s", flush=True)


def run(
    args: Sequence[str], allowed: Sequence[int] = (0,), timeout_s: float = STEP_TIMEOUT_S
) -> int:
    """Run ``python -m ...`` with this interpreter; raise unless it exits with an allowed code."""
    command = [sys.executable, "-m", *args]
    try:
        result = subprocess.run(command, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"`python -m {' '.join(args)}` took more than {timeout_s:.0f} s") from exc
    if result.returncode not in allowed:
        raise BuildError(f"`python -m {' '.join(args)}` exited with {result.returncode}")
    return result.returncode


def digest(files: Iterable[Path], root: Path) -> str:
    """The SHA-256 of the files' names (relative to ``root``) and contents."""
    sha = hashlib.sha256()
    for path in sorted(files):
        sha.update(str(path.relative_to(root)).encode() + b"\0")
        with path.open("rb") as handle:
            sha.update(hashlib.file_digest(handle, "sha256").digest())
    return sha.hexdigest()


def dataset_fingerprint(data: Path) -> str:
    """What identifies a dataset: its top-level files (the data contract's tables)."""
    return digest((p for p in data.iterdir() if p.is_file() and p.name != STAMP), data)


def code_fingerprint(package: str = "training") -> str:
    """What identifies the code that builds data, models and lists: its Python sources."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(f"package {package!r} not found")
    root = Path(next(iter(spec.submodule_search_locations)))
    return digest(root.rglob("*.py"), root)


def _stamp(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((path / STAMP).read_text()))
    except (OSError, ValueError):
        return None


def _write_stamp(path: Path, stamp: dict[str, Any]) -> None:
    (path / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")


def dataset(stack: Stack, data: str | None, users: int, seed: int, rebuild: bool) -> Path:
    """The dataset: ``data`` (a raw MovieLens directory is imported first), else a world."""
    code = code_fingerprint()
    if data:
        source = Path(data)
        if not source.is_dir():
            raise BuildError(f"DATA={data}: no such directory")
        if not (source / "users.parquet").is_file():  # not the data contract: import MovieLens
            out = stack.dir / "datasets" / source.resolve().name
            imported: dict[str, Any] = {
                "src": str(source.resolve()),
                "src_files": dataset_fingerprint(source),
                "code": code,
            }
            if rebuild or _stamp(out) != imported:
                shutil.rmtree(out, ignore_errors=True)
                run(["training.data.datasets.movielens", "--src", str(source), "--out", str(out)])
                _write_stamp(out, imported)
            source = out
        run(["training.data.validate", str(source)])
        return source
    out = stack.dir / "world"
    wanted: dict[str, Any] = {"users": users, "seed": seed, "code": code}
    if rebuild or _stamp(out) != wanted:
        shutil.rmtree(out, ignore_errors=True)
        run(["training.data.world", "--users", str(users), "--seed", str(seed), "--out", str(out)])
        _write_stamp(out, wanted)
    return out


def model(
    data: Path,
    out: Path,
    rebuild: bool,
    baseline: Path | None = None,
    hyperparameters: Sequence[str] = (),
) -> bool:
    """Train into ``out`` unless a model of this dataset and code is there; whether it passed
    the quality gate."""
    wanted = {
        "data": str(data.resolve()),
        "dataset": dataset_fingerprint(data),
        "code": code_fingerprint(),
        "baseline": str(baseline) if baseline else None,
        "hyperparameters": list(hyperparameters),
    }
    if not rebuild and _stamp(out) == wanted and (out / "metrics.json").is_file():
        return bool(json.loads((out / "metrics.json").read_text())["gate"]["passed"])
    args = ["training.model.train", "--data", str(data), "--model-dir", str(out), "--no-progress"]
    if baseline is not None:
        args += ["--baseline-model", str(baseline)]
    for hp in hyperparameters:
        args += ["--hp", hp]
    code = run(args, allowed=(0, 1))
    _write_stamp(out, wanted)
    return code == 0


def batch_version(data: Path) -> str:
    """The batch version of a dataset and the current code (a second run finds it built)."""
    both = f"{dataset_fingerprint(data)}:{code_fingerprint()}".encode()
    return f"local-{hashlib.sha256(both).hexdigest()[:12]}"


def batch(data: Path, root: Path, rebuild: bool) -> Path:
    """The batch lists of ``data`` under ``root``, as the version :func:`batch_version` names."""
    out = root / batch_version(data)
    if rebuild or not (out / "manifest.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        run(["training.batch", "--data", str(data), "--out", str(root), "--version", out.name,
             "--no-progress"])  # fmt: skip
    return out


def tables(stack: Stack) -> Tables:
    """The local lists and state tables, as the loader writes them."""
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
