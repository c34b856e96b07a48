"""The findings of the 2026-12-06 review (issue 17) against the whole local stack, as `make local`
runs it: real ID tokens from the local Cognito pool, checked by the local API Gateway, the real
handlers behind it."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from bench.ab.experiment_report import parse_report, run_report
from bench.api_gateway import find_ids
from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import load
from local.smoke import app_headers, call
from local.stack import Stack

pytestmark = pytest.mark.slow
ATTACKER = "sec-attacker"


def listener_in(variant: str) -> str:
    experiment = load(DEFAULT_EXPERIMENTS)["onboarding"]
    return next(f"sec-{i}" for i in range(1000) if experiment.assign(f"sec-{i}") == variant)


def test_another_listeners_token_gets_403_on_every_route_naming_a_listener(stack: Stack) -> None:
    ids = find_ids(stack, 5)
    victim, song = ids.listeners[0], ids.songs[0]
    play = {"event_id": "p", "user_id": victim, "type": "play", "item_id": song}
    requests: list[tuple[str, str, Any, str]] = [
        ("GET", f"/v1/users/{victim}/recommendations", None, "userId"),
        ("GET", f"/v1/users/{victim}/artists", None, "userId"),
        ("GET", f"/v1/users/{victim}/home?limit=2", None, "userId"),
        ("GET", f"/v1/items/{song}/similar?user_id={victim}", None, "user_id"),
        ("POST", "/v1/onboarding/recommendations", {"user_id": victim}, "user_id"),
        ("POST", "/v1/events", {"events": [play]}, "events.0.user_id"),
    ]
    for method, path, body, field in requests:
        status, answer = call(stack, method, path, body, listener=ATTACKER)
        assert (status, answer.get("code"), answer.get("field")) == (403, "forbidden", field)
        status, answer = call(stack, method, path, body, listener=None)  # no token at all
        assert (status, answer) == (401, {"message": "Unauthorized"})
    status, _ = call(stack, "GET", f"/v1/users/{victim}/artists")  # their own token
    assert status == 200


def test_a_forged_variant_leaves_the_experiment_report_unchanged(stack: Stack) -> None:
    listener = listener_in("rules")
    status, answer = call(stack, "GET", f"/v1/users/{listener}/recommendations?limit=3")
    assert (status, answer["variant"]) == (200, "rules")
    before = parse_report(run_report(stack)[0])
    clicks = [{"event_id": f"forged-{i}", "user_id": listener, "type": "click",
               "recommendation_id": answer["recommendation_id"],
               "item_id": answer["items"][0]["id"], "variant": "model",
               "experiment": "onboarding"} for i in range(5)]  # fmt: skip
    status, ack = call(stack, "POST", "/v1/events", {"events": clicks})
    assert (status, ack["stored"], ack["counted"]) == (200, 5, 1)
    after = parse_report(run_report(stack)[0])
    assert (after["model"].impressions, after["model"].clicks) == (
        before["model"].impressions,
        before["model"].clicks,
    )
    assert after["rules"].clicks == before["rules"].clicks + 1  # one click, where it was shown


def test_a_second_listeners_event_id_is_stored(stack: Stack) -> None:
    song = find_ids(stack, 1).songs[0]
    for listener in ("sec-first", "sec-second"):
        play = {"event_id": "e-1", "user_id": listener, "type": "play", "item_id": song}
        status, ack = call(stack, "POST", "/v1/events", {"events": [play]})
        assert (status, ack["stored"], ack["duplicates"]) == (200, 1, 0)


def test_a_future_timestamp_is_a_400_naming_the_field(stack: Stack) -> None:
    future = int(time.time() * 1000) + 3_600_000
    play = {"event_id": "f", "user_id": ATTACKER, "type": "play", "item_id": "s", "ts": future}
    status, error = call(stack, "POST", "/v1/events", {"events": [play]})
    assert (status, error["field"]) == (400, "events.0.ts")


def raw(stack: Stack, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as it is to the events route with ``content_type`` and the attacker's token."""
    headers = app_headers(stack, "POST", "/v1/events", body, ATTACKER)
    headers["Content-Type"] = content_type
    request = urllib.request.Request(stack.gateway_url + "/v1/events", body, headers,
                                     method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_deep_nesting_is_a_400_and_media_types_ignore_case(stack: Stack) -> None:
    deep = b'{"events": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    status, error = raw(stack, deep, "application/json")
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "body")
    play = {"event_id": "case", "user_id": ATTACKER, "type": "play", "item_id": "s"}
    status, ack = raw(stack, json.dumps({"events": [play]}).encode(), "Application/Json")
    assert (status, ack["stored"]) == (200, 1)
