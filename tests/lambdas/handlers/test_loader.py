"""The loader's Lambda handler as the state machine calls it: one S3 object per Distributed Map
iteration (manifests skipped), then the switch."""

from __future__ import annotations

import boto3
import pytest

from lambdas.handlers import loader
from lambdas.store.loader import active
from tests.lambdas.conftest import PREFIX
from tests.lambdas.events import FakeContext


def test_state_machine_contract(batch_root, tables, monkeypatch):
    monkeypatch.setenv("TABLE_LISTS", f"{PREFIX}-lists")
    monkeypatch.setenv("TABLE_STATE", f"{PREFIX}-state")
    loader._clients.cache_clear()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    version = batch_root / "v1"
    keys = []
    for path in sorted(p for p in version.rglob("*") if p.is_file()):
        key = f"batch/v1/{path.relative_to(version).as_posix()}"
        s3.upload_file(str(path), "data", key)
        keys.append(key)
    batch = "s3://data/batch/v1"
    with pytest.raises(Exception, match="not loaded"):
        loader.lambda_handler({"action": "switch", "batch": batch}, FakeContext())
    results = [loader.lambda_handler({"action": "load-file", "batch": batch, "key": key},
                                     FakeContext()) for key in keys]  # fmt: skip
    assert [r["path"] for r in results if r.get("skipped")] == ["manifest.json"]
    assert sum(r.get("records", 0) for r in results) > 0
    pointer = loader.lambda_handler({"action": "switch", "batch": batch}, FakeContext())
    assert pointer["version"] == "v1"
    assert active(tables)["version"] == "v1"
    with pytest.raises(ValueError, match="key"):
        loader.lambda_handler({"action": "load-file", "batch": batch, "key": "elsewhere/x"},
                              FakeContext())  # fmt: skip
    loader._clients.cache_clear()
