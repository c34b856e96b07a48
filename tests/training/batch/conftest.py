"""One batch version computed on the session's small world, shared by the batch tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from training.batch.params import BatchParams
from training.batch.run import run

# A longer holdout than the default gives the 3,000-listener world enough evaluation users.
PARAMS = BatchParams(n=30, holdout_days=28, eval_users=5000)


def records(version_dir: Path, family: str) -> Iterator[dict[str, Any]]:
    """Every record of one family, read back from its files."""
    for path in sorted((version_dir / family).glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as handle:
            for line in handle:
                yield json.loads(line)


@pytest.fixture(scope="session")
def batch_version(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    version_dir = tmp_path_factory.mktemp("batch") / "v1"
    version_dir.mkdir()
    run(small_world, version_dir, PARAMS, progress=False)
    return version_dir


@pytest.fixture(scope="session")
def manifest(batch_version: Path) -> dict[str, Any]:
    return json.loads((batch_version / "manifest.json").read_text())
