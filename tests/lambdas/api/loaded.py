"""A batch version loaded into moto tables with the handlers' environment pointing at them, and a
fake onboarding model that records what it is asked: for handler tests that need real lists but
not the real model (tests/lambdas/api/test_routes.py runs the real one)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.logic.services import services
from lambdas.store.batch_source import BatchSource
from lambdas.store.loader import Tables, load_version
from lambdas.store.tables import TABLES, create_table_request, table
from tests.lambdas.conftest import PREFIX
from tests.lambdas.events import FakeContext, api_event

ONBOARDING = "/v1/onboarding/recommendations"


@dataclass
class FakeModel:
    """An HTTP server answering SageMaker invocations with ``genres``; ``asked`` holds the
    request bodies it received."""

    genres: list[str]
    asked: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def running(self) -> Iterator[FakeModel]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                model.asked.append(json.loads(self.rfile.read(length)))
                scores = [{"genre": g, "score": 1.0 / (i + 1)} for i, g in enumerate(model.genres)]
                body = json.dumps({"genres": scores, "model_version": "fake-1"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


@dataclass
class Loaded:
    """What a test gets: the tables, the model and the batch version directory."""

    tables: Tables
    model: FakeModel
    version_dir: Path
    mp: pytest.MonkeyPatch


@contextmanager
def handler_tables(
    version_dir: Path, model_url: str | None = None
) -> Iterator[tuple[Tables, pytest.MonkeyPatch]]:
    """moto tables (in-process) with ``version_dir`` loaded and active, and the handlers'
    environment pointing at them (and at the onboarding model at ``model_url``, if given)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "CACHE_SECONDS": "0",
            "POWERTOOLS_METRICS_NAMESPACE": "musicrec",
            **{spec.env_var: spec.physical_name(PREFIX) for spec in TABLES},
        }.items():
            mp.setenv(key, value)
        if model_url:
            mp.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", model_url)
        with mock_aws():
            client = boto3.client("dynamodb")
            for spec in TABLES:
                client.create_table(**create_table_request(spec, PREFIX))
            resource = boto3.resource("dynamodb")
            tables = Tables(
                resource.Table(table("lists").physical_name(PREFIX)),
                resource.Table(table("state").physical_name(PREFIX)),
            )
            load_version(BatchSource(str(version_dir)), tables, progress=False)
            services.cache_clear()
            try:
                yield tables, mp
            finally:
                services.cache_clear()


@contextmanager
def loaded(version_dir: Path, model: FakeModel) -> Iterator[Loaded]:
    """:func:`handler_tables` with the fake onboarding ``model`` answering."""
    with model.running(), handler_tables(version_dir, model.url) as (tables, mp):
        yield Loaded(tables, model, version_dir, mp)


def call(handler: Any, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, dict]:
    response = handler.lambda_handler(api_event(method, path, body, **kwargs), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def user_with(variant: str) -> str:
    """A listener id the onboarding experiment assigns to ``variant``."""
    svc = services()
    return next(f"new-{i}" for i in range(1000) if svc.variant(f"new-{i}") == variant)


def catalog_records(version_dir: Path) -> list[dict[str, Any]]:
    """Every record of the version's catalog family."""
    found = []
    for path in sorted((version_dir / "catalog").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as handle:
            found += [json.loads(line) for line in handle]
    return found


def the_vocabulary(version_dir: Path) -> dict[str, Any]:
    [record] = [r for r in catalog_records(version_dir) if r["kind"] == "vocabulary"]
    return record


def without_vocabulary(version_dir: Path, out: Path) -> Path:
    """A copy of a version as batch runs wrote it before the vocabulary record (its catalog files
    and manifest rewritten), named ``out``'s last part."""
    shutil.copytree(version_dir, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = out.name
    family = manifest["families"]["catalog"]
    for entry in family["files"]:
        path = out / entry["path"]
        with gzip.open(path, "rt") as handle:
            kept = [line for line in handle if json.loads(line)["kind"] != "vocabulary"]
        data = gzip.compress("".join(kept).encode())
        path.write_bytes(data)
        entry["records"], entry["sha256"] = len(kept), hashlib.sha256(data).hexdigest()
    family["records"] = sum(entry["records"] for entry in family["files"])
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out
