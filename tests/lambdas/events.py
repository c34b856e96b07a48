"""API Gateway REST proxy events for the handler tests, built as the local gateway builds them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local.gateway import LambdaContext, match, proxy_event

AUTO = "<the listener the request names>"


def api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
    listener: str | None = AUTO,
) -> dict[str, Any]:
    """A REST API (v1) proxy event for ``method path?query`` with a JSON body, as API Gateway's
    Cognito authoriser passes it for a token of ``listener`` (by default the listener the
    request names; None: no token claims)."""
    found = match(method, path)
    route, params = found if found else (None, {})
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    event = proxy_event(
        route, method, path, query, all_headers, None if text is None else text.encode(),
        stage="test", params=params, api_key="test-key",
    )  # fmt: skip
    if listener == AUTO:
        listener = named_listener(params, query, body)
    if listener is not None:
        event["requestContext"]["authorizer"] = {"claims": {DEFAULT_LISTENER_CLAIM: listener}}
    return event


def named_listener(params: dict[str, str], query: str, body: Any) -> str:
    """The listener a request acts for: its path's, its query's, its body's or its events'."""
    if "userId" in params:
        return params["userId"]
    from_query = dict(parse_qsl(query)).get("user_id")
    if from_query:
        return from_query
    if isinstance(body, dict):
        if isinstance(body.get("user_id"), str):
            return body["user_id"]
        events = body.get("events")
        if isinstance(events, list) and events and isinstance(events[0], dict):
            return str(events[0].get("user_id", "anyone"))
    return "anyone"


def FakeContext() -> LambdaContext:  # noqa: N802 (reads like the class it stands in for)
    """The context object the Lambda runtime passes, as the local gateway makes it."""
    return LambdaContext("musicrec-test")
