"""Every refusal of the request contract exactly (status, code, message, field: clients branch on
them, docs/container.md lists them), and the shape of each accepted request."""

from __future__ import annotations

import orjson
import pytest

from container.protocol import (
    DEFAULT_TOP_K,
    MAX_BODY_BYTES,
    MAX_INSTANCES,
    MAX_TOP_K,
    ParsedRequest,
    RequestError,
    media_type,
    parse_instance,
    parse_request,
)

JSON = "application/json"


def _refusal(body: bytes, content_type: str | None = JSON) -> tuple[int, str, str, str | None]:
    with pytest.raises(RequestError) as info:
        parse_request(body, content_type)
    error = info.value
    assert str(error) == error.message
    return error.status, error.code, error.message, error.field


@pytest.mark.parametrize(
    ("doc", "refusal"),
    [
        (
            [1, 2],
            (
                400,
                "invalid_body",
                'body: must be a JSON object (one instance, or {"instances": [...]})',
                None,
            ),
        ),
        (
            {"instances": {"age": 3}},
            (400, "invalid_field", "instances: must be a list", "instances"),
        ),
        ({"instances": []}, (400, "invalid_field", "instances: must not be empty", "instances")),
        (
            {"instances": [{}], "extra": 1, "another": 2},
            (400, "unknown_field", "another: not allowed beside instances", "another"),
        ),
        (
            {"instances": [{}, 5]},
            (400, "invalid_instance", "instances[1]: must be a JSON object", "instances[1]"),
        ),
        (
            {"instances": [{}, {"age": 200}]},
            (
                400,
                "invalid_field",
                "instances[1].age: Input should be less than or equal to 120",
                "instances[1].age",
            ),
        ),
        ({"age": "31"}, (400, "invalid_field", "age: Input should be a valid integer", "age")),
        (
            {"selected_genres": ["Jazz", 3]},
            (
                400,
                "invalid_field",
                "selected_genres[1]: Input should be a valid string",
                "selected_genres[1]",
            ),
        ),
        ({"mood": [1]}, (400, "invalid_field", "mood: Input should be a valid string", "mood")),
        (
            {"top_k": 0},
            (400, "invalid_field", f"top_k: must be an integer from 1 to {MAX_TOP_K}", "top_k"),
        ),
        (
            {"top_k": MAX_TOP_K + 1},
            (400, "invalid_field", "top_k: must be an integer from 1 to 100", "top_k"),
        ),
        (
            {"top_k": True},
            (400, "invalid_field", "top_k: must be an integer from 1 to 100", "top_k"),
        ),
        (
            {"instances": [{}], "top_k": 2.0},
            (400, "invalid_field", "top_k: must be an integer from 1 to 100", "top_k"),
        ),
        (
            {"instances": [{}] * (MAX_INSTANCES + 1)},
            (
                413,
                "too_many_instances",
                "instances: 1001 given, at most 1000 per request",
                "instances",
            ),
        ),
    ],
)
def test_json_refusals(doc, refusal):
    assert _refusal(orjson.dumps(doc)) == refusal


def test_an_instance_that_is_not_an_object_without_a_prefix_names_the_body():
    with pytest.raises(RequestError) as info:
        parse_instance(3, "")
    assert (info.value.code, info.value.message, info.value.field) == (
        "invalid_instance",
        "body: must be a JSON object",
        None,
    )


def test_malformed_json_and_jsonlines_name_where():
    status, code, message, field = _refusal(b'{"age": 3')
    assert (status, code, field) == (400, "malformed_json", None)
    assert message.startswith("body: not valid JSON (")
    status, code, message, field = _refusal(b'{"age": 3}\n{oops\n', "application/jsonl")
    assert (status, code, field) == (400, "malformed_json", None)
    assert message.startswith("line 2: not valid JSON (")
    assert _refusal(b'{"age": 3}\n[1]\n', "application/x-jsonlines") == (
        400,
        "invalid_instance",
        "line 2: must be a JSON object",
        "line 2",
    )
    assert _refusal(b'{}\n{"age": -1}\n', "application/jsonlines") == (
        400,
        "invalid_field",
        "line 2.age: Input should be greater than or equal to 0",
        "line 2.age",
    )
    assert _refusal(b"\n \n", "application/jsonlines") == (
        400,
        "invalid_field",
        "instances: must not be empty",
        "instances",
    )


def test_size_and_media_type_refusals():
    assert _refusal(b" " * (MAX_BODY_BYTES + 1)) == (
        413,
        "payload_too_large",
        "body: 6291457 bytes, at most 6291456",
        None,
    )
    assert _refusal(b"age=3", "Text/Plain; charset=utf-8") == (
        415,
        "unsupported_media_type",
        "Content-Type 'text/plain' is not supported; use application/json or application/jsonlines",
        None,
    )


def test_the_error_body_has_a_field_only_when_there_is_one():
    assert RequestError(400, "c", "m", "f").body() == {"code": "c", "message": "m", "field": "f"}
    assert RequestError(415, "c", "m").body() == {"code": "c", "message": "m"}
    assert RequestError(400, "c", "m", "").body() == {"code": "c", "message": "m", "field": ""}


def test_accepted_requests_say_how_to_answer():
    one = parse_request(orjson.dumps({"age": 31, "region": "us-tx"}), JSON)
    assert DEFAULT_TOP_K == 3
    assert (one.top_k, one.batch, one.jsonlines) == (3, False, False)
    assert one.instances[0].answers() == {
        "age": 31,
        "gender": None,
        "region": "us-tx",
        "selected_genres": [],
    }
    batch = parse_request(orjson.dumps({"instances": [{}], "top_k": MAX_TOP_K}), JSON)
    assert (batch.top_k, batch.batch, batch.jsonlines) == (100, True, False)
    lines = parse_request(b'{"age": 1}\n', "application/jsonlines")
    assert isinstance(lines, ParsedRequest)
    assert (lines.top_k, lines.batch, lines.jsonlines) == (3, True, True)
    smallest = parse_request(orjson.dumps({"top_k": 1}), JSON)
    assert (smallest.top_k, smallest.batch, smallest.jsonlines) == (1, False, False)


def test_the_media_type_is_what_comes_before_the_first_parameter():
    assert media_type("application/json; charset=utf-8; q=1") == JSON
    assert media_type("") == JSON
    assert media_type(" APPLICATION/JSONLINES ") == "application/jsonlines"
    request = parse_request(orjson.dumps({}), "application/json; charset=utf-8; boundary=x")
    assert not request.batch
