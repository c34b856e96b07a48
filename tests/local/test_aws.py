"""Local AWS on a moto server: started, the resources created as the CDK stacks name them."""

from __future__ import annotations

from lambdas.tables import TABLES
from local import aws
from tests.container.conftest import free_port


def test_moto_server_starts_and_resources_are_idempotent(tmp_path):
    port = free_port()
    child, kind = aws.start(tmp_path / "aws.log", port)
    assert (kind, child is not None) == ("moto", True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert aws.start(tmp_path / "again.log", port) == (None, "existing server")
        aws.ensure_resources("musicrec-x", "musicrec-x-data", url)
        aws.ensure_resources("musicrec-x", "musicrec-x-data", url)
        dynamodb = aws.client("dynamodb", url)
        for spec in TABLES:
            described = dynamodb.describe_table(TableName=spec.physical_name("musicrec-x"))["Table"]
            keys = {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]}
            assert keys[spec.partition_key] == "HASH"
            ttl = dynamodb.describe_time_to_live(TableName=spec.physical_name("musicrec-x"))
            status = ttl["TimeToLiveDescription"]["TimeToLiveStatus"]
            assert status == ("ENABLED" if spec.ttl_attribute else "DISABLED")
        buckets = {b["Name"] for b in aws.client("s3", url).list_buckets()["Buckets"]}
        assert "musicrec-x-data" in buckets
        assert not aws.is_localstack(url)
    finally:
        child.stop()
