"""The handlers against in-process moto with batch version v1 loaded (as tests/lambdas sets them
up), and helpers to call them as API Gateway would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr

from lambdas.logic.services import services
from local.aws import count_items
from tests.lambdas.api.loaded import handler_tables
from tests.lambdas.conftest import batch_root
from tests.lambdas.events import FakeContext, api_event

__all__ = ["batch_root"]  # the session fixture, shared with tests/lambdas

ANSWERS = {"age": 24, "gender": "f", "region": "us-tx", "selected_genres": ["Hip Hop", "R&B"]}
ONBOARDING = "/v1/onboarding/recommendations"


@pytest.fixture(scope="package")
def api(batch_root: Path) -> Iterator[None]:
    """In-process moto tables with v1 loaded, and the handlers' environment pointing at them,
    for the whole package (loading v1 takes a while). Tests change the environment with
    ``monkeypatch`` (undone after each test, when :func:`fresh_services` clears the cache)."""
    with handler_tables(batch_root / "v1"):
        yield


@pytest.fixture(autouse=True)
def fresh_services() -> Iterator[None]:
    """Each test's handlers read the environment afresh (a container per test)."""
    services.cache_clear()
    yield
    services.cache_clear()


def call(handler: Any, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    """Invoke a Lambda handler with the proxy event of ``method path``; status and JSON body."""
    response = handler.lambda_handler(api_event(method, path, body), FakeContext())
    return int(response["statusCode"]), json.loads(response["body"])


def user_with(variant: str, prefix: str = "fault") -> str:
    """A new listener id the onboarding experiment assigns to ``variant``."""
    svc = services()
    return next(f"{prefix}-{i}" for i in range(1000) if svc.variant(f"{prefix}-{i}") == variant)


SMALL_FAMILIES = ("personal", "artists", "similar-artists")


@pytest.fixture(scope="session")
def small_version(
    batch_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A batch version (``v1``, ``v2``) cut to three families (about 3,200 records, an eighth of
    the whole), so loading it several times stays quick; its files and checksums are untouched."""
    root = tmp_path_factory.mktemp("small-lists")

    def make(version: str) -> Path:
        out = root / version
        if not (out / "manifest.json").is_file():
            manifest = json.loads((batch_root / version / "manifest.json").read_text())
            manifest["families"] = {f: manifest["families"][f] for f in SMALL_FAMILIES}
            for family in SMALL_FAMILIES:
                shutil.copytree(batch_root / version / family, out / family)
            (out / "manifest.json").write_text(json.dumps(manifest))
        return out

    return make


def count_version(lists: Any, version: str, family: str | None = None) -> int:
    """Items of a version (of one family, or all) in the lists table (a scan: for tests only)."""
    pk = Attr("pk")
    where = pk.begins_with(f"{family}#{version}#") if family else pk.contains(f"#{version}#")
    return count_items(lists, FilterExpression=where)
