"""What the bench tests read from the session's local stack (its 3,000-listener world's model and
batch version, computed once for every package), so they add no training run of their own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from local.stack import Stack

#: The family of the trimmed version the load tests write (773 of the version's 24k records).
LOAD_FAMILIES = ("personal",)


@pytest.fixture(scope="session")
def stack_version(stack: Stack) -> Path:
    """The stack's batch version (its manifest has the evaluation's ``metrics``)."""
    manifests = sorted((stack.dir / "batch").glob("*/manifest.json"))
    assert manifests, f"no batch version under {stack.dir / 'batch'}"
    return manifests[0].parent


@pytest.fixture(scope="session")
def stack_metrics(stack: Stack) -> dict:
    """The stack's onboarding model's metrics.json (written by ``training.model.train``)."""
    return dict(json.loads((stack.dir / "model" / "metrics.json").read_text()))


@pytest.fixture(scope="session")
def small_version(stack_version: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the stack's version with only :data:`LOAD_FAMILIES` (files and manifest)."""
    manifest = json.loads((stack_version / "manifest.json").read_text())
    out = tmp_path_factory.mktemp("bench-lists") / manifest["version"]
    families = {name: manifest["families"][name] for name in LOAD_FAMILIES}
    for listing in families.values():
        for entry in listing["files"]:
            (out / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stack_version / entry["path"], out / entry["path"])
    (out / "manifest.json").write_text(json.dumps({**manifest, "families": families}))
    return out
