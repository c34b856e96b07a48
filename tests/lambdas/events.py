"""API Gateway REST proxy events, as API Gateway sends them to a Lambda."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from lambdas.routes import ROUTES


def _resource(method: str, path: str) -> tuple[str, dict[str, str]]:
    parts = path.split("/")
    for route in ROUTES:
        template = route.path.split("/")
        if route.method != method or len(template) != len(parts):
            continue
        params = {}
        for t, p in zip(template, parts, strict=True):
            if t.startswith("{"):
                params[t[1:-1]] = p
            elif t != p:
                break
        else:
            return route.path, params
    return path, {}


def api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """A REST API (v1) proxy event for ``method path?query`` with a JSON body."""
    resource, params = _resource(method, path)
    pairs = parse_qsl(query, keep_blank_values=True)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(pairs) or None,
        "multiValueQueryStringParameters": {k: [v for kk, v in pairs if kk == k] for k, _ in pairs}
        or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/test{path}",
            "stage": "test",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "apiKey": "test-key"},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": False,
    }


class FakeContext:
    """The attributes of a Lambda context object that Powertools reads."""

    function_name = "musicrec-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:musicrec-test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
