"""Against a LocalStack on 127.0.0.1:4566, when one answers: the same tables and bucket as moto."""

from __future__ import annotations

import uuid

import pytest

from lambdas.store.tables import TABLES
from local import aws

pytestmark = pytest.mark.skipif(
    not aws.is_localstack(), reason="no LocalStack answers on 127.0.0.1:4566 (moto is the default)"
)


def test_resources_are_created_through_localstack_client():
    prefix = f"musicrec-t{uuid.uuid4().hex[:6]}"
    aws.ensure_resources(prefix, f"{prefix}-data")
    aws.ensure_resources(prefix, f"{prefix}-data")  # idempotent
    names = set(aws.client("dynamodb").list_tables()["TableNames"])
    assert {spec.physical_name(prefix) for spec in TABLES} <= names
