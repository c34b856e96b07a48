"""One batch version computed on the session's small world, shared by the batch tests."""

from __future__ import annotations

import datetime
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
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


def world_before(world: Path, out: Path, days: int) -> Path:
    """A copy of ``world`` without its last ``days`` days of interactions: the data an older
    batch version was computed from."""
    shutil.copytree(world, out)
    table = pq.read_table(world / "interactions.parquet")
    end = pc.subtract(pc.max(table["ts"]), pa.scalar(datetime.timedelta(days=days)))
    pq.write_table(table.filter(pc.less_equal(table["ts"], end)), out / "interactions.parquet")
    return out


@pytest.fixture(scope="session")
def batch_version(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    version_dir = tmp_path_factory.mktemp("batch") / "v1"
    version_dir.mkdir()
    run(small_world, version_dir, PARAMS, progress=False)
    return version_dir


@pytest.fixture(scope="session")
def manifest(batch_version: Path) -> dict[str, Any]:
    return json.loads((batch_version / "manifest.json").read_text())
