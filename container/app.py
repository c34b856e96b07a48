"""The inference server's HTTP layer: a plain ASGI application (no framework on the hot path).

Routes (SageMaker's container contract, plus an alias for boto3's ``invoke_endpoint``):

- ``GET /ping``: 200 once the model is loaded and a warm-up prediction succeeded, else 503.
- ``POST /invocations`` and ``POST /endpoints/{name}/invocations``: predictions.
- ``GET /execution-parameters``: what batch transform may send at once.

Every error is JSON ``{"code", "message"[, "field"]}``; bad input never yields a 5xx.

With a :class:`~container.metrics.RareValueMetrics`, the app writes the rare answer values its
predictor counted at most once every ``flush_every_s`` seconds, off the request path, and once
more at lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from container.metrics import FLUSH_EVERY_S, RareValueMetrics
from container.protocol import (
    JSONLINES,
    MAX_BODY_BYTES,
    MAX_INSTANCES,
    Instance,
    ParsedRequest,
    RequestError,
    parse_request,
)

log = logging.getLogger("container.app")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_DRAIN_BYTES = 4 * MAX_BODY_BYTES

_JSON_HEADERS = [(b"content-type", b"application/json")]
_JSONLINES_HEADERS = [(b"content-type", JSONLINES.encode())]


class Predictor(Protocol):
    """What the server needs from a model: rank genres for validated instances."""

    model_version: str

    def predict(self, instances: list[Instance], top_k: int) -> list[dict[str, Any]]:
        """One result per instance: ``{"genres": [{"genre", "score"}...], "warnings": [...]}``."""
        ...


class InferenceApp:
    """ASGI app serving one predictor; the predictor is loaded at lifespan startup."""

    def __init__(
        self,
        load: Callable[[], Predictor],
        metrics: RareValueMetrics | None = None,
        flush_every_s: float = FLUSH_EVERY_S,
    ) -> None:
        self._load = load
        self.predictor: Predictor | None = None
        self.metrics = metrics
        self._flush_every_s = flush_every_s
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    predictor = self._load()
                    warm_up(predictor)
                except Exception as exc:
                    log.exception("model failed to load")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self.predictor = predictor
                if self.metrics is not None:
                    self._flusher = asyncio.create_task(self._flush_periodically(self.metrics))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop_flushing()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _flush_periodically(self, metrics: RareValueMetrics) -> None:
        """Every ``flush_every_s``: write what was counted, in a thread (the loop never waits on
        stdout). :meth:`RareValueMetrics.write` never raises, so the loop never dies."""
        while True:
            await asyncio.sleep(self._flush_every_s)
            counts, notes = metrics.take()
            if counts or notes:
                await asyncio.to_thread(metrics.write, counts, notes)

    async def _stop_flushing(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self.metrics is not None:
            self.metrics.flush()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        try:
            if path == "/ping":
                _require_method(method, "GET")
                await self._ping(send)
            elif path == "/invocations" or _is_endpoint_alias(path):
                _require_method(method, "POST")
                body = await _read_body(scope, receive)
                await self._invocations(scope, body, send)
            elif path == "/execution-parameters":
                _require_method(method, "GET")
                await _respond(
                    send,
                    200,
                    {
                        "MaxConcurrentTransforms": 1,
                        "BatchStrategy": "MULTI_RECORD",
                        "MaxPayloadInMB": MAX_BODY_BYTES // (1024 * 1024),
                    },
                )
            else:
                raise RequestError(404, "not_found", f"no route for {method} {path}")
        except RequestError as exc:
            await _respond(send, exc.status, exc.body())
        except Exception:  # a bug must still answer JSON, and be logged
            log.exception("unhandled error on %s %s", method, path)
            await _respond(send, 500, {"code": "internal_error", "message": "internal error"})

    async def _ping(self, send: Send) -> None:
        if self.predictor is None:
            await _respond(send, 503, {"code": "not_ready", "message": "model not loaded"})
        else:
            await _respond(
                send, 200, {"status": "ok", "model_version": self.predictor.model_version}
            )

    async def _invocations(self, scope: Scope, body: bytes, send: Send) -> None:
        if self.predictor is None:
            raise RequestError(503, "not_ready", "model not loaded")
        request = parse_request(body, _header(scope, b"content-type"))
        results = self.predictor.predict(request.instances, request.top_k)
        await _send_results(send, request, results, self.predictor.model_version)


def warm_up(predictor: Predictor) -> None:
    """One prediction before reporting healthy, so the first real request is not the slow one."""
    results = predictor.predict([Instance()], 1)
    if len(results) != 1 or not results[0].get("genres"):
        raise RuntimeError("warm-up prediction returned no genres")


async def _send_results(
    send: Send, request: ParsedRequest, results: list[dict[str, Any]], model_version: str
) -> None:
    if request.jsonlines:
        lines = b"\n".join(orjson.dumps({**r, "model_version": model_version}) for r in results)
        await _respond_raw(send, 200, lines + b"\n", _JSONLINES_HEADERS)
    elif request.batch:
        await _respond(send, 200, {"predictions": results, "model_version": model_version})
    else:
        await _respond(send, 200, {**results[0], "model_version": model_version})


def _is_endpoint_alias(path: str) -> bool:
    parts = path.split("/")
    return (
        len(parts) == 4
        and parts[1] == "endpoints"
        and bool(parts[2])
        and (parts[3] == "invocations")
    )


def _require_method(method: str, allowed: str) -> None:
    if method != allowed:
        raise RequestError(405, "method_not_allowed", f"use {allowed}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """Read the whole body; past the limit, drain what the client still sends, then refuse (413).

    Draining (up to :data:`MAX_DRAIN_BYTES`) lets a client that writes its whole body before
    reading see the 413 instead of a broken connection.
    """
    declared = _header(scope, b"content-length")
    too_large = declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            too_large = True
            chunks.clear()
        elif not too_large:
            chunks.append(chunk)
        if not message.get("more_body", False) or size > MAX_DRAIN_BYTES:
            break
    if too_large:
        raise RequestError(
            413, "payload_too_large", f"body: more than {MAX_BODY_BYTES} bytes", "body"
        )
    return b"".join(chunks)


async def _respond(send: Send, status: int, doc: dict[str, Any]) -> None:
    await _respond_raw(send, status, orjson.dumps(doc), _JSON_HEADERS)


async def _respond_raw(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["MAX_INSTANCES", "InferenceApp", "Predictor", "warm_up"]
