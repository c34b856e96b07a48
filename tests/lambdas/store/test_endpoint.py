"""The SageMaker client against a real HTTP server answering as the endpoint would: what it sends,
what it accepts, one retry at most, and one error type for every failure."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lambdas.store.endpoint import EndpointError, parse_prediction, predict_genres, runtime_client
from local.ports import free_port

GOOD = {
    "genres": [{"genre": "Jazz", "score": 0.7}, {"genre": "Rock", "score": 0.2}],
    "model_version": "m-12",
}


class _Endpoint(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, answers: list[tuple[int, bytes, float]]) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.answers = answers  # (status, body, delay) per call; the last one repeats
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Endpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        calls = self.server.requests
        calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, answer, delay = self.server.answers[min(len(calls), len(self.server.answers)) - 1]
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:  # the client gave up waiting
            pass

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def endpoint(monkeypatch) -> Iterator[_Endpoint]:
    server = _Endpoint([(200, json.dumps(GOOD).encode(), 0.0)])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name, value in {
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _error(status: int, doc: object = None) -> tuple[int, bytes, float]:
    return status, json.dumps(doc or {"message": "boom"}).encode(), 0.0


def test_parse_prediction_reads_genres_as_text_and_scores_as_numbers():
    body = json.dumps(
        {
            "genres": [{"genre": 7, "score": "0.5", "x": 1}, {"genre": "Rock", "score": 1}],
            "model_version": 3,
        }
    ).encode()
    genres, version = parse_prediction(body)
    assert genres == [{"genre": "7", "score": 0.5}, {"genre": "Rock", "score": 1.0}]
    assert isinstance(genres[1]["score"], float)
    assert version == "3"


def test_parse_prediction_without_a_version_says_unknown():
    assert parse_prediction(b'{"genres": [{"genre": "Jazz", "score": 0.1}]}') == (
        [{"genre": "Jazz", "score": 0.1}],
        "unknown",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",  # ValueError
        b'{"predictions": []}',  # KeyError
        b'{"genres": [{"genre": "Jazz"}]}',  # KeyError
        b'{"genres": [{"genre": "Jazz", "score": "high"}]}',  # ValueError
        b'{"genres": null}',  # TypeError
        b'["Jazz"]',  # TypeError
    ],
)
def test_an_unusable_answer_is_an_endpoint_error(body):
    with pytest.raises(EndpointError, match=r"^unusable answer from the endpoint: ") as info:
        parse_prediction(body)
    assert isinstance(info.value.__cause__, (ValueError, KeyError, TypeError))


def test_no_genres_is_an_endpoint_error():
    with pytest.raises(EndpointError, match=r"^the endpoint returned no genres$"):
        parse_prediction(b'{"genres": [], "model_version": "m"}')


def test_the_runtime_client_tries_once_within_its_timeout(endpoint):
    client = runtime_client(0.25)
    assert client.meta.service_model.service_name == "sagemaker-runtime"
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.25, 0.25)
    assert config.retries["total_max_attempts"] == 1


def test_predict_sends_the_instance_and_top_k_as_json(endpoint):
    genres, version = predict_genres(
        runtime_client(5), "onboarding-ep", {"age": 31, "region": "us-tx"}, 2, budget_s=5
    )
    assert genres == GOOD["genres"]
    assert version == "m-12"
    [request] = endpoint.requests
    assert request["path"] == "/endpoints/onboarding-ep/invocations"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Accept"] == "application/json"
    assert json.loads(request["body"]) == {"age": 31, "region": "us-tx", "top_k": 2}


def test_a_failed_attempt_is_retried_once(endpoint):
    endpoint.answers = [_error(500), (200, json.dumps(GOOD).encode(), 0.0)]
    genres, _ = predict_genres(runtime_client(5), "ep", {}, 3, budget_s=5)
    assert genres == GOOD["genres"]
    assert len(endpoint.requests) == 2


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (_error(500), "ModelError|InternalFailure|500"),  # ClientError
        ((200, b"garbage", 0.0), "unusable answer"),  # EndpointError
        ((200, b'{"genres": []}', 0.0), "no genres"),  # EndpointError
    ],
)
def test_two_failures_give_one_endpoint_error_naming_the_endpoint(endpoint, answer, cause):
    endpoint.answers = [answer]
    with pytest.raises(EndpointError, match=rf"^endpoint ep-7: .*({cause})") as info:
        predict_genres(runtime_client(5), "ep-7", {}, 3, budget_s=5)
    assert info.value.__cause__ is not None
    assert len(endpoint.requests) == 2  # one retry, not more


def test_an_unreachable_endpoint_is_an_endpoint_error(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(EndpointError, match=r"^endpoint ep: ") as info:
        predict_genres(runtime_client(1), "ep", {}, 3, budget_s=1)
    assert type(info.value.__cause__).__module__.startswith("botocore")  # BotoCoreError


def test_no_retry_once_the_first_attempt_took_the_whole_budget(endpoint):
    """The first attempt answers after 0.6 s, more than the 0.4 s budget: a second one would not
    end within twice the budget (0.8 s), so there is none."""
    endpoint.answers = [(500, b"{}", 0.6)]
    with pytest.raises(EndpointError):
        predict_genres(runtime_client(5), "ep", {}, 3, budget_s=0.4)
    assert len(endpoint.requests) == 1
