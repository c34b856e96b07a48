"""Calls to the local gateway for the simulation, retried after a timeout or a dropped
connection: onboarding again assigns the same variant, and events carry their ``event_id``, so a
retried batch is not stored twice (the API answers ``duplicates`` for what already landed)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from local.cognito import listener_headers
from local.stack import Stack


@dataclass
class GatewayClient:
    """``client(method, path, body, listener)`` -> (status, JSON body), through the stack's
    gateway with the app's key and the listener's own ID token, as their app would call."""

    stack: Stack
    timeout_s: float = 30.0
    attempts: int = 3
    retries: int = 0  # calls repeated after a timeout or a dropped connection
    _lock: Lock = field(default_factory=Lock, repr=False)

    def __call__(
        self, method: str, path: str, body: Any = None, listener: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", "x-api-key": self.stack.api_key}
        if listener is not None:
            headers.update(listener_headers(self.stack, listener))
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(self.attempts):
            request = urllib.request.Request(
                self.stack.gateway_url + path, data, headers, method=method
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read() or b"{}")
            except (TimeoutError, urllib.error.URLError, ConnectionError):
                if attempt + 1 == self.attempts:
                    raise
                with self._lock:
                    self.retries += 1
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")
