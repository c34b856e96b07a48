"""What fuzzing found, pinned down at the handler: each case once answered a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.gateway import LambdaContext, match, proxy_event

NOT_UTF8 = b'{"events": "\xfd2\xe6A"}'  # bytes the gateway forwards base64-encoded


@pytest.mark.parametrize(
    ("function", "method", "path"),
    [
        ("events", "POST", "/v1/events"),
        ("onboarding", "POST", "/v1/onboarding/recommendations"),
        ("catalog", "PUT", "/v1/catalog/items/s1/availability"),
    ],
)
def test_a_body_that_is_not_utf8_is_a_400_naming_the_body(
    function: str, method: str, path: str
) -> None:
    import importlib

    handler = importlib.import_module(f"lambdas.handlers.{function}").lambda_handler
    route, params = match(method, path) or (None, {})
    headers = {"Content-Type": "application/json"}
    event = proxy_event(route, method, path, "", headers, NOT_UTF8, params=params)
    assert event["isBase64Encoded"]
    context: Any = LambdaContext(f"musicrec-{function}")  # what the local gateway passes
    response = handler(event, context)
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["field"] == "body"
    assert "UTF-8" in body["message"]


def test_a_timestamp_beyond_dynamodbs_38_digits_is_a_400_naming_it() -> None:
    from lambdas.handlers.events import lambda_handler

    play = {"event_id": "e1", "user_id": "u1", "type": "play", "item_id": "s1", "ts": 10**40}
    body = json.dumps({"events": [play]}).encode()
    headers = {"Content-Type": "application/json"}
    route, _ = match("POST", "/v1/events") or (None, {})
    event = proxy_event(route, "POST", "/v1/events", "", headers, body)
    context: Any = LambdaContext("musicrec-events")
    response = lambda_handler(event, context)  # refused before any AWS call
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["field"] == "events.0.ts"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_the_gateway_answers_any_other_method_as_api_gateway_does(method: str) -> None:
    import http.client
    import threading

    from local.gateway import Gateway, serve

    server = serve(Gateway("k", "a"), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request(method, "/v1/events", headers={"x-api-key": "k"})
        response = connection.getresponse()
        assert response.status == 403
        assert json.loads(response.read()) == {"message": "Missing Authentication Token"}
    finally:
        server.shutdown()
        server.server_close()
