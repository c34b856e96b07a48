"""Local AWS: a moto server on 127.0.0.1:4566, or the LocalStack that already answers there, with
the tables and the bucket the CDK stacks create (same names and keys)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.store.tables import TABLES, create_table_request
from local.processes import Child, port_answers

HOST, PORT = "127.0.0.1", 4566
URL = f"http://{HOST}:{PORT}"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# Local calls are fast or broken: short timeouts, few retries, so a dead endpoint fails quickly.
CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
)
STARTUP_TIMEOUT_S = 60


class AwsError(RuntimeError):
    """Local AWS that does not answer, or refuses to create what the stack needs."""


def is_localstack(url: str = URL) -> bool:
    """Whether LocalStack answers at ``url`` (its health endpoint names its services)."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2) as response:
            document = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "services" in document


def start(log: Path, port: int = PORT) -> tuple[Child | None, str]:
    """Use what answers on ``port`` (LocalStack, or a moto server left running), else start
    a moto server there (:mod:`local.moto_server`: moto whose transactions copy only the items
    they write). Returns the child started (None when one was there) and its kind."""
    url = f"http://{HOST}:{port}"
    if port_answers(HOST, port):
        return None, "localstack" if is_localstack(url) else "existing server"
    command = [sys.executable, "-m", "local.moto_server", "-H", HOST, "-p", str(port)]
    child = Child("moto", command, log)
    child.wait_http(f"{url}/moto-api/", STARTUP_TIMEOUT_S)
    return child, "moto"


def client(service: str, url: str = URL, kind: str = "client") -> Any:
    """A boto3 client (or resource) for local AWS; through localstack-client when LocalStack
    answers on its default port, else pointed at ``url``."""
    if url == URL and is_localstack(url):
        from localstack_client.session import Session

        session = Session(region_name=REGION)
        make = session.client if kind == "client" else session.resource
        return make(service, config=CLIENT_CONFIG)
    import boto3

    factory = boto3.client if kind == "client" else boto3.resource
    return factory(
        service, endpoint_url=url, region_name=REGION, config=CLIENT_CONFIG, **CREDENTIALS
    )


def ensure_resources(prefix: str, bucket: str, url: str = URL) -> None:
    """Create the tables (with TTL) and the bucket unless they exist."""
    try:
        dynamodb = client("dynamodb", url)
        existing = set(dynamodb.list_tables()["TableNames"])
        for spec in TABLES:
            name = spec.physical_name(prefix)
            if name in existing:
                continue
            dynamodb.create_table(**create_table_request(spec, prefix))
            dynamodb.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            if spec.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
                )
        s3 = client("s3", url)
        if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as exc:
        raise AwsError(f"local AWS at {url}: {exc}") from exc


def count_items(table: Any, **scan: Any) -> int:
    """The number of items in a table, or of those a scan's ``FilterExpression`` keeps (a
    paginated COUNT scan: for tests and benchmarks, never for the API)."""
    total, kwargs = 0, {**scan, "Select": "COUNT"}
    while True:
        page = table.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
