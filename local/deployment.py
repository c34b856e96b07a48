"""What the local pipeline deployed: the model the inference server should serve and the batch
version it switched to, in ``<dir>/deploy.json``. The running stack watches it (the local
"update endpoint"); the next ``make local`` starts from it while the dataset is the same."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

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
