"""The Store against moto: the items it writes and reads back for the API (records of the active
version, the catalogue, availability, profiles, events, counters) and what it caches."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import boto3
import pytest

from lambdas.store import keys
from lambdas.store.dynamodb import EVENT_TTL_DAYS, RERANK_FIELDS, Mark, NoActiveVersionError, Store
from tests.lambdas.conftest import PREFIX


def _tables() -> dict:
    resource = boto3.resource("dynamodb")
    return {
        name: resource.Table(f"{PREFIX}-{name}")
        for name in ("lists", "state", "events", "experiments")
    }


def _calls(table) -> list[str]:
    """The operations made on ``table`` from now on."""
    calls: list[str] = []

    def record(params, model, **kwargs):
        if table.name in (params.get("TableName"), *params.get("RequestItems", {})):
            calls.append(model.name)

    table.meta.client.meta.events.register("before-parameter-build.dynamodb.*", record)
    return calls


@pytest.fixture
def now() -> dict[str, float]:
    """The store's clock: ``now["t"]`` seconds."""
    return {"t": 5000.0}


@pytest.fixture
def store(tables, now) -> Store:
    return Store(_tables(), cache_seconds=30, clock=lambda: now["t"])


def _list(store: Store, family: str, version: str, key: str, doc: dict) -> None:
    store.tables["lists"].put_item(
        Item={"pk": keys.list_pk(family, version, key), "doc": json.dumps(doc)}
    )


def test_no_active_version_is_an_error_until_one_is_switched_to(store):
    with pytest.raises(NoActiveVersionError, match=r"^no batch version is active yet$"):
        store.active_version()
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v7"})
    assert store.active_version() == "v7"  # the missing version was not cached


def test_a_record_of_the_active_version_is_read_once(store):
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v2"})
    _list(store, "personal", "v2", "u1", {"ids": ["s1"], "scores": [0.5]})
    _list(store, "personal", "v1", "u1", {"ids": ["old"], "scores": [0.1]})
    calls = _calls(store.tables["lists"])
    assert store.record("personal", "u1") == {"ids": ["s1"], "scores": [0.5]}
    assert store.record("personal", "u1") == {"ids": ["s1"], "scores": [0.5]}
    assert store.record("personal", "u1", version="v1") == {"ids": ["old"], "scores": [0.1]}
    assert calls == ["GetItem", "GetItem"]
    assert store.record("personal", "nobody") is None
    assert store.record("personal", "nobody") is None  # a miss is cached too
    assert calls == ["GetItem", "GetItem", "GetItem"]


def test_catalogue_entries_by_id_and_kind(store):
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v1"})
    _list(store, "catalog", "v1", "item#s1", {"kind": "item", "id": "s1", "title": "One"})
    _list(store, "catalog", "v1", "artist#a1", {"kind": "artist", "id": "a1", "name": "Ann"})
    _list(store, "catalog", "v1", "artist#s1", {"kind": "artist", "id": "s1", "name": "Same"})
    assert store.catalog(["s1", "s2"]) == {"s1": {"kind": "item", "id": "s1", "title": "One"}}
    assert store.catalog(["a1", "s1"], kind="artist") == {
        "a1": {"kind": "artist", "id": "a1", "name": "Ann"},
        "s1": {"kind": "artist", "id": "s1", "name": "Same"},
    }


def test_an_availability_change_is_recorded_with_its_time(store, now):
    store.set_availability("s1", False)
    item = store.tables["state"].get_item(Key=keys.availability("s1"))["Item"]
    assert item == {"pk": "availability", "sk": "item#s1", "available": False, "at": 5000}
    now["t"] = 6000.5
    store.set_availabilities({"s2": False, "s3": True})
    items = store.tables["state"].query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "availability"}
    )["Items"]
    assert sorted(items, key=lambda i: i["sk"]) == [
        {"pk": "availability", "sk": "item#s1", "available": False, "at": 5000},
        {"pk": "availability", "sk": "item#s2", "available": False, "at": 6000},
        {"pk": "availability", "sk": "item#s3", "available": True, "at": 6000},
    ]
    assert store.availability_overrides() == {"s1": False, "s2": False, "s3": True}


def test_the_stores_own_changes_are_seen_at_once_anothers_after_the_cache(store, now):
    other = Store(store.tables)
    assert store.unavailable() == frozenset()
    other.set_availability("s1", False)
    assert store.unavailable() == frozenset()  # cached for 30 s
    store.set_availability("s2", False)  # its own change drops the cache
    assert store.unavailable() == frozenset({"s1", "s2"})
    other.set_availabilities({"s1": True})
    now["t"] += 29.9
    assert store.unavailable() == frozenset({"s1", "s2"})
    store.set_availabilities({"s3": False})
    assert store.unavailable() == frozenset({"s2", "s3"})


def test_the_cache_keeps_each_value_apart(store):
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v1"})
    store.set_availability("s1", False)
    assert store.active_version() == "v1"
    assert store.unavailable() == frozenset({"s1"})
    assert store.active_version() == "v1"
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v2"})
    store.set_availability("s2", False)  # drops the availability cache, not the version's
    assert store.active_version() == "v1"
    assert store.unavailable() == frozenset({"s1", "s2"})


def test_availability_is_read_past_a_page(store):
    long = "x" * 1000  # 1,100 items of 1 KB: two pages of 1 MB
    store.set_availabilities({f"{n:04d}{long}": n % 2 == 0 for n in range(1100)})
    assert len(store.availability_overrides()) == 1100
    assert len(store.unavailable()) == 550
    assert f"0001{long}" in store.unavailable()


def test_a_profile_round_trips(store):
    assert store.profile("u1") is None
    store.put_profile("u1", {"genres": ["Jazz"], "source": "model"})
    assert store.profile("u1") == {
        "pk": "user#u1",
        "sk": "profile",
        "genres": ["Jazz"],
        "source": "model",
    }


def test_an_event_is_stored_under_its_listener_with_an_expiry(store):
    event = {
        "event_id": "e1",
        "user_id": "u1",
        "type": "play",
        "item_id": "s1",
        "ts": 1234,
        "artist_id": None,
    }
    assert store.put_event(event) is True
    expires = 5000 + EVENT_TTL_DAYS * 86400
    assert EVENT_TTL_DAYS == 30
    [item] = store.tables["events"].query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "user#u1"}
    )["Items"]
    assert item == {
        "pk": "user#u1",
        "sk": "0000000001234#e1",
        "event_id": "e1",
        "user_id": "u1",
        "type": "play",
        "item_id": "s1",
        "ts": 1234,
        "expires_at": expires,
    }
    marker = store.tables["events"].get_item(Key=keys.event_marker("u1", "e1"))["Item"]
    assert marker == {"pk": "event#u1|e1", "sk": "event", "expires_at": expires}


def test_recent_events_newest_first_fifty_by_default_only_what_reranking_reads(store):
    for n in range(55):
        store.put_event(
            {
                "event_id": f"e{n}",
                "user_id": "u1",
                "type": "play",
                "item_id": f"s{n}",
                "artist_id": "a1",
                "ts": 1000 + n,
            }
        )
    store.put_event({"event_id": "x", "user_id": "u2", "type": "skip", "item_id": "s0", "ts": 9})
    latest = store.recent_events("u1")
    assert RERANK_FIELDS == ("type", "item_id", "artist_id")
    assert len(latest) == 50
    assert latest[0] == {"type": "play", "item_id": "s54", "artist_id": "a1"}
    assert latest[-1]["item_id"] == "s5"
    assert store.recent_events("u1", limit=1, fields=("ts",)) == [{"ts": 1054}]
    assert store.recent_events("u2") == [{"type": "skip", "item_id": "s0"}]


def test_counters_add_up_over_their_shards(store):
    random.seed(3)
    impressions = [Mark(f"r{i}", "impression", None, ("onboarding", "model", "impressions"))
                   for i in range(40)]  # fmt: skip
    for mark in impressions:  # one transaction each: spread over the shards
        assert store.count_once_each([mark]) == [True]
    clicks = [Mark("r1", "click", f"s{i}", ("onboarding", "model", "clicks")) for i in range(5)]
    assert store.count_once_each([*clicks, clicks[0]]) == [True] * 5 + [False]  # once each
    assert store.count_once_each(clicks[:2]) == [False, False]  # a retry counts nothing again
    items = [i for i in store.tables["experiments"].scan()["Items"] if "count" in i]
    impressions_items = [i for i in items if i["sk"] == "impressions"]
    assert sum(i["count"] for i in impressions_items) == 40
    assert {i["pk"] for i in impressions_items} <= {f"onboarding#model#{s}" for s in range(8)}
    assert len(impressions_items) > 1  # spread over shards
    [clicks_item] = [i for i in items if i["sk"] == "clicks"]
    assert clicks_item["count"] == Decimal(5)  # one transaction: one shard
    assert set(clicks_item) == {"pk", "sk", "count"}
    marked = store.tables["experiments"].get_item(Key=keys.counted("r1", "click", "s0"))["Item"]
    assert set(marked) == {"pk", "sk", "expires_at"}


def test_a_counting_transaction_over_many_marks_is_split(store):
    marks = [Mark("r", "impression", f"s{i}", ("onboarding", "rules", "impressions"))
             for i in range(200)]  # fmt: skip
    assert store.count_once_each(marks) == [True] * 200  # 90 marks and their counter at a time
    items = [i for i in store.tables["experiments"].scan()["Items"] if "count" in i]
    assert sum(i["count"] for i in items) == 200


def test_cached_values_last_thirty_seconds_by_default(tables, now):
    store = Store(_tables(), clock=lambda: now["t"])
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v1"})
    assert store.active_version() == "v1"
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v2"})
    now["t"] += 29.9
    assert store.active_version() == "v1"
    now["t"] += 0.1
    assert store.active_version() == "v2"


def test_a_catalogue_id_may_hold_a_hash(store):
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v1"})
    _list(store, "catalog", "v1", "item#x#1", {"id": "x#1"})
    assert store.catalog(["x#1"]) == {"x#1": {"id": "x#1"}}


def test_unprocessed_keys_are_retried_after_a_short_jittered_wait(store, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("lambdas.store.retry.time.sleep", waits.append)
    store.tables["state"].put_item(Item={**keys.ACTIVE, "version": "v1"})
    _list(store, "personal", "v1", "u1", {"ids": []})
    lists = store.tables["lists"]
    answers = {"n": 0}

    def throttle_once(parsed, **kwargs):
        answers["n"] += 1
        if answers["n"] == 1:
            keys_ = [{"pk": {"S": keys.list_pk("personal", "v1", "u1")}}]
            parsed["Responses"] = {}  # nothing read, and no entry for the table at all
            parsed["UnprocessedKeys"] = {lists.name: {"Keys": keys_}}
        else:
            parsed.pop("UnprocessedKeys", None)  # DynamoDB may leave the field out

    lists.meta.client.meta.events.register("after-call.dynamodb.BatchGetItem", throttle_once)
    assert store.records("personal", ["u1", "u2"]) == {"u1": {"ids": []}}
    assert answers["n"] == 2
    assert len(waits) == 1
    assert 0 <= waits[0] <= 0.01
