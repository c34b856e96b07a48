"""A real HTTP server standing in for a SageMaker endpoint that misbehaves in one given way."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local.ports import free_port

SLOW_S = 5.0  # far beyond the onboarding function's time budget (ENDPOINT_TIMEOUT_MS, 300 ms)

# mode -> (status, body) answered to every invocation
ANSWERS: dict[str, tuple[int, bytes]] = {
    "non-json": (200, b"<html>not json</html>"),
    "wrong-shape": (200, json.dumps({"predictions": [{"label": "Rock"}]}).encode()),
    "no-genres": (200, json.dumps({"genres": [], "model_version": "m1"}).encode()),
    "bad-scores": (200, json.dumps({"genres": [{"genre": "Rock", "score": "high"}]}).encode()),
    "error-500": (500, json.dumps({"code": "internal_error", "message": "boom"}).encode()),
    "slow": (200, json.dumps({"genres": [{"genre": "Rock", "score": 0.9}]}).encode()),
}
MODES = ("down", *ANSWERS)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow answer still sleeping must not hold the test up
    mode = "slow"
    calls = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = ANSWERS[self.server.mode]
        if self.server.mode == "slow":
            time.sleep(SLOW_S)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the caller gave up waiting
            pass

    def log_message(self, format: str, *args: object) -> None:
        return


class Endpoint:
    """Where the handler is pointed, and how many invocations reached it."""

    def __init__(self, url: str, server: _Server | None) -> None:
        self.url, self._server = url, server

    @property
    def calls(self) -> int:
        return self._server.calls if self._server else 0


@contextmanager
def misbehaving_endpoint(mode: str) -> Iterator[Endpoint]:
    """An endpoint URL that answers every invocation as ``mode`` says; ``down``: nothing
    listens there (connection refused)."""
    if mode == "down":
        yield Endpoint(f"http://127.0.0.1:{free_port()}", None)
        return
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mode = mode
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Endpoint(f"http://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
