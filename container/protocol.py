"""The inference request contract: parse and validate request bodies into onboarding instances.

Pure functions, no I/O: the HTTP layer (:mod:`container.app`) hands over the body and content
type; this module returns validated instances or raises :class:`RequestError` with the HTTP status,
a stable code and a message that names the field.

Accepted bodies:

- ``application/json``: one instance (``{"age": 31, "selected_genres": [...]}``), optionally with
  ``top_k``; or a batch, ``{"instances": [...], "top_k": k}``.
- ``application/jsonlines`` (batch transform): one instance per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time endpoints accept at most 6 MB
MAX_INSTANCES = 1000
MAX_TOP_K = 100
DEFAULT_TOP_K = 3
MAX_SELECTED_GENRES = 50

JSON = "application/json"
JSONLINES = "application/jsonlines"
_JSONLINES_ALIASES = frozenset({JSONLINES, "application/jsonl", "application/x-jsonlines"})

ExtraAnswer = Annotated[str, Field(max_length=256)] | float | int | bool | None


class RequestError(Exception):
    """A request the server refuses: HTTP status, stable code, human message, offending field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class Instance(BaseModel):
    """One listener's onboarding answers; further keys are extra answers (numbers or strings)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    age: Annotated[int, Strict(), Field(ge=0, le=120)] | None = None
    gender: Literal["f", "m", "x"] | None = None
    region: Annotated[str, Field(max_length=64)] | None = None
    selected_genres: Annotated[
        list[Annotated[str, Field(max_length=128)]], Field(max_length=MAX_SELECTED_GENRES)
    ] = Field(default_factory=list)

    def answers(self) -> dict[str, Any]:
        """All answers as a plain dict (known fields and extras), as the feature encoder wants."""
        out: dict[str, Any] = {
            "age": self.age,
            "gender": self.gender,
            "region": self.region,
            "selected_genres": list(self.selected_genres),
        }
        if self.model_extra:
            out.update(self.model_extra)
        return out


class _ExtraAnswers(BaseModel):
    """Validates the extra answers' values: scalars only (no nested lists or objects)."""

    values: dict[str, ExtraAnswer]


@dataclass(frozen=True)
class ParsedRequest:
    instances: list[Instance]
    top_k: int
    batch: bool  # answer with a list (``{"instances": ...}`` or jsonlines) rather than one object
    jsonlines: bool


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header (``application/json; charset=utf-8``)."""
    if not content_type:
        return JSON
    return content_type.split(";", 1)[0].strip().lower()


def _field_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def parse_instance(raw: Any, prefix: str) -> Instance:
    """Validate one instance; errors name the field as ``prefix.field`` (or ``prefix[i].field``)."""
    if not isinstance(raw, dict):
        raise RequestError(
            400, "invalid_instance", f"{prefix or 'body'}: must be a JSON object", prefix or None
        )
    try:
        instance = Instance.model_validate(raw)
        if instance.model_extra:
            _ExtraAnswers.model_validate({"values": instance.model_extra})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        if loc[:1] == ("values",):
            loc = loc[1:2]  # an extra answer: name the key, not the union branch
        else:
            loc = tuple(p for p in loc if not (isinstance(p, str) and p.endswith("]")))
        field = _field_path(prefix, loc)
        raise RequestError(400, "invalid_field", f"{field}: {error['msg']}", field) from None
    return instance


def parse_top_k(value: Any) -> int:
    if value is None:
        return DEFAULT_TOP_K
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise RequestError(
            400, "invalid_field", f"top_k: must be an integer from 1 to {MAX_TOP_K}", "top_k"
        )
    return value


def _loads(data: bytes, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "malformed_json", f"{what}: not valid JSON ({exc})") from None


def _check_count(n: int) -> None:
    if n == 0:
        raise RequestError(400, "invalid_field", "instances: must not be empty", "instances")
    if n > MAX_INSTANCES:
        raise RequestError(
            413,
            "too_many_instances",
            f"instances: {n} given, at most {MAX_INSTANCES} per request",
            "instances",
        )


def parse_request(body: bytes, content_type: str | None) -> ParsedRequest:
    """Turn a request body into validated instances, or raise :class:`RequestError`."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(
            413, "payload_too_large", f"body: {len(body)} bytes, at most {MAX_BODY_BYTES}"
        )
    kind = media_type(content_type)
    if kind in _JSONLINES_ALIASES:
        lines = [line for line in body.splitlines() if line.strip()]
        _check_count(len(lines))
        instances = [
            parse_instance(_loads(line, f"line {i + 1}"), f"line {i + 1}")
            for i, line in enumerate(lines)
        ]
        return ParsedRequest(instances, DEFAULT_TOP_K, batch=True, jsonlines=True)
    if kind != JSON:
        raise RequestError(
            415,
            "unsupported_media_type",
            f"Content-Type {kind!r} is not supported; use {JSON} or {JSONLINES}",
        )
    doc = _loads(body, "body")
    if not isinstance(doc, dict):
        raise RequestError(
            400,
            "invalid_body",
            'body: must be a JSON object (one instance, or {"instances": [...]})',
        )
    if "instances" in doc:
        raw_instances = doc["instances"]
        if not isinstance(raw_instances, list):
            raise RequestError(400, "invalid_field", "instances: must be a list", "instances")
        _check_count(len(raw_instances))
        unexpected = sorted(set(doc) - {"instances", "top_k"})
        if unexpected:
            raise RequestError(
                400,
                "unknown_field",
                f"{unexpected[0]}: not allowed beside instances",
                unexpected[0],
            )
        instances = [parse_instance(r, f"instances[{i}]") for i, r in enumerate(raw_instances)]
        return ParsedRequest(instances, parse_top_k(doc.get("top_k")), batch=True, jsonlines=False)
    raw = dict(doc)
    top_k = parse_top_k(raw.pop("top_k", None))
    return ParsedRequest([parse_instance(raw, "")], top_k, batch=False, jsonlines=False)
