"""API errors and the resolver factory that turns every failure into the JSON error contract."""

from __future__ import annotations

import base64
import binascii
import json
import re
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.logic.vocabulary import AnswerError
from lambdas.store.dynamodb import NoActiveVersionError

logger = Logger(service="musicrec")

MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32  # our deepest body is 3 levels; deeper JSON only exhausts the parser's stack
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
# A batch over its size limit is a 413 (too large), not a 400 (malformed).
BATCH_FIELDS = {("body", "events")}
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


class ApiError(Exception):
    """An answer other than success: HTTP status, stable code, message naming the field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.field)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return Response(status, "application/json", json.dumps(body), headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def precheck(event: dict[str, Any]) -> dict[str, Any] | None:
    """The proxy response for a body that is too large (413), not JSON (415) or not UTF-8 (400),
    before the resolver parses it; None for a request to go on."""
    if event.get("httpMethod") not in ("POST", "PUT", "PATCH"):
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if len((event.get("body") or "").encode()) > MAX_BODY_BYTES:
        return _proxy(413, "payload_too_large", f"body: more than {MAX_BODY_BYTES} bytes", "body")
    content_type = str(headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _proxy(
            415, "unsupported_media_type", "Content-Type must be application/json", "Content-Type"
        )
    if event.get("isBase64Encoded") and not _is_utf8(event.get("body") or ""):
        return _proxy(400, "invalid_request", "body: not valid UTF-8 JSON", "body")
    if not event.get("isBase64Encoded") and json_depth(event.get("body") or "") > MAX_JSON_DEPTH:
        message = f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        return _proxy(400, "invalid_request", message, "body")
    if not _is_object_or_empty(event):
        # Powertools validates a JSON array body's first element as the model: refuse it here
        return _proxy(400, "invalid_request", "body: expected a JSON object", "body")
    return None


def _is_object_or_empty(event: dict[str, Any]) -> bool:
    """Whether the body is empty or starts as a JSON object does (every body this API takes is
    an object; an empty one is left to the route's validation)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")  # checked by _is_utf8 above
    text = body.lstrip(" \t\r\n")
    return not text or text.startswith("{")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings not counted);
    linear in the text, without parsing it, so any depth is measured safely."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def normalised(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its media type in lower case (``Application/Json`` is
    ``application/json``: media types compare case-insensitively), as the resolver expects."""
    headers = event.get("headers") or {}
    name = next((k for k in headers if k.lower() == "content-type"), None)
    if name is None or headers[name] == headers[name].lower():
        return event
    value = headers[name].lower()
    multi = dict(event.get("multiValueHeaders") or {})
    if name in multi:
        multi[name] = [value]
    return {**event, "headers": {**headers, name: value}, "multiValueHeaders": multi}


def _is_utf8(encoded: str) -> bool:
    """Whether a base64-encoded body (API Gateway's form for bytes that are not text) decodes to
    UTF-8 text, as JSON must be."""
    try:
        base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return True


def _proxy(status: int, code: str, message: str, field: str) -> dict[str, Any]:
    body = {"code": code, "message": message, "field": field}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class DecodedPathResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, with path parameters as API Gateway decoded them.

    Powertools matches routes against the event's ``path``, which API Gateway passes on
    percent-encoded (``/users/a%40b``), and would hand the route ``a%40b``; the event's
    ``pathParameters`` hold the decoded ``a@b`` (an id with ``/`` can only be sent encoded)."""

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        decoded = self.current_event.path_parameters or {}
        return {key: decoded.get(key) or unquote(value) for key, value in match.groupdict().items()}


def build_resolver() -> APIGatewayRestResolver:
    """A resolver with request validation and the error contract wired in."""
    app = DecodedPathResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response:
        errors = exc.errors()
        for error in errors:
            if error.get("type") == "too_long" and tuple(error.get("loc", ())) in BATCH_FIELDS:
                field = _field(tuple(error["loc"]))
                limit = (error.get("ctx") or {}).get("max_length")
                return error_response(
                    413, "too_many_items", f"{field}: at most {limit} per request", field
                )
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field(tuple(first.get("loc", ())))
        message = f"{field}: {first.get('msg', 'invalid')}"
        if first.get("type") == "json_invalid":
            field, message = "body", "body: not valid JSON"
        return error_response(400, "invalid_request", message, field)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported(exc: RequestUnsupportedContentType) -> Response:
        return error_response(
            415, "unsupported_media_type", "Content-Type must be application/json", "Content-Type"
        )

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(AnswerError)
    def unknown_answer(exc: AnswerError) -> Response:
        """A genre or region outside the batch version's vocabulary."""
        return error_response(400, "invalid_request", exc.message, exc.field)

    @app.exception_handler(NoActiveVersionError)
    def not_ready(exc: NoActiveVersionError) -> Response:
        return error_response(503, "not_ready", "no batch lists are loaded yet; retry later")

    @app.exception_handler(ClientError)
    def aws_error(exc: ClientError) -> Response:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _THROTTLED:
            return error_response(
                429, "throttled", "too many requests, retry later", headers={"Retry-After": "1"}
            )
        logger.exception("AWS call failed", extra={"aws_error": code})
        return error_response(
            503, "dependency_unavailable", "a backing service failed, retry later"
        )

    @app.exception_handler(BotoCoreError)
    def aws_unreachable(exc: BotoCoreError) -> Response:
        """No answer from AWS at all (a read or connect timeout, a dropped connection)."""
        logger.exception("AWS call failed", extra={"aws_error": type(exc).__name__})
        return error_response(
            503, "dependency_unavailable", "a backing service failed, retry later"
        )

    @app.not_found
    def not_found(exc: Exception) -> Response:
        return error_response(404, "not_found", "no such route")

    return app
