"""The inference server's HTTP layer in-process: the ASGI app driven message by message, serving a
real model trained on the tiny planted dataset (no server process, no network)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from container.app import MAX_DRAIN_BYTES, InferenceApp
from container.predictor import GenrePredictor, load_predictor
from container.protocol import MAX_BODY_BYTES, Instance, parse_request
from tests.training.model.conftest import FAST_HP
from tests.training.model.tiny import build_tiny
from training.model.hyperparams import Hyperparameters
from training.model.train import train

MB = 1024 * 1024
ANSWERS = {"age": 24, "gender": "f", "region": "north", "selected_genres": ["Jazz"]}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("app")
    data = build_tiny(root / "data", n_users=600)
    code, result = train(
        data,
        root / "model",
        Hyperparameters.from_overrides(FAST_HP),
        progress=False,
        verbose=False,
    )
    assert code == 0, result.gate.reason
    return root / "model"


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> GenrePredictor:
    return load_predictor(model_dir)


class Response:
    def __init__(self, sent: list[dict[str, Any]]) -> None:
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
        self.status: int = sent[0]["status"]
        self.headers: list[tuple[bytes, bytes]] = sent[0]["headers"]
        self.body: bytes = sent[1]["body"]

    def json(self) -> Any:
        return orjson.loads(self.body)


def _drive(app: InferenceApp, scope: dict[str, Any], messages: Iterable[dict[str, Any]]):
    """Run the app on ``scope``; (what it sent, how many messages it received)."""
    sent: list[dict[str, Any]] = []
    source: Iterator[dict[str, Any]] = iter(messages)
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return next(source)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, received


def _http(
    app: InferenceApp,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: bytes | None = b"application/json",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Response:
    extra = [] if content_type is None else [(b"content-type", content_type)]
    scope = {"type": "http", "method": method, "path": path, "headers": [*(headers or []), *extra]}
    sent, _ = _drive(app, scope, [{"type": "http.request", "body": body, "more_body": False}])
    return Response(sent)


def _started(model_dir: Path) -> InferenceApp:
    app = InferenceApp(lambda: load_predictor(model_dir))
    sent, _ = _drive(
        app, {"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    )
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    return app


@pytest.fixture(scope="module")
def app(model_dir: Path) -> InferenceApp:
    return _started(model_dir)


# lifespan --------------------------------------------------------------------------------------


def test_startup_loads_the_model_and_pings_healthy_with_its_version(model_dir, predictor):
    app = InferenceApp(lambda: load_predictor(model_dir))
    assert app.predictor is None
    sent, received = _drive(
        app,
        {"type": "lifespan"},
        [{"type": "lifespan.startup"}, {"type": "lifespan.other"}, {"type": "lifespan.shutdown"}],
    )
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert received == 3
    assert app.predictor is not None
    ping = _http(app, "GET", "/ping", content_type=None)
    assert (ping.status, ping.json()) == (
        200,
        {"status": "ok", "model_version": predictor.model_version},
    )


def test_a_model_that_fails_to_load_fails_the_startup_and_pings_503(tmp_path, caplog):
    app = InferenceApp(lambda: load_predictor(tmp_path / "missing"))
    with caplog.at_level(logging.ERROR, logger="container.app"):
        sent, received = _drive(
            app, {"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        )
    [message] = sent
    assert message["type"] == "lifespan.startup.failed"
    assert message["message"] == f"{tmp_path / 'missing'}: no such model directory or model.tar.gz"
    assert received == 1  # it stops listening: the server exits
    assert app.predictor is None
    assert [r.getMessage() for r in caplog.records] == ["model failed to load"]
    ping = _http(app, "GET", "/ping", content_type=None)
    assert (ping.status, ping.json()) == (503, {"code": "not_ready", "message": "model not loaded"})
    invocation = _http(app, "POST", "/invocations", orjson.dumps(ANSWERS))
    assert (invocation.status, invocation.json()) == (
        503,
        {"code": "not_ready", "message": "model not loaded"},
    )


def test_other_scopes_are_ignored(app):
    sent, received = _drive(app, {"type": "websocket"}, [])
    assert (sent, received) == ([], 0)


# routes ----------------------------------------------------------------------------------------


def test_one_instance_gets_its_genres_with_the_model_version(app, predictor):
    response = _http(app, "POST", "/invocations", orjson.dumps({**ANSWERS, "top_k": 2}))
    expected = predictor.predict([Instance(**ANSWERS)], 2)[0]
    assert response.status == 200
    assert response.json() == {**expected, "model_version": predictor.model_version}
    assert len(response.json()["genres"]) == 2
    assert response.headers == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(response.body)).encode()),
    ]


def test_a_batch_gets_a_list_of_predictions(app, predictor):
    doc = {"instances": [ANSWERS, {"age": 61}], "top_k": 1}
    response = _http(app, "POST", "/invocations", orjson.dumps(doc))
    request = parse_request(orjson.dumps(doc), "application/json")
    assert response.status == 200
    assert response.json() == {
        "predictions": predictor.predict(request.instances, 1),
        "model_version": predictor.model_version,
    }


def test_jsonlines_get_one_line_per_instance(app, predictor):
    body = orjson.dumps(ANSWERS) + b"\n" + orjson.dumps({"age": 61}) + b"\n"
    response = _http(app, "POST", "/invocations", body, b"application/jsonlines")
    results = predictor.predict([Instance(**ANSWERS), Instance(age=61)], 3)
    version = predictor.model_version
    assert response.status == 200
    assert response.body == b"".join(
        orjson.dumps({**r, "model_version": version}) + b"\n" for r in results
    )
    assert response.headers == [
        (b"content-type", b"application/jsonlines"),
        (b"content-length", str(len(response.body)).encode()),
    ]


def test_the_endpoint_alias_answers_like_invocations(app):
    body = orjson.dumps(ANSWERS)
    direct = _http(app, "POST", "/invocations", body)
    alias = _http(app, "POST", "/endpoints/onboarding/invocations", body)
    assert (alias.status, alias.body) == (200, direct.body)


@pytest.mark.parametrize(
    "path",
    [
        "/endpoints//invocations",
        "/endpoints/onboarding/invocations/more",
        "/endpoints/invocations",
        "/endpoint/onboarding/invocations",
        "/endpoints/onboarding/invocation",
        "/nope",
    ],
)
def test_other_paths_are_404_naming_the_route(app, path):
    response = _http(app, "POST", path, orjson.dumps(ANSWERS))
    assert (response.status, response.json()) == (
        404,
        {"code": "not_found", "message": f"no route for POST {path}"},
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/ping", "GET"),
        ("GET", "/invocations", "POST"),
        ("PUT", "/endpoints/onboarding/invocations", "POST"),
        ("POST", "/execution-parameters", "GET"),
    ],
)
def test_a_wrong_method_is_405_naming_the_right_one(app, method, path, allowed):
    response = _http(app, method, path)
    assert (response.status, response.json()) == (
        405,
        {"code": "method_not_allowed", "message": f"use {allowed}"},
    )


def test_execution_parameters_for_batch_transform(app):
    response = _http(app, "GET", "/execution-parameters", content_type=None)
    assert (response.status, response.json()) == (
        200,
        {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6},
    )


def test_bad_input_is_the_protocols_4xx(app):
    response = _http(app, "POST", "/invocations", orjson.dumps({"age": 500}))
    assert response.status == 400
    assert response.json()["field"] == "age"
    response = _http(app, "POST", "/invocations", b"age=3", b"text/plain")
    assert (response.status, response.json()["code"]) == (415, "unsupported_media_type")


def test_the_content_type_is_read_from_its_own_header(app):
    body = orjson.dumps(ANSWERS) + b"\n"
    response = _http(
        app,
        "POST",
        "/invocations",
        body,
        b"application/jsonlines",
        headers=[(b"x-content-type", b"application/json"), (b"accept", b"application/json")],
    )
    assert response.status == 200
    assert response.headers[0] == (b"content-type", b"application/jsonlines")
    response = _http(app, "POST", "/invocations", orjson.dumps(ANSWERS), None)
    assert response.status == 200  # no Content-Type: JSON


def test_a_bug_is_a_json_500_and_logged(app, caplog):
    scope = {"type": "http", "method": "POST", "path": "/invocations"}  # no headers: a KeyError
    with caplog.at_level(logging.ERROR, logger="container.app"):
        sent, _ = _drive(app, scope, [{"type": "http.request", "body": b"{}"}])
    response = Response(sent)
    assert (response.status, response.json()) == (
        500,
        {"code": "internal_error", "message": "internal error"},
    )
    assert [r.getMessage() for r in caplog.records] == ["unhandled error on POST /invocations"]


# the body --------------------------------------------------------------------------------------


def _chunks(parts: list[bytes], more_after_last: bool = False) -> list[dict[str, Any]]:
    return [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1 or more_after_last}
        for i, part in enumerate(parts)
    ]


def _post(app: InferenceApp, messages: Iterable[dict[str, Any]], headers=()):
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/invocations",
        "headers": [(b"content-type", b"application/json"), *headers],
    }
    sent, received = _drive(app, scope, messages)
    return Response(sent), received


def test_a_body_in_chunks_is_joined(app, predictor):
    body = orjson.dumps(ANSWERS)
    response, received = _post(app, _chunks([body[:5], b"", body[5:]]))
    assert response.status == 200
    assert received == 3
    assert response.json()["genres"] == predictor.predict([Instance(**ANSWERS)], 3)[0]["genres"]


def test_a_body_of_exactly_the_limit_is_read(app):
    body = orjson.dumps(ANSWERS)
    padded = body + b" " * (MAX_BODY_BYTES - len(body))
    response, _ = _post(
        app,
        _chunks([padded[:MB], padded[MB:]]),
        [(b"content-length", str(MAX_BODY_BYTES).encode())],
    )
    assert response.status == 200


TOO_LARGE = {
    "code": "payload_too_large",
    "message": f"body: more than {MAX_BODY_BYTES} bytes",
    "field": "body",
}


def test_a_body_past_the_limit_is_413(app):
    response, received = _post(app, _chunks([b" " * MB] * 6 + [b" "]))
    assert (response.status, response.json()) == (413, TOO_LARGE)
    assert received == 7


def test_a_declared_length_past_the_limit_is_413_after_draining(app):
    declared = [(b"content-length", str(MAX_BODY_BYTES + 1).encode())]
    response, received = _post(app, _chunks([b"{}", b"{}"]), declared)
    assert (response.status, response.json()) == (413, TOO_LARGE)
    assert received == 2  # what the client sent was read
    not_a_number = [(b"content-length", b"lots")]
    response, _ = _post(app, _chunks([orjson.dumps(ANSWERS)]), not_a_number)
    assert response.status == 200


def test_draining_stops_past_four_times_the_limit(app):
    assert MAX_DRAIN_BYTES == 4 * MAX_BODY_BYTES
    endless = ({"type": "http.request", "body": b" " * MB, "more_body": True} for _ in range(999))
    response, received = _post(app, endless)
    assert response.status == 413
    assert received == 4 * 6 + 1  # the first chunk past 24 MB is the last one read


def test_a_client_gone_midway_leaves_what_was_sent(app):
    body = orjson.dumps(ANSWERS)
    messages = [*_chunks([body[:4]], more_after_last=True), {"type": "http.disconnect"}]
    response, received = _post(app, messages)
    assert (response.status, response.json()["code"]) == (400, "malformed_json")
    assert received == 2


def test_a_request_message_may_leave_out_its_body_and_more_body(app):
    body = orjson.dumps(ANSWERS)
    response, received = _post(app, [{"type": "http.request", "body": body}])
    assert (response.status, received) == (200, 1)  # no more_body: the body is complete
    response, received = _post(app, [{"type": "http.request"}])
    assert (response.status, response.json()["code"], received) == (400, "malformed_json", 1)
    response, _ = _post(
        app, [{"type": "http.request", "more_body": True}, {"type": "http.request", "body": body}]
    )
    assert response.status == 200  # no body in the first message: nothing of it is read


def test_the_payload_limit_is_a_whole_number_of_megabytes(app):
    response = _http(app, "GET", "/execution-parameters", content_type=None)
    assert b'"MaxPayloadInMB":6}' in response.body
