"""API Gateway REST proxy events for the handler tests, built as the local gateway builds them."""

from __future__ import annotations

import json
from typing import Any

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local.gateway import LambdaContext, match, proxy_event
from local.smoke import AUTO, acting_for


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
        listener = acting_for(method, f"{path}?{query}" if query else path, body)
    if listener is not None:
        event["requestContext"]["authorizer"] = {"claims": {DEFAULT_LISTENER_CLAIM: listener}}
    return event


def FakeContext() -> LambdaContext:  # noqa: N802 (reads like the class it stands in for)
    """The context object the Lambda runtime passes, as the local gateway makes it."""
    return LambdaContext("musicrec-test")
