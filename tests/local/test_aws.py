"""Local AWS on a moto server: started, the resources created as the CDK stacks name them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lambdas.store.tables import TABLES
from local import aws
from local.ports import free_port


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


class _Health(BaseHTTPRequestHandler):
    """What LocalStack's health endpoint answers (LocalStack itself is not installed here)."""

    def do_GET(self):
        body = json.dumps({"services": {"dynamodb": "running", "s3": "running"}}).encode()
        self.send_response(200 if self.path == "/_localstack/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_localstack_already_on_the_port_is_used_not_replaced(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert aws.is_localstack(f"http://127.0.0.1:{port}")
        assert aws.start(tmp_path / "aws.log", port) == (None, "localstack")
        assert not (tmp_path / "aws.log").exists()  # no moto started
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_local_aws_is_a_clear_error():
    port = free_port()
    with pytest.raises(aws.AwsError, match=f"local AWS at http://127.0.0.1:{port}"):
        aws.ensure_resources("musicrec-x", "musicrec-x-data", f"http://127.0.0.1:{port}")
