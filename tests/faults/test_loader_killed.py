"""Fault 3: ``python -m lambdas.ops.load`` killed (SIGKILL) midway through a version, then rerun,
against a moto server. Meanwhile the previous version stays active and readable; the rerun
finishes the load and only then switches."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.store.dynamodb import Store
from lambdas.store.loader import Tables, active, loaded
from local import aws
from local.ports import free_port
from tests.conftest import REPO_ROOT
from tests.faults.conftest import count_version

PREFIX = "musicrec-kill"
KILL_AFTER = 400  # items of the new version written when the loader is killed (of ~3,200)


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server of this module's own, with the stack's tables (local/aws.py)."""
    port = free_port()
    child, _ = aws.start(tmp_path_factory.mktemp("moto") / "aws.log", port)
    url = f"http://{aws.HOST}:{port}"
    try:
        aws.ensure_resources(PREFIX, "musicrec-kill-data", url)
        yield url
    finally:
        if child:
            child.stop()


def _loader(moto_url: str, version_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": aws.REGION,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    command = [sys.executable, "-m", "lambdas.ops.load", "--batch", str(version_dir),
               "--table-prefix", PREFIX, "--no-progress"]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _tables(moto_url: str) -> Tables:
    dynamodb = aws.client("dynamodb", moto_url, kind="resource")
    return Tables(dynamodb.Table(f"{PREFIX}-lists"), dynamodb.Table(f"{PREFIX}-state"))


def _a_listener(version_dir: Path) -> str:
    path = next((version_dir / "personal").glob("*.gz"))
    with gzip.open(path, "rt") as handle:
        return str(json.loads(handle.readline())["user_id"])


def _manifest(version_dir: Path) -> dict[str, Any]:
    return dict(json.loads((version_dir / "manifest.json").read_text()))


def _records(version_dir: Path) -> int:
    return sum(int(listing["records"]) for listing in _manifest(version_dir)["families"].values())


def test_a_loader_killed_midway_changes_nothing_readers_see_and_a_rerun_completes(
    moto_url, small_version
):
    v1, v2 = small_version("v1"), small_version("v2")
    tables = _tables(moto_url)
    first = _loader(moto_url, v1)
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    store = Store({"lists": tables.lists, "state": tables.state}, cache_seconds=0)
    listener = _a_listener(v1)
    before = store.record("personal", listener)
    assert before is not None

    victim = _loader(moto_url, v2)
    while (written := count_version(tables.lists, "v2")) < KILL_AFTER and victim.poll() is None:
        time.sleep(0.2)
    victim.kill()  # SIGKILL: no cleanup, no except block, nothing
    victim.wait(timeout=30)
    partial = count_version(tables.lists, "v2")
    print(f"loader killed after {written} items; {partial} of {_records(v2)} items of v2 written")
    assert victim.returncode == -9
    assert 0 < partial < _records(v2)
    assert active(tables)["version"] == "v1"  # readers still see the previous version...
    assert store.active_version() == "v1"
    assert store.record("personal", listener) == before  # ...and all of it

    rerun = _loader(moto_url, v2)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "active version: v2 (previous: v1)" in out
    assert count_version(tables.lists, "v2") == _records(v2)
    files = [f for listing in _manifest(v2)["families"].values() for f in listing["files"]]
    assert set(loaded(tables, "v2")) == {f["path"] for f in files}  # one marker per file
    assert store.active_version() == "v2"
    assert store.record("personal", listener, "v1") == before  # kept for a rollback
