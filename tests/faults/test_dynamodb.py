"""Fault 2: DynamoDB throttling on reads and writes, and unprocessed BatchWriteItem items.

An event the API answered 2xx for is stored; when the API cannot store it, the caller gets a
429 (``throttled``, ``Retry-After``) and a retry of the same batch stores it exactly once."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Any

import boto3
import pytest

import lambdas.ops.load
from lambdas.handlers import events, recommendations
from lambdas.logic.services import services
from lambdas.store import keys
from lambdas.store.loader import Tables, active
from lambdas.store.tables import TABLES, create_table_request
from tests.faults.conftest import call, count_version
from tests.faults.throttle import THROTTLED, flaky_batch_writes, throttled, writes_user_events

FLAKY = "musicrec-flaky"  # the loader test's own tables


def _client() -> Any:
    """The DynamoDB client the API functions use (one per container, shared by every table)."""
    return services().store.tables["events"].meta.client


NOW_MS = int(time.time() * 1000)


def _batch(user: str, n: int) -> dict[str, Any]:
    return {
        "events": [
            {"event_id": f"{user}-e{i}", "user_id": user, "type": "play",
             "item_id": f"song-{i}", "ts": NOW_MS + i}
            for i in range(n)
        ]
    }  # fmt: skip


def _impressions(user: str, n: int) -> dict[str, Any]:
    """Impressions of the first ``n`` songs of an answer the API just issued to ``user``."""
    status, answer = call(recommendations, "GET", f"/v1/users/{user}/recommendations")
    assert status == 200, answer
    return {
        "events": [
            {"event_id": f"{user}-e{i}", "user_id": user, "type": "impression",
             "item_id": item["id"], "recommendation_id": answer["recommendation_id"]}
            for i, item in enumerate(answer["items"][:n])
        ]
    }  # fmt: skip


def _stored(user: str) -> set[str]:
    return {
        str(e["event_id"])
        for e in services().store.recent_events(user, limit=200, fields=["event_id"])
    }


def _count(metric: str, variant: str = "model") -> int:
    svc = services()
    total = 0
    for shard in range(64):
        key = keys.counter("onboarding", variant, shard, metric)
        item = svc.store.tables["experiments"].get_item(Key=key).get("Item")
        total += int(item["count"]) if item else 0
    return total


def _events_written(request: dict[str, Any], event_id: str | None = None) -> bool:
    """A TransactWriteItems storing an event (of ``event_id``, or any)."""
    items = [w.get("Put", {}).get("Item", {}) for w in request.get("TransactItems", [])]
    return any(
        writes_user_events({"Item": item})
        and (event_id is None or item.get("event_id", {}).get("S") == event_id)
        for item in items
    )


def counts(ack: dict[str, Any]) -> dict[str, Any]:
    """The events route's acknowledgement without its envelope."""
    return {k: ack[k] for k in ("accepted", "stored", "duplicates")}


def test_a_brief_throttle_is_absorbed_by_retries(api):
    with throttled(_client(), "TransactWriteItems", times=2, match=_events_written) as injected:
        status, body = call(events, "POST", "/v1/events", _batch("thr-brief", 3))
    assert injected.throttled == 2
    assert status == 200, body
    assert counts(body) == {"accepted": 3, "stored": 3, "duplicates": 0}
    assert _stored("thr-brief") == {f"thr-brief-e{i}" for i in range(3)}


LASTING = {
    # DynamoDB's throttling error: botocore retries it, then the API answers 429
    "throughput": (THROTTLED, None, 429, "throttled"),
    # a transaction cancelled for throttling: not retried by botocore, the API answers 503
    "cancelled": ("TransactionCanceledException", ["None", "ThrottlingError"], 503,
                  "dependency_unavailable"),
}  # fmt: skip


@pytest.mark.parametrize("kind", LASTING)
def test_a_lasting_throttle_is_an_error_and_the_retry_stores_every_event(api, kind):
    """Every attempt to store the batch's second event is throttled: the caller gets an error,
    never a 2xx; retrying the same batch stores each event exactly once."""
    code, reasons, status_expected, error_code = LASTING[kind]
    user = f"thr-{kind}"
    second = f"{user}-e1"
    with throttled(_client(), "TransactWriteItems", code=code, reasons=reasons,
                   match=lambda r: _events_written(r, second)) as injected:  # fmt: skip
        status, body = call(events, "POST", "/v1/events", _batch(user, 3))
    assert injected.throttled >= 1
    assert (status, body["code"]) == (status_expected, error_code), body
    assert _stored(user) == {f"{user}-e0"}  # stored before the throttle; the rest not promised
    status, body = call(events, "POST", "/v1/events", _batch(user, 3))
    assert status == 200, body
    assert counts(body) == {"accepted": 3, "stored": 2, "duplicates": 1}
    assert _stored(user) == {f"{user}-e{i}" for i in range(3)}
    assert (
        len(services().store.recent_events(user, limit=200, fields=["event_id"])) == 3
    )  # none twice


def _counts(request: dict[str, Any]) -> bool:
    """A TransactWriteItems adding to an experiment counter (with the marks it counts)."""
    return any("Update" in item for item in request.get("TransactItems", []))


def test_a_throttled_counter_is_counted_once_on_retry(api):
    """The counting transaction (marks and counters together) fails: the events are stored,
    the caller gets an error, and the retry counts each impression exactly once."""
    variant = services().variant("thr-count")
    before = _count("impressions", variant)
    batch = _impressions("thr-count", 4)
    with throttled(_client(), "TransactWriteItems", code="TransactionCanceledException",
                   reasons=["ThrottlingError"] * 5, match=_counts):  # fmt: skip
        status, body = call(events, "POST", "/v1/events", batch)
    assert status == 503, body
    status, body = call(events, "POST", "/v1/events", batch)
    assert status == 200, body
    assert _stored("thr-count") == {f"thr-count-e{i}" for i in range(4)}  # the events are kept
    assert _count("impressions", variant) - before == 4
    status, body = call(events, "POST", "/v1/events", batch)  # and a third time: still 4
    assert (status, body["counted"]) == (200, 0)
    assert _count("impressions", variant) - before == 4


def test_throttled_reads_retry_then_answer_429(api, batch_root):
    user = json.loads(
        __import__("gzip").open(next((batch_root / "v1" / "personal").glob("*.gz")), "rt")
        .readline()
    )["user_id"]  # fmt: skip
    path = f"/v1/users/{user}/recommendations"
    with throttled(_client(), "GetItem", times=2):
        status, body = call(recommendations, "GET", path)
    assert status == 200, body
    assert body["items"]
    with throttled(_client(), "GetItem"), throttled(_client(), "BatchGetItem"):
        status, body = call(recommendations, "GET", path)
    assert status == 429, body
    assert body == {"code": "throttled", "message": "too many requests, retry later"}


def test_the_loader_retries_throttles_and_unprocessed_items_and_loads_everything(
    api, small_version, monkeypatch
):
    """``python -m lambdas.ops.load`` with its own clients (adaptive retries) into tables of its
    own: one BatchWriteItem call in four is half written (the rest unprocessed), and two calls
    are throttled outright (more only slow the test: adaptive retries then cut the client's
    rate, see docs/reliability.md); every record lands, then the version switches."""
    client = boto3.client("dynamodb")
    for spec in TABLES:
        client.create_table(**create_table_request(spec, FLAKY))
    real_tables = lambdas.ops.load._tables
    seen: dict[str, Any] = {}

    def with_faults(args: Any) -> Tables:
        tables = real_tables(args)
        seen["tables"] = tables
        seen["faults"] = stack.enter_context(flaky_batch_writes(tables.lists.meta.client, 4, 2))
        return tables

    monkeypatch.setattr(lambdas.ops.load, "_tables", with_faults)
    with ExitStack() as stack:
        code = lambdas.ops.load.main(["--batch", str(small_version("v2")), "--table-prefix", FLAKY,
                                  "--no-progress"])  # fmt: skip
    faults, tables = seen["faults"], seen["tables"]
    print(f"loader: {faults.calls} BatchWriteItem calls, {faults.throttled} throttled, "
          f"{faults.left_unprocessed} items left unprocessed")  # fmt: skip
    assert code == 0
    assert faults.throttled > 0
    assert faults.left_unprocessed > 0
    assert active(tables)["version"] == "v2"
    manifest = json.loads((small_version("v2") / "manifest.json").read_text())
    for family, listing in manifest["families"].items():
        assert count_version(tables.lists, "v2", family) == listing["records"], family


def test_a_dynamodb_read_timeout_is_a_503_not_a_502(api, batch_root):
    """No answer at all (botocore's ReadTimeoutError after its retries): a JSON 503 the caller
    can retry, like a failed AWS call."""
    from botocore.exceptions import ReadTimeoutError

    def timeout(request: Any, **kwargs: Any) -> None:
        raise ReadTimeoutError(endpoint_url=request.url)

    client = _client()
    client.meta.events.register_first("before-send.dynamodb.*", timeout, unique_id="timeout")
    try:
        status, body = call(events, "POST", "/v1/events", _batch("timeout", 1))
    finally:
        client.meta.events.unregister("before-send.dynamodb.*", unique_id="timeout")
    assert status == 503, body
    assert body == {"code": "dependency_unavailable",
                    "message": "a backing service failed, retry later"}  # fmt: skip
    assert _stored("timeout") == set()  # and nothing was half-stored
