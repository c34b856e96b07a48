"""The store's caches: availability and the active version are at most ``cache_seconds`` old;
a version's records are read once."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from lambdas.store import keys
from lambdas.store.dynamodb import Store
from lambdas.store.lru import Lru
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


def test_recent_events_are_the_latest_with_only_what_reranking_reads(tables):
    events = boto3.resource("dynamodb").Table(f"{PREFIX}-events")
    store = Store({"events": events})
    for n, kind in enumerate(["play", "follow", "skip"]):
        event = {"event_id": f"e{n}", "user_id": "u1", "type": kind, "ts": 1000 + n}
        store.put_event({**event, "item_id": f"s{n}", "artist_id": f"a{n}", "experiment": "x"})

    latest = store.recent_events("u1", limit=2)

    assert latest == [{"type": "skip", "item_id": "s2", "artist_id": "a2"},
                      {"type": "follow", "item_id": "s1", "artist_id": "a1"}]  # fmt: skip


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


def _lists_with(records: dict[str, dict]):
    lists = boto3.resource("dynamodb").Table(f"{PREFIX}-lists")
    for key, doc in records.items():
        lists.put_item(
            Item={"pk": keys.list_pk("similar-items", "v1", key), "doc": json.dumps(doc)}
        )
    return lists


def _count_calls(table) -> list[str]:
    calls: list[str] = []
    table.meta.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **kw: calls.append(model.name)
    )
    return calls


def test_records_of_a_version_are_read_once(tables):
    lists = _lists_with({"i1": {"ids": ["i2"]}, "i2": {"ids": ["i1"]}})
    store = Store({"lists": lists})
    calls = _count_calls(lists)
    assert store.records("similar-items", ["i1", "nope"], version="v1") == {"i1": {"ids": ["i2"]}}
    assert store.records("similar-items", ["i1", "i2", "nope"], version="v1") == {
        "i1": {"ids": ["i2"]},
        "i2": {"ids": ["i1"]},
    }
    assert store.record("similar-items", "nope", version="v1") is None
    assert store.record("similar-items", "i2", version="v1") == {"ids": ["i1"]}
    assert calls == ["BatchGetItem", "BatchGetItem"]  # only i2 was new the second time
    assert store.records("similar-items", ["i1"], version="v2") == {}  # another version: read
    assert calls[-1] == "BatchGetItem"
    assert len(calls) == 3


def test_unprocessed_keys_are_retried_and_never_cached_as_missing(tables, monkeypatch):
    monkeypatch.setattr("lambdas.store.dynamodb.BATCH_GET_RETRIES", 1)
    monkeypatch.setattr("lambdas.store.dynamodb.time.sleep", lambda s: None)
    lists = _lists_with({"i1": {"ids": ["i2"]}})
    name = lists.name
    throttled = {"left": 2}

    def unprocessed(params, **kwargs):
        if throttled["left"] == 0:
            return None  # on to DynamoDB
        throttled["left"] -= 1
        keys_ = json.loads(params["body"])["RequestItems"][name]["Keys"]
        body = {"Responses": {name: []}, "UnprocessedKeys": {name: {"Keys": keys_}}}
        return AWSResponse("https://dynamodb", 200, {}, None), body

    lists.meta.client.meta.events.register("before-call.dynamodb.BatchGetItem", unprocessed)
    store = Store({"lists": lists})
    assert store.records("similar-items", ["i1"], version="v1") == {}  # gave up after 1 retry
    assert store.records("similar-items", ["i1"], version="v1") == {"i1": {"ids": ["i2"]}}


def test_lru_keeps_the_most_recently_used():
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert ("a" in lru, "b" in lru, "c" in lru) == (True, False, True)
    assert len(lru) == 2
    none: Lru[str, int] = Lru(0)
    none.put("a", 1)
    assert "a" not in none
    with pytest.raises(KeyError):
        lru.get("b")


def test_an_event_id_is_stored_once_even_with_another_timestamp(tables):
    """A client's retry may carry a new ``ts``: the event_id alone decides (a second item under
    another sort key would count the play twice)."""
    events = boto3.resource("dynamodb").Table(f"{PREFIX}-events")
    store = Store({"events": events})
    play = {"event_id": "e1", "user_id": "u1", "type": "play", "item_id": "s1", "ts": 1000}
    assert store.put_event(play) is True
    assert store.put_event({**play, "ts": 2000}) is False
    assert store.put_event({**play, "event_id": "e2", "ts": 2000}) is True
    pk = keys.user_events_pk("u1")
    listed = events.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk})[
        "Items"
    ]
    assert sorted(item["event_id"] for item in listed) == ["e1", "e2"]


def test_a_failure_other_than_a_duplicate_is_raised_not_taken_for_a_duplicate(tables):
    store = Store({"events": boto3.resource("dynamodb").Table(f"{PREFIX}-events-missing")})
    play = {"event_id": "e1", "user_id": "u1", "type": "play", "item_id": "s1", "ts": 1000}
    with pytest.raises(ClientError):
        store.put_event(play)
