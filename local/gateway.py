"""The local API Gateway: an HTTP server that turns requests into REST API proxy events for the
handlers of the route table and their answers back into HTTP, with API Gateway's own errors
(unknown route or method: 403 "Missing Authentication Token"; missing or wrong API key: 403
"Forbidden"; a body over 10 MB: 413; a path and query over 65,535 bytes: 414). App routes need
the API key and what the access mode's authoriser checks (:mod:`local.authorisers`: a listener's
Cognito ID token, 401 "Unauthorized" without one; or a SigV4 signature). The catalogue's admin
route, IAM-authorised in AWS, needs the ``x-admin-key`` header; the console's admin routes an ID
token of the operators' user pool (the Cognito authoriser on that pool, as in AWS; no API key).
With a :class:`local.console.ConsoleSite`, ``/console/`` serves the console's page, as
CloudFront does in AWS.

:class:`Gateway` is API Gateway's part and the handlers, callable from any thread;
:class:`GatewayApp` serves it as a plain ASGI app and :func:`serve` runs that on uvicorn with
the inference server's HTTP protocol (httptools, uvloop, each answer in one write:
:mod:`container.coalescing`), so a reused keep-alive connection answers as fast as a new one.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import uvicorn

from container.coalescing import HttpProtocol
from lambdas.routes import ROUTES, Route, function
from local import aws_calls
from local.authorisers import CognitoAuthoriser, Grant, Refusal, Request, for_mode
from local.cognito import UserPool
from local.console import ConsoleSite

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_TARGET_BYTES = 65_535  # path and query: the longest URL httptools parses (414 beyond)
KEEP_ALIVE_S = 3600  # an idle connection stays open (load generators reuse theirs, no retry)
SHUTDOWN_GRACE_S = 10  # on shutdown, answers under way get this long to finish
BACKLOG = 2048
JSON_HEADERS = {"Content-Type": "application/json"}
INTERNAL_ERROR = b'{"message": "Internal server error"}'
AS_SENT = "local.gateway"  # scope extension: the request's header names as the client sent them
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
OnAnswer = Callable[[str, str, int, float], None]  # method, target, status, latency (ms)
Answer = tuple[int, dict[str, str], bytes]  # status, headers, body
Scope = dict[str, Any]
# requestContext.identity as API Gateway fills it (null what does not apply)
IDENTITY_FIELDS = (
    "cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "sourceIp",
    "principalOrgId", "accessKey", "cognitoAuthenticationType", "cognitoAuthenticationProvider",
    "userArn", "userAgent", "user", "apiKey", "apiKeyId",
)  # fmt: skip
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method path`` (the path as sent, percent-escapes kept) and its path
    parameters, percent-decoded as API Gateway passes them (``a%40b``: ``a@b``), or None."""
    parts = path.rstrip("/").split("/") if path != "/" else [""]
    for route in ROUTES:
        template = route.path.split("/")
        if route.method != method or len(template) != len(parts):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(template, parts, strict=True):
            if expected.startswith("{") and actual:
                params[expected[1:-1]] = unquote(actual)
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
    authorizer: dict[str, Any] | None = None,
    identity: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API (v1) proxy event API Gateway sends for this request (``headers`` holds the
    last value of a repeated header, ``multi_value_headers`` all of them; ``path`` as sent,
    percent-escapes kept, as API Gateway passes it, ``params`` decoded). ``authorizer``: what
    the authoriser passes (a Cognito one: ``{"claims": {...}}``); ``identity``: the caller's
    fields of ``requestContext.identity`` that IAM authorisation fills."""
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
    context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {
            **{name: None for name in IDENTITY_FIELDS},
            "sourceIp": "127.0.0.1",
            "apiKey": api_key,
            "userAgent": _header(headers, "user-agent"),
            **(identity or {}),
        },
        "accountId": "000000000000",
        "apiId": "local",
        "protocol": "HTTP/1.1",
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
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
        "requestContext": context,
        "body": text,
        "isBase64Encoded": encoded,
    }


def _header(headers: dict[str, str], name: str) -> str | None:
    """The value of header ``name`` (lower-case), whatever case the client spelled it in."""
    return next((value for key, value in headers.items() if key.lower() == name), None)


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


# API Gateway's own answers (the handler is not called) ---------------------------------------


def _gateway_error(status: int, message: str, kind: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if kind:
        headers["x-amzn-ErrorType"] = kind
    return status, headers, json.dumps({"message": message}).encode()


def missing_token() -> Answer:
    """API Gateway's answer to a method and path not in the API."""
    kind = "MissingAuthenticationTokenException"
    return _gateway_error(403, "Missing Authentication Token", kind)


def forbidden() -> Answer:
    """API Gateway's answer to a missing or wrong API key."""
    return _gateway_error(403, "Forbidden", "ForbiddenException")


def refused(refusal: Refusal) -> Answer:
    """API Gateway's answer when the route's authoriser refuses the request."""
    return _gateway_error(refusal.status, refusal.message, refusal.kind)


def too_large() -> Answer:
    """API Gateway's answer to a payload over its 10 MB limit."""
    return _gateway_error(413, "Request Too Long", "RequestTooLongException")


def uri_too_long() -> Answer:
    """The answer to a request target (path and query) over ``MAX_TARGET_BYTES``."""
    return _gateway_error(414, "Request-URI Too Long")


def http_answer(response: dict[str, Any]) -> Answer:
    """A handler's proxy response as HTTP (multi-value headers joined with ", ")."""
    headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    payload = response.get("body") or ""
    data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
    return int(response.get("statusCode", 200)), headers, data


# the gateway ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """A request API Gateway lets through: the function to call and the event to call it with."""

    function: str
    event: dict[str, Any]


class Gateway:
    """Routes requests to handlers in this process; thread-safe, handlers loaded on first use.
    Like one Lambda container, a function runs one invocation at a time (Powertools' resolver
    keeps the current request on the app object): calls of different functions overlap.

    ``access_mode`` (``lambdas.config.ACCESS_MODES``) picks the app routes' authoriser: in
    ``listener`` mode the Cognito authoriser of ``user_pool`` (without one, no token is valid);
    in ``server`` mode SigV4 by ``credentials`` (access key -> secret; the local ones by
    default). The console's routes take ID tokens of ``operator_pool`` (without one, no
    token is valid); ``console`` serves the console's page."""

    def __init__(
        self,
        api_key: str,
        admin_key: str,
        stage: str = "local",
        access_mode: str = "listener",
        user_pool: UserPool | None = None,
        credentials: dict[str, str] | None = None,
        operator_pool: UserPool | None = None,
        console: ConsoleSite | None = None,
        on_answer: OnAnswer | None = None,
    ) -> None:
        self.api_key, self.admin_key, self.stage = api_key, admin_key, stage
        self.on_answer = on_answer  # after each answer (local.metrics: API Gateway's metrics)
        self.authoriser = for_mode(access_mode, user_pool, credentials)
        self.operators = CognitoAuthoriser(operator_pool)
        self.console = console
        self.access_mode = access_mode
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
        """Call the function's handler, one invocation at a time per function (its AWS calls
        are the function's: :mod:`local.aws_calls`)."""
        handler = self.handler(function_name)
        with self._invocations[function_name], aws_calls.acting_as("function", function_name):
            return handler(event, context)

    def admit(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | list[tuple[str, str]],
        body: bytes | None,
    ) -> Invocation | Answer:
        """API Gateway's part of a request (headers as a dict, or as the pairs received,
        repeated ones included): its own answer, or the invocation to make. Calls no handler."""
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        url = urlsplit(target)
        if self.console is not None and self.console.serves(url.path):
            return self.console.answer(method, url.path)
        found = match(method, url.path)
        if found is None:
            return missing_token()
        route, params = found
        if body and len(body) > MAX_BODY_BYTES:
            return too_large()
        lower = {k.lower(): v for k, v in pairs}
        outcome = self._authorise(route, Request(method, target, pairs, body), lower)
        if not isinstance(outcome, Grant):
            return outcome
        multi: dict[str, list[str]] = {}
        for name, value in pairs:
            multi.setdefault(name, []).append(value)
        event = proxy_event(
            route, method, url.path, url.query, dict(pairs), body, stage=self.stage,
            params=params, api_key=lower.get("x-api-key"), multi_value_headers=multi,
            authorizer=outcome.authorizer, identity=outcome.identity,
        )  # fmt: skip
        return Invocation(route.function, event)

    def _authorise(self, route: Route, request: Request, headers: dict[str, str]) -> Grant | Answer:
        """API Gateway's checks of the route's authorisation, then of the API key (lower-case
        header names in ``headers``): what the authoriser passes on, or the refusal."""
        if route.admin and route.operator_auth == "token":  # the operators' pool, no API key
            granted = self.operators.authorise(request)
            return refused(granted) if isinstance(granted, Refusal) else granted
        if route.admin:
            return Grant() if headers.get("x-admin-key") == self.admin_key else forbidden()
        outcome = self.authoriser.authorise(request)
        if isinstance(outcome, Refusal):
            return refused(outcome)
        return outcome if headers.get("x-api-key") == self.api_key else forbidden()

    def call(self, invocation: Invocation) -> Answer:
        """Run the invocation (blocks while the function runs another) and answer with the
        handler's response; 502 if the handler raises or answers something malformed, as
        API Gateway does."""
        spec = function(invocation.function)
        context = LambdaContext(spec.name, spec.memory_mb, spec.timeout_s)
        try:
            return http_answer(self.invoke(invocation.function, invocation.event, context))
        except Exception:  # what API Gateway answers when the integration fails
            traceback.print_exc()  # the Lambda's log: the console of `make local`
            return 502, dict(JSON_HEADERS), INTERNAL_ERROR

    def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | list[tuple[str, str]],
        body: bytes | None,
    ) -> Answer:
        """One request (headers as in :meth:`admit`): status, headers and body of the answer."""
        started = time.monotonic()
        outcome = self.admit(method, target, headers, body)
        answer = self.call(outcome) if isinstance(outcome, Invocation) else outcome
        if self.on_answer is not None:
            self.on_answer(method, target, answer[0], (time.monotonic() - started) * 1000)
        return answer


# the gateway over HTTP: ASGI on uvicorn --------------------------------------------------------


class ClientGoneError(Exception):
    """The client closed the connection before its request was complete."""


class GatewayApp:
    """:class:`Gateway` as a plain ASGI app. API Gateway's checks run on the event loop; a
    handler runs on a worker thread of its function's own (an executor of one thread), so a
    slow handler stalls neither the event loop nor the other functions, and requests to a busy
    function wait in arrival order without holding a thread. That serialises each function on
    purpose, as before (one invocation at a time, as in a Lambda container: see
    :class:`Gateway`); different functions run at the same time."""

    def __init__(self, gateway: Gateway, access_log: bool = False) -> None:
        self.gateway, self.access_log = gateway, access_log
        self._workers: dict[str, ThreadPoolExecutor] = {}  # used on the event loop only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = time.monotonic()
        target = request_target(scope)
        try:
            status, headers, data = await self._answer(scope, target, receive)
        except ClientGoneError:
            return
        elapsed_ms = (time.monotonic() - started) * 1000
        if self.gateway.on_answer is not None:
            self.gateway.on_answer(scope["method"], target, status, elapsed_ms)
        if self.access_log:  # API Gateway's access log, one line per call
            print(f"{scope['method']} {target} {status} {elapsed_ms:.0f} ms", flush=True)
        await respond(send, status, headers, data)

    async def _answer(self, scope: Scope, target: str, receive: Receive) -> Answer:
        body = await read_body(receive)
        outcome = self.gateway.admit(scope["method"], target, request_headers(scope), body)
        if not isinstance(outcome, Invocation):
            return outcome
        worker = self._worker(outcome.function)
        return await asyncio.get_running_loop().run_in_executor(worker, self.gateway.call, outcome)

    def _worker(self, function_name: str) -> ThreadPoolExecutor:
        if function_name not in self._workers:
            worker = ThreadPoolExecutor(1, thread_name_prefix=f"lambda-{function_name}")
            self._workers[function_name] = worker
        return self._workers[function_name]

    def close(self) -> None:
        """Stop the worker threads once their invocations under way return."""
        for worker in self._workers.values():
            worker.shutdown(wait=False, cancel_futures=True)


def request_target(scope: Scope) -> str:
    """The path and query as sent (percent-escapes kept, as API Gateway passes the path on)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    return (raw + b"?" + query if query else raw).decode("latin-1")


def request_headers(scope: Scope) -> list[tuple[str, str]]:
    """The request's headers in order, named as the client sent them when the server says."""
    as_sent = scope.get("extensions", {}).get(AS_SENT)
    pairs = as_sent["headers"] if as_sent else scope["headers"]
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]


async def read_body(receive: Receive) -> bytes | None:
    """The request body (Content-Length or chunked), at most ``MAX_BODY_BYTES + 1`` bytes of it
    (more is not needed to answer 413); the rest is received and dropped, so the connection
    stays usable."""
    limit = MAX_BODY_BYTES + 1
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk = message.get("body", b"")
        if size < limit:
            chunks.append(chunk[: limit - size])
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) or None


async def respond(send: Send, status: int, headers: dict[str, str], data: bytes) -> None:
    """Send the answer (uvicorn leaves the body out for HEAD)."""
    fields = [
        (key.encode("latin-1"), value.encode("latin-1"))
        for key, value in headers.items()
        if key.lower() != "content-length"
    ]
    fields.append((b"Content-Length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": fields})
    await send({"type": "http.response.body", "body": data})


class TargetTooLongError(Exception):
    """A request target over ``MAX_TARGET_BYTES``: parsing stops, the answer is 414."""


class GatewayProtocol(HttpProtocol):
    """The inference server's HTTP protocol (httptools, one write per answer), which also keeps
    the request's header names as the client spelled them (ASGI's are lower-case; API Gateway
    passes them on as sent) in the scope's extensions, and answers a request target over
    ``MAX_TARGET_BYTES`` with 414 JSON instead of uvicorn's plain-text 400."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._as_sent: list[tuple[bytes, bytes]] = []
        self.scope["extensions"] = {AS_SENT: {"headers": self._as_sent}}

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._as_sent.append((name, value))

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            raise TargetTooLongError  # httptools stops; uvicorn calls send_400_response

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse (then it closes the connection)."""
        if len(getattr(self, "url", b"")) <= MAX_TARGET_BYTES:
            super().send_400_response(msg)
            return
        self.transport.write(encode_answer(*uri_too_long()))
        self.transport.close()


def encode_answer(status: int, headers: dict[str, str], data: bytes) -> bytes:
    """An answer as HTTP/1.1 bytes, the connection closed after it."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines += [f"Content-Length: {len(data)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def uvicorn_config(app: GatewayApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=GatewayProtocol,
        loop="uvloop",
        ws="none",
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        access_log=False,  # the app writes API Gateway's access log itself
        log_config=None,  # leave the logging of the process that serves alone
        log_level="error",  # no warning per unparsable request: the console is the stack's
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        backlog=BACKLOG,
    )


class GatewayServer:
    """uvicorn serving a :class:`GatewayApp` on a socket bound when this is made (``port`` 0:
    a free one, see ``server_address``), with the interface of a ``socketserver`` server:
    :meth:`serve_forever` (blocks: run it in a thread), :meth:`shutdown` (from another thread),
    then :meth:`server_close`."""

    def __init__(self, app: GatewayApp, host: str, port: int) -> None:
        self.app = app
        self.socket = socket.create_server((host, port), backlog=BACKLOG)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._server = uvicorn.Server(uvicorn_config(app))
        self._started, self._stopped = threading.Event(), threading.Event()

    def serve_forever(self) -> None:
        self._started.set()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting connections, let answers under way finish (``SHUTDOWN_GRACE_S`` at
        most) and return once :meth:`serve_forever` has."""
        self._server.should_exit = True
        if self._started.is_set():
            self._stopped.wait()
        self.app.close()

    def server_close(self) -> None:
        self.socket.close()


def serve(
    gateway: Gateway, host: str = "127.0.0.1", port: int = 3000, access_log: bool = False
) -> GatewayServer:
    """An HTTP server for ``gateway`` (call ``serve_forever`` on it, e.g. in a thread); with
    ``access_log``, one line per call on stdout."""
    return GatewayServer(GatewayApp(gateway, access_log), host, port)
