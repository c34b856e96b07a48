"""The local API Gateway: an HTTP server that turns requests into REST API proxy events for the
handlers of the route table and their answers back into HTTP, with API Gateway's own errors
(unknown route: 403 "Missing Authentication Token"; missing or wrong API key: 403 "Forbidden";
a body over 10 MB: 413). Admin routes, IAM-authorised in AWS, need the ``x-admin-key`` header.
"""

from __future__ import annotations

import base64
import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lambdas.routes import ROUTES, Route, function

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
JSON_HEADERS = {"Content-Type": "application/json"}
INTERNAL_ERROR = b'{"message": "Internal server error"}'
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method path`` and its path parameters, or None."""
    parts = path.rstrip("/").split("/") if path != "/" else [""]
    for route in ROUTES:
        template = route.path.split("/")
        if route.method != method or len(template) != len(parts):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(template, parts, strict=True):
            if expected.startswith("{") and actual:
                params[expected[1:-1]] = actual
            elif expected != actual:
                break
        else:
            return route, params
    return None


def proxy_event(
    route: Route | None,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    stage: str = "local",
    params: dict[str, str] | None = None,
    api_key: str | None = None,
    multi_value_headers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The REST API (v1) proxy event API Gateway sends for this request (``headers`` holds the
    last value of a repeated header, ``multi_value_headers`` all of them)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    resource = route.path if route else path
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": multi_value_headers or {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {
                "sourceIp": "127.0.0.1",
                "apiKey": api_key,
                "userAgent": headers.get("User-Agent"),
            },
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context``, for a handler run in this process."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_s: int = 10
    aws_request_id: str = ""

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        )
        self._deadline = time.monotonic() + self.timeout_s
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(dotted: str) -> Handler:
    module, _, name = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def _gateway_error(status: int, message: str, kind: str) -> tuple[int, dict[str, str], bytes]:
    """One of API Gateway's own answers (the handler is not called)."""
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": kind}
    return status, headers, json.dumps({"message": message}).encode()


def missing_token() -> tuple[int, dict[str, str], bytes]:
    """API Gateway's answer to a method and path not in the API."""
    kind = "MissingAuthenticationTokenException"
    return _gateway_error(403, "Missing Authentication Token", kind)


def forbidden() -> tuple[int, dict[str, str], bytes]:
    """API Gateway's answer to a missing or wrong API key."""
    return _gateway_error(403, "Forbidden", "ForbiddenException")


def too_large() -> tuple[int, dict[str, str], bytes]:
    """API Gateway's answer to a payload over its 10 MB limit."""
    return _gateway_error(413, "Request Too Long", "RequestTooLongException")


class Gateway:
    """Routes requests to handlers in this process; thread-safe, handlers loaded on first use.
    Like one Lambda container, a function runs one invocation at a time (Powertools' resolver
    keeps the current request on the app object): calls of different functions overlap."""

    def __init__(self, api_key: str, admin_key: str, stage: str = "local") -> None:
        self.api_key, self.admin_key, self.stage = api_key, admin_key, stage
        self._handlers: dict[str, Handler] = {}
        self._invocations: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def handler(self, function_name: str) -> Handler:
        with self._lock:
            if function_name not in self._handlers:
                self._handlers[function_name] = load_handler(function(function_name).handler)
                self._invocations[function_name] = threading.Lock()
            return self._handlers[function_name]

    def invoke(self, function_name: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Call the function's handler, one invocation at a time per function."""
        handler = self.handler(function_name)
        with self._invocations[function_name]:
            return handler(event, context)

    def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | list[tuple[str, str]],
        body: bytes | None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request (headers as a dict, or as the pairs received, repeated ones included):
        status, headers and body of the answer."""
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        single = dict(pairs)
        multi: dict[str, list[str]] = {}
        for key, value in pairs:
            multi.setdefault(key, []).append(value)
        url = urlsplit(target)
        found = match(method, url.path)
        if found is None:
            return missing_token()
        route, params = found
        lower = {k.lower(): v for k, v in pairs}
        if route.admin:
            if lower.get("x-admin-key") != self.admin_key:
                return forbidden()
        elif lower.get("x-api-key") != self.api_key:
            return forbidden()
        if body and len(body) > MAX_BODY_BYTES:
            return too_large()
        event = proxy_event(
            route, method, url.path, url.query, single, body, stage=self.stage, params=params,
            api_key=lower.get("x-api-key"), multi_value_headers=multi,
        )  # fmt: skip
        spec = function(route.function)
        context = LambdaContext(spec.name, spec.memory_mb, spec.timeout_s)
        try:
            response = self.invoke(route.function, event, context)
        except Exception:  # what API Gateway answers when the integration fails
            traceback.print_exc()  # the Lambda's log: the console of `make local`
            return 502, dict(JSON_HEADERS), INTERNAL_ERROR
        out_headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
        for key, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(v) for v in values)
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        return int(response.get("statusCode", 200)), out_headers, data


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body, at most ``MAX_BODY_BYTES + 1`` bytes of it (more is not needed to
    answer 413); Content-Length or chunked transfer encoding."""
    limit = MAX_BODY_BYTES + 1
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks, size = [], 0
        while True:
            length = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if length == 0:
                handler.rfile.readline()  # the empty line after the last chunk
                break
            chunk = handler.rfile.read(length)
            handler.rfile.readline()
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
        body = b"".join(chunks)[:limit]
        return body or None
    length = int(handler.headers.get("Content-Length") or 0)
    if length == 0:
        return None
    body = handler.rfile.read(min(length, limit))
    remaining = length - len(body)
    while remaining > 0:  # drain what is over the limit, so the connection stays in step
        chunk = handler.rfile.read(min(remaining, 1 << 20))
        if not chunk:
            break
        remaining -= len(chunk)
    return body


def serve(
    gateway: Gateway, host: str = "127.0.0.1", port: int = 3000, access_log: bool = False
) -> ThreadingHTTPServer:
    """An HTTP server for ``gateway`` (call ``serve_forever`` on it, e.g. in a thread); with
    ``access_log``, one line per call on stdout."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            started = time.monotonic()
            try:
                body = _read_body(self)
            except ValueError:  # a malformed chunk size
                self.send_error(400, "malformed chunked body")
                return
            status, headers, data = gateway.handle(
                self.command, self.path, list(self.headers.items()), body
            )
            if access_log:  # API Gateway's access log, one line per call
                elapsed_ms = (time.monotonic() - started) * 1000
                print(f"{self.command} {self.path} {status} {elapsed_ms:.0f} ms", flush=True)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle  # noqa: N815

        def __getattr__(self, name: str) -> Any:
            """Any other method (TRACE, CONNECT, ...) goes through the gateway too, which answers
            it as API Gateway does (403 JSON), not ``http.server``'s 501 HTML page."""
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the handlers log; keep the console for the stack's own output

    server = ThreadingHTTPServer((host, port), RequestHandler)
    server.daemon_threads = True
    return server
