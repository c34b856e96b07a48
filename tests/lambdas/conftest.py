"""moto-backed tables and a real batch version for the lambdas tests."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lambdas.store.loader import Tables
from lambdas.store.tables import TABLES, create_table_request, table
from training.batch.params import BatchParams
from training.batch.run import run

PREFIX = "musicrec-test"


@pytest.fixture(scope="session")
def batch_root(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two versions of batch lists computed from the small world (v1 and v2)."""
    root = tmp_path_factory.mktemp("lists")
    for version in ("v1", "v2"):
        run(small_world, root / version, BatchParams(n=10, eval_users=0), progress=False)
    return root


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def tables(aws) -> Tables:
    client = boto3.client("dynamodb")
    for spec in TABLES:
        client.create_table(**create_table_request(spec, PREFIX))
    resource = boto3.resource("dynamodb")
    return Tables(
        lists=resource.Table(table("lists").physical_name(PREFIX)),
        state=resource.Table(table("state").physical_name(PREFIX)),
    )
