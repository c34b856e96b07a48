"""Contract tests against the real inference server process (SageMaker's container contract)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import boto3
import numpy as np
import pytest
from botocore.config import Config

from container.protocol import MAX_BODY_BYTES, MAX_INSTANCES
from local.ports import free_port
from tests.conftest import REPO_ROOT
from tests.container.conftest import Server, running_server
from training.model.artifact import load_artifact
from training.model.features import encode_instances

LISTENER = {"age": 24, "gender": "f", "region": "us-tx", "selected_genres": ["Hip Hop", "R&B"]}


def _assert_ranked(result: dict, k: int) -> None:
    scores = [g["score"] for g in result["genres"]]
    assert len(scores) == k
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len({g["genre"] for g in result["genres"]}) == k


def test_ping_reports_the_loaded_model(server: Server):
    response = server.request("GET", "/ping", content_type=None)
    assert response.status == 200
    assert response.json()["model_version"]


def test_single_instance(server: Server):
    response = server.post_json("/invocations", LISTENER)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    _assert_ranked(doc, 3)
    assert (
        doc["model_version"]
        == server.request("GET", "/ping", content_type=None).json()["model_version"]
    )
    assert doc["warnings"] == []


def test_batch_with_top_k(server: Server):
    doc = server.post_json("/invocations", {"instances": [LISTENER, {}], "top_k": 5}).json()
    assert len(doc["predictions"]) == 2
    for result in doc["predictions"]:
        _assert_ranked(result, 5)
    assert doc["model_version"]


def test_jsonlines_for_batch_transform(server: Server):
    body = b"\n".join(json.dumps(i).encode() for i in (LISTENER, {"age": 70}, {}))
    response = server.request("POST", "/invocations", body, "application/jsonlines")
    assert response.status == 200
    assert response.headers["content-type"] == "application/jsonlines"
    lines = [json.loads(line) for line in response.body.splitlines()]
    assert len(lines) == 3
    for line in lines:
        _assert_ranked(line, 3)
        assert line["model_version"]


def test_endpoints_alias_answers_like_invocations(server: Server):
    direct = server.post_json("/invocations", LISTENER).json()
    alias = server.post_json("/endpoints/musicrec-onboarding/invocations", LISTENER).json()
    assert alias == direct


def test_unknown_region_is_treated_as_unknown_with_a_warning(server: Server):
    response = server.post_json("/invocations", {**LISTENER, "region": "zz-nowhere"})
    assert response.status == 200
    assert any("zz-nowhere" in w for w in response.json()["warnings"])


def test_unknown_selected_genre_is_ignored_and_named(server: Server):
    response = server.post_json(
        "/invocations", {**LISTENER, "selected_genres": ["Hip Hop", "Polka"]}
    )
    assert response.status == 200
    doc = response.json()
    assert any("Polka" in w for w in doc["warnings"])
    without = server.post_json("/invocations", {**LISTENER, "selected_genres": ["Hip Hop"]})
    assert doc["genres"] == without.json()["genres"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"age": 3', "application/json", 400, "malformed_json"),
        (b'{"age": "old"}', "application/json", 400, "invalid_field"),
        (b'{"age": 130}', "application/json", 400, "invalid_field"),
        (b'{"selected_genres": [1]}', "application/json", 400, "invalid_field"),
        (b'{"gender": "female"}', "application/json", 400, "invalid_field"),
        (b'["not", "an", "object"]', "application/json", 400, "invalid_body"),
        (b"age=3", "text/plain", 415, "unsupported_media_type"),
        (b'{"age": 3}\n{bad\n', "application/jsonlines", 400, "malformed_json"),
    ],
)
def test_bad_input_gets_a_json_4xx(server: Server, body, content_type, status, code):
    response = server.request("POST", "/invocations", body, content_type)
    assert response.status == status
    doc = response.json()
    assert doc["code"] == code
    assert doc["message"]


def test_error_names_the_field(server: Server):
    doc = server.post_json("/invocations", {"instances": [{}, {"age": 500}]}).json()
    assert doc["field"] == "instances[1].age"
    assert "instances[1].age" in doc["message"]


def test_too_many_instances_is_413(server: Server):
    response = server.post_json("/invocations", {"instances": [{}] * (MAX_INSTANCES + 1)})
    assert response.status == 413
    assert response.json()["code"] == "too_many_instances"


def test_body_over_6_mb_is_413(server: Server):
    response = server.request("POST", "/invocations", b" " * (MAX_BODY_BYTES + 10))
    assert response.status == 413
    assert response.json()["code"] == "payload_too_large"


def test_a_body_of_exactly_6_mb_and_exactly_the_instance_limit_are_answered(server: Server):
    doc = json.dumps({"age": 31, "selected_genres": ["Jazz"]}).encode()
    body = doc + b" " * (MAX_BODY_BYTES - len(doc))
    response = server.request("POST", "/invocations", body)
    assert response.status == 200, response.body
    response = server.request("POST", "/invocations", body + b" ")
    assert response.status == 413
    response = server.post_json("/invocations", {"instances": [{}] * MAX_INSTANCES})
    assert response.status == 200
    assert len(response.json()["predictions"]) == MAX_INSTANCES


def test_unknown_route_and_wrong_method(server: Server):
    assert server.request("GET", "/nope", content_type=None).status == 404
    wrong = server.request("GET", "/invocations", content_type=None)
    assert wrong.status == 405
    assert wrong.json()["code"] == "method_not_allowed"


def test_boto3_invoke_endpoint_gets_the_models_own_predictions(server: Server, trained_model_dir):
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    instances = [LISTENER, {"age": 67, "gender": "m", "selected_genres": ["Jazz"]}, {}]
    response = client.invoke_endpoint(
        EndpointName="musicrec-onboarding",
        ContentType="application/json",
        Body=json.dumps({"instances": instances, "top_k": 20}),
    )
    served = json.loads(response["Body"].read())["predictions"]

    artifact = load_artifact(trained_model_dir)
    proba = artifact.predict_proba(encode_instances(artifact.spec, instances).matrix)
    labels = artifact.class_labels
    for row, result in zip(proba, served, strict=True):
        for entry in result["genres"]:
            assert entry["score"] == pytest.approx(row[labels.index(entry["genre"])], abs=1e-6)
        assert result["genres"][0]["genre"] == labels[int(np.argmax(row))]


def test_sigterm_stops_every_worker_cleanly(trained_model_dir):
    with running_server(trained_model_dir, workers=2) as srv:
        assert srv.post_json("/invocations", LISTENER).status == 200
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=30) == 0


def test_a_corrupt_model_fails_at_start_with_a_clear_message(tmp_path):
    (tmp_path / "model.tar.gz").write_bytes(b"not a tarball")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "container.serve",
            "--model-dir",
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--workers",
            "1",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert b"not a readable model.tar.gz" in result.stderr
