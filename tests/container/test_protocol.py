"""The inference request contract, as pure functions (no server)."""

from __future__ import annotations

import orjson
import pytest

from container.protocol import (
    DEFAULT_TOP_K,
    MAX_BODY_BYTES,
    MAX_INSTANCES,
    RequestError,
    media_type,
    parse_request,
)


def _json(doc: object) -> bytes:
    return orjson.dumps(doc)


def _error(body: bytes, content_type: str = "application/json") -> RequestError:
    with pytest.raises(RequestError) as info:
        parse_request(body, content_type)
    return info.value


def test_single_instance_with_defaults():
    request = parse_request(_json({"age": 31, "selected_genres": ["Jazz"]}), "application/json")
    assert not request.batch
    assert request.top_k == DEFAULT_TOP_K
    answers = request.instances[0].answers()
    assert answers["age"] == 31
    assert answers["selected_genres"] == ["Jazz"]
    assert answers["gender"] is None


def test_single_instance_keeps_extra_answers_and_top_k_is_not_one():
    request = parse_request(_json({"occupation": "writer", "top_k": 5}), "application/json")
    assert request.top_k == 5
    answers = request.instances[0].answers()
    assert answers["occupation"] == "writer"
    assert "top_k" not in answers


def test_batch_of_instances():
    body = _json({"instances": [{"age": 20}, {"gender": "f"}], "top_k": 2})
    request = parse_request(body, "application/json; charset=utf-8")
    assert request.batch
    assert not request.jsonlines
    assert [i.age for i in request.instances] == [20, None]
    assert request.top_k == 2


def test_jsonlines_one_instance_per_line_blank_lines_skipped():
    body = b'{"age": 20}\n\n{"region": "us-tx"}\n'
    request = parse_request(body, "application/jsonlines")
    assert request.jsonlines
    assert request.batch
    assert [i.region for i in request.instances] == [None, "us-tx"]


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        ({"age": "31"}, "age", "valid integer"),
        ({"age": True}, "age", "valid integer"),
        ({"age": 121}, "age", "less than or equal to 120"),
        ({"age": -1}, "age", "greater than or equal to 0"),
        ({"gender": "F"}, "gender", "'f', 'm' or 'x'"),
        ({"region": 5}, "region", "valid string"),
        ({"selected_genres": "Jazz"}, "selected_genres", "valid list"),
        ({"selected_genres": ["Jazz", 3]}, "selected_genres[1]", "valid string"),
        ({"occupation": {"a": 1}}, "occupation", "valid string"),
        ({"top_k": 0}, "top_k", "from 1 to"),
        ({"top_k": "3"}, "top_k", "from 1 to"),
        ({"instances": [{}, {"age": 200}]}, "instances[1].age", "less than or equal"),
        ({"instances": [{}, 5]}, "instances[1]", "JSON object"),
        ({"instances": {"age": 3}}, "instances", "must be a list"),
        ({"instances": []}, "instances", "must not be empty"),
        ({"instances": [{}], "extra": 1}, "extra", "not allowed"),
    ],
)
def test_invalid_fields_are_400_and_name_the_field(doc, field, words):
    error = _error(_json(doc))
    assert error.status == 400
    assert error.field == field
    assert error.message.startswith(field)
    assert words in error.message


def test_malformed_json_is_400():
    error = _error(b'{"age": 3')
    assert (error.status, error.code) == (400, "malformed_json")


def test_malformed_jsonline_names_the_line():
    error = _error(b'{"age": 3}\n{oops\n', "application/jsonlines")
    assert error.status == 400
    assert "line 2" in error.message


def test_body_must_be_an_object():
    assert _error(b"[1, 2]").code == "invalid_body"


def test_too_many_instances_is_413():
    error = _error(_json({"instances": [{}] * (MAX_INSTANCES + 1)}))
    assert (error.status, error.code) == (413, "too_many_instances")


def test_body_over_limit_is_413():
    error = _error(b" " * (MAX_BODY_BYTES + 1))
    assert (error.status, error.code) == (413, "payload_too_large")


def test_unsupported_content_type_is_415():
    error = _error(b"age=3", "application/x-www-form-urlencoded")
    assert error.status == 415
    assert "application/json" in error.message


def test_error_body_is_json_with_code_message_and_field():
    body = _error(_json({"age": 500})).body()
    assert set(body) == {"code", "message", "field"}


def test_media_type_defaults_to_json():
    assert media_type(None) == "application/json"
    assert media_type("Application/JSON; charset=utf-8") == "application/json"


def test_exactly_the_instance_limit_is_accepted_in_json_and_jsonlines():
    request = parse_request(_json({"instances": [{}] * MAX_INSTANCES}), "application/json")
    assert len(request.instances) == MAX_INSTANCES
    lines = b"\n".join([b"{}"] * MAX_INSTANCES)
    assert len(parse_request(lines, "application/jsonlines").instances) == MAX_INSTANCES
    error = _error(lines + b"\n{}", "application/jsonlines")
    assert (error.status, error.code) == (413, "too_many_instances")


def test_a_body_of_exactly_the_size_limit_is_accepted():
    doc = _json({"age": 31, "selected_genres": ["Jazz"]})
    body = doc + b" " * (MAX_BODY_BYTES - len(doc))  # JSON allows trailing whitespace
    assert len(body) == MAX_BODY_BYTES
    assert parse_request(body, "application/json").instances[0].age == 31
