"""Local AWS: a moto server on 127.0.0.1:4566, or the LocalStack that already answers there, with
the tables and the bucket the CDK stacks create (same names and keys)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from lambdas.tables import TABLES, create_table_request
from local.processes import Child, port_answers

HOST, PORT = "127.0.0.1", 4566
URL = f"http://{HOST}:{PORT}"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def is_localstack(url: str = URL) -> bool:
    """Whether LocalStack answers at ``url`` (its health endpoint names its services)."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2) as response:
            return "services" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def start(log: Path, port: int = PORT) -> tuple[Child | None, str]:
    """Use what answers on ``port`` (LocalStack, or a moto server left running), else start
    a moto server there."""
    url = f"http://{HOST}:{port}"
    if port_answers(HOST, port):
        return None, "localstack" if is_localstack(url) else "existing server"
    command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    child = Child("moto", command, log)
    child.wait_http(f"{url}/moto-api/", 60)
    return child, "moto"


def client(service: str, url: str = URL, kind: str = "client") -> Any:
    """A boto3 client (or resource) for local AWS; through localstack-client when it is there."""
    if url == URL and is_localstack(url):
        from localstack_client.session import Session

        session = Session(region_name=REGION)
        return session.client(service) if kind == "client" else session.resource(service)
    import boto3

    factory = boto3.client if kind == "client" else boto3.resource
    return factory(service, endpoint_url=url, region_name=REGION, **CREDENTIALS)


def ensure_resources(prefix: str, bucket: str, url: str = URL) -> None:
    """Create the tables (with TTL) and the bucket unless they exist."""
    dynamodb = client("dynamodb", url)
    existing = set(dynamodb.list_tables()["TableNames"])
    for spec in TABLES:
        name = spec.physical_name(prefix)
        if name in existing:
            continue
        dynamodb.create_table(**create_table_request(spec, prefix))
        if spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
    s3 = client("s3", url)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
