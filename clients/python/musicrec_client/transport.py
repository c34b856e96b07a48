"""One call of the API over HTTP: the URL, the JSON body, the credentials of each attempt, the
timeout, retries with backoff, and errors as exceptions."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ._openapi import API_VERSION
from .auth import Auth
from .errors import Timeout, TransportError, error_from
from .retry import RetryPolicy

DEFAULT_TIMEOUT_S = 10.0
# the console's admin routes: their function may take API Gateway's whole 29 s (reading metrics,
# a bandit's log), and a retry after a premature timeout would only repeat the work
ADMIN_TIMEOUT_S = 30.0
USER_AGENT = f"musicrec-client/{API_VERSION} python-httpx/{httpx.__version__}"
NOT_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)  # the request itself is wrong
Query = Mapping[str, str | int | float | bool | None]


def expand(template: str, values: Mapping[str, str]) -> str:
    """A path template with each ``{name}`` percent-encoded (an id may hold ``/`` or ``#``)."""
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    if "{" in path:
        raise ValueError(f"{template}: a path parameter has no value")
    return path


def encode(body: BaseModel | None) -> bytes | None:
    """The JSON of a request model: only the fields that were set (the API's defaults apply)."""
    if body is None:
        return None
    data = body.model_dump(mode="json", exclude_unset=True, by_alias=True)
    return json.dumps(data, separators=(",", ":")).encode()


class Transport:
    """Sends calls to ``base_url`` with ``auth``; thread-safe (httpx's pool is)."""

    def __init__(
        self,
        base_url: str,
        auth: Auth | None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth, self.timeout = auth, timeout
        self.retry = retry or RetryPolicy()
        self._owns_http = http is None
        self.http = http or httpx.Client(headers={"User-Agent": USER_AGENT})
        self._sleep, self._rng = sleep, rng

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def call(
        self,
        method: str,
        path: str,
        query: Query | None = None,
        body: BaseModel | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON answer of ``method path`` (path expanded); raises an
        :class:`~musicrec_client.errors.ApiError` for an error status and a
        :class:`~musicrec_client.errors.TransportError` when no answer came, after retrying
        what the policy retries."""
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        content = encode(body)
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        limit = httpx.Timeout(self.timeout if timeout is None else timeout)
        for attempt in range(1, self.retry.max_attempts + 1):
            request = self.http.build_request(
                method, self.base_url + path, params=params, content=content, headers=headers,
                timeout=limit,
            )  # fmt: skip
            if self.auth is not None:
                self.auth.apply(request)  # a signature per attempt: its date must be fresh
            try:
                response = self.http.send(request)
            except httpx.TransportError as exc:
                retryable = self.retry.on_transport_errors and not isinstance(exc, NOT_TRANSIENT)
                if not self._again(attempt, None, retryable=retryable):
                    raise _transport_error(exc, method, path) from exc
                continue
            if response.is_success:
                return response.json() if response.content else None
            error = error_from(response)
            retryable = response.status_code in self.retry.statuses
            if not self._again(attempt, error.retry_after, retryable=retryable):
                raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _again(self, attempt: int, retry_after: float | None, retryable: bool) -> bool:
        """Whether to make another attempt (after waiting for it)."""
        if not retryable or attempt >= self.retry.max_attempts:
            return False
        wait = self.retry.delay(attempt, retry_after, self._rng)
        if wait is None:
            return False
        if wait > 0:
            self._sleep(wait)
        return True


def _query_value(value: str | int | float | bool) -> str | int | float:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _transport_error(exc: httpx.TransportError, method: str, path: str) -> TransportError:
    kind = Timeout if isinstance(exc, httpx.TimeoutException) else TransportError
    return kind(f"{method} {path}: {type(exc).__name__}: {exc}")
