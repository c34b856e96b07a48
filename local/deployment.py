"""What the local pipeline deployed: the model the inference server should serve and the batch
version it switched to, in ``<dir>/deploy.json``. The running stack watches it (the local
"update endpoint"); the next ``make local`` starts from it while the dataset is the same.

Two more records, the local equivalents of what AWS keeps: ``<dir>/current.json``, the model
the pipeline promoted once the stack served it (``models/current`` in S3: the next run's gate
baseline), and ``<dir>/rollback.json``, written by the stack when a deployed model did not
start and it went back to the previous one (SageMaker's rollback, seen in DescribeEndpoint)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local.stack import Stack


@dataclass(frozen=True)
class Deployment:
    """A deployed model (and, once the pipeline switched, its batch lists)."""

    model_dir: str
    dataset: str  # fingerprint of the dataset the model was trained on
    batch_dir: str | None = None


def read(stack: Stack) -> Deployment | None:
    """The last deployment, or None (none yet, or its model is gone)."""
    try:
        deployment = Deployment(**json.loads(stack.deploy_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return deployment if Path(deployment.model_dir).is_dir() else None


def write(stack: Stack, deployment: Deployment) -> None:
    """Record a deployment atomically (the stack never reads half a file)."""
    stack.dir.mkdir(parents=True, exist_ok=True)
    partial = stack.deploy_file.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
    os.replace(partial, stack.deploy_file)


def discard(stack: Stack) -> None:
    """Forget the last deployment (the stack serves what ``make local`` built)."""
    stack.deploy_file.unlink(missing_ok=True)


def _current_file(stack: Stack) -> Path:
    return stack.dir / "current.json"


def _rollback_file(stack: Stack) -> Path:
    return stack.dir / "rollback.json"


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(partial, path)


def promote(stack: Stack, deployment: Deployment) -> None:
    """Make a deployment's model the next run's gate baseline: only once the stack served it
    and it answered the canary request (``local.pipeline.update_endpoint``)."""
    _write_json(_current_file(stack), asdict(deployment))


def promoted(stack: Stack, dataset: str) -> Deployment | None:
    """The model promoted last, while its directory is there and it is of ``dataset``; None
    otherwise (the baseline is then the model ``make local`` built)."""
    try:
        current = Deployment(**json.loads(_current_file(stack).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if current.dataset != dataset or not Path(current.model_dir).is_dir():
        return None
    return current


def record_rollback(stack: Stack, rejected: Path, serving: Path, log: Path) -> None:
    """The stack's note that ``rejected`` did not start and ``serving`` serves again."""
    document = {"model_dir": str(rejected), "serving": str(serving), "log": str(log)}
    _write_json(_rollback_file(stack), document)


def rolled_back(stack: Stack, model_dir: str) -> str | None:
    """Why the stack rolled ``model_dir`` back, or None when it did not (yet)."""
    try:
        record = json.loads(_rollback_file(stack).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("model_dir") != model_dir:
        return None
    log, serving = record.get("log"), record.get("serving")
    return f"it did not start (see {log}); the stack serves {serving} again"
