"""The store's caches: availability and the active version are at most ``cache_seconds`` old."""

from __future__ import annotations

import boto3

from lambdas import keys
from lambdas.store import Store
from tests.lambdas.conftest import PREFIX


def test_availability_change_is_seen_once_the_cache_expires(tables):
    now = {"t": 1000.0}
    resource = boto3.resource("dynamodb")
    state = resource.Table(f"{PREFIX}-state")
    reader = Store({"state": state}, cache_seconds=30, clock=lambda: now["t"])
    writer = Store({"state": state})
    assert reader.unavailable() == frozenset()
    writer.set_availability("i1", False)
    assert reader.unavailable() == frozenset()  # cached
    now["t"] += 30
    assert reader.unavailable() == frozenset({"i1"})
    writer.set_availability("i1", True)
    now["t"] += 30
    assert reader.unavailable() == frozenset()


def test_active_version_is_cached_and_refreshed(tables):
    now = {"t": 0.0}
    state = boto3.resource("dynamodb").Table(f"{PREFIX}-state")
    store = Store({"state": state}, cache_seconds=30, clock=lambda: now["t"])
    state.put_item(Item={**keys.ACTIVE, "version": "v1"})
    assert store.active_version() == "v1"
    state.put_item(Item={**keys.ACTIVE, "version": "v2"})
    assert store.active_version() == "v1"
    now["t"] = 31
    assert store.active_version() == "v2"
