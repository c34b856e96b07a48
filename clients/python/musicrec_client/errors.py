"""Errors: every answer other than a success is an :class:`ApiError` carrying the API's ``code``,
``message`` and ``field``, of the subclass of its status; a request that got no answer is a
:class:`TransportError`.

API Gateway's own refusals (``{"message": ...}``, no code) get the code of their
``x-amzn-ErrorType`` header, else one named after the status."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx

STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    429: "throttled",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class MusicRecError(Exception):
    """Anything this client raises about a call."""


class ApiError(MusicRecError):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.field = status, code, message, field
        self.retry_after = retry_after  # seconds, from Retry-After
        self.body = body  # the decoded JSON answer (or its text)


class ClientError(ApiError):
    """A 4xx: the request, its credentials or its rate were wrong."""


class ValidationError(ClientError):
    """400, 413, 414, 415, 422: the request does not fit the API (``field`` names what)."""


class AuthError(ClientError):
    """401 or 403: no credentials, invalid ones, or ones that may not do this."""


class NotFound(ClientError):  # noqa: N818 (short names, as apps catch them)
    """404: no list for this song or artist, no such song, or no such route."""


class RateLimited(ClientError):  # noqa: N818
    """429: throttled (``retry_after``: how long the API asked to wait)."""


class ServerError(ApiError):
    """5xx: the API or a service behind it failed; retrying later may succeed."""


class TransportError(MusicRecError):
    """No answer: the connection failed, or the request timed out."""


class Timeout(TransportError):  # noqa: N818
    """No answer within the client's timeout."""


def _class_of(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if status in (400, 413, 414, 415, 422):
        return ValidationError
    if 400 <= status < 500:
        return ClientError
    if status >= 500:
        return ServerError
    return ApiError


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """The answer's Retry-After in seconds (delta-seconds or an HTTP date); None if absent or
    unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_from(response: httpx.Response) -> ApiError:
    """The exception for an error answer."""
    status = response.status_code
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text
    default = response.headers.get("x-amzn-errortype") or STATUS_CODES.get(status, f"http_{status}")
    code, message, field = default, response.reason_phrase or f"HTTP {status}", None
    if isinstance(body, dict):
        code = str(body.get("code") or default)
        message = str(body.get("message") or body.get("Message") or message)
        field = str(body["field"]) if body.get("field") is not None else None
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    return _class_of(status)(status, code, message, field, retry_after(response), body)
