"""The DynamoDB load benchmark at tiny size: every record lands in every mode, requests counted."""

from __future__ import annotations

import math
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bench.dynamodb_load import (
    NAIVE,
    LoadRun,
    compare,
    create_tables,
    item_bytes,
    markdown,
    plot,
    timed_load,
    version_items,
)
from lambdas.store.batch_source import BatchSource


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.resource("dynamodb")


def test_every_record_lands_in_every_mode_and_requests_are_counted(
    small_version: Path, dynamodb, tmp_path: Path
) -> None:
    source = BatchSource(str(small_version))
    manifest = source.manifest()
    files = [entry for listing in manifest["families"].values() for entry in listing["files"]]
    records = sum(entry["records"] for entry in files)
    batches = sum(math.ceil(entry["records"] / 25) for entry in files)

    runs = compare(source, dynamodb, workers=4)

    assert [(r.mode, r.workers) for r in runs] == [
        ("BatchWriteItem loader", 4),
        ("BatchWriteItem loader", 1),
        (NAIVE, 1),
    ]
    for run in runs:
        assert run.records == run.stored == records
    for loader in runs[:2]:
        assert loader.requests["BatchWriteItem"] == batches  # moto processes every item
        assert loader.requests["PutItem"] == len(files) + 1  # a marker per file, the switch
        assert "BatchWriteItem" not in runs[2].requests
    assert runs[2].requests == {"PutItem": records}
    assert runs[2].write_requests == records
    assert runs[0].write_requests == batches

    total = sum(item_bytes(item) for item in version_items(source))
    text = markdown(runs, total, "python -m bench.dynamodb_load --users 3000", "one family")
    assert f"| {NAIVE} | 1 | {records:,} | {records:,} |" in text
    assert f"{records / batches:.0f}× fewer write requests" in text
    assert plot(runs, tmp_path / "load.png").stat().st_size > 0


def test_item_bytes_counts_names_and_values() -> None:
    assert item_bytes({"pk": "ab", "doc": "é"}) == 2 + 2 + 3 + 2
    assert item_bytes({"expires_at": 1234}) == 10 + 3


def test_projection_keeps_the_workers_in_flight() -> None:
    loader = LoadRun("BatchWriteItem loader", 8, 1000, 1.0, {"BatchWriteItem": 40})
    naive = LoadRun(NAIVE, 1, 1000, 10.0, {"PutItem": 1000})
    assert loader.projected_seconds(10) == pytest.approx(0.05)  # 5 rounds of 8 requests
    assert naive.projected_seconds(5) == pytest.approx(5.0)
    sample = LoadRun(NAIVE, 1, 100, 1.0, {"PutItem": 100}, stored=100, version_records=1000)
    assert sample.version_requests == 1000  # one request per item of the whole version
    assert loader.items_per_s == 1000
    assert naive.items_per_s == 100


def test_the_naive_loop_can_write_a_sample(small_version: Path, dynamodb) -> None:
    tables = create_tables(dynamodb, "sample")
    run = timed_load(BatchSource(str(small_version)), tables, NAIVE, 1, limit=50)
    assert (run.records, run.stored, run.requests) == (50, 50, {"PutItem": 50})
    assert run.version_requests == run.version_records > 50
