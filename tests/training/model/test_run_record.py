"""run.json, the run record training writes next to metrics.json, passed or refused; and the
record it becomes under runs/ when the pipeline's record step (the loader's ``record-run``)
reads it from the artifact SageMaker uploads after ``python -m training.pipeline.sagemaker_train``
(moto's S3 stands in for the data bucket)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from lambdas.handlers import loader
from tests.lambdas.events import FakeContext
from tests.training.model.test_sagemaker import _layout, _sagemaker_tarball
from training.model.run_record import RUN_FILE, dataset_identity, model_metrics
from training.pipeline.sagemaker_train import main

BUCKET = "musicrec-test-data"
WEAK = {"num_boost_round": 1, "learning_rate": 1e-6}  # refused by the gate


def test_a_passed_run_records_its_verdict_metrics_with_intervals_and_dataset(trained, tiny_dir):
    model_dir, result = trained
    run = json.loads((model_dir / RUN_FILE).read_text())
    document = json.loads((model_dir / "model.json").read_text())
    assert run["passed"] is True
    assert run["reason"].startswith("passed: ")
    assert run["checks"] == result.gate.checks
    assert run["model_version"] == document["model_version"]
    assert run["status"] == "approved"
    started = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00"))
    assert started <= finished
    assert {"lightgbm", "rule_selected_popular", "global_popular"} <= set(run["metrics"])
    for metric in ("hit@1", "hit@3", "mrr"):
        cell = run["metrics"]["rule_selected_popular"][metric]
        assert cell["low"] <= cell["value"] <= cell["high"]
    assert run["n_test_users"] == result.n_test
    assert run["dataset"]["fingerprint"] == dataset_identity(tiny_dir)["fingerprint"]
    assert run["dataset"]["signups"]["test"] == result.data.training_data["test_signups"]
    assert run["baseline_model"] is None


def test_the_dataset_fingerprint_follows_the_files_not_where_they_are(tiny_dir, tmp_path):
    copy = shutil.copytree(tiny_dir, tmp_path / "elsewhere")
    assert dataset_identity(copy)["fingerprint"] == dataset_identity(tiny_dir)["fingerprint"]
    some = next(p for p in sorted(copy.rglob("*")) if p.is_file())
    some.write_bytes(some.read_bytes() + b"\0")
    assert dataset_identity(copy)["fingerprint"] != dataset_identity(tiny_dir)["fingerprint"]
    assert dataset_identity(tmp_path / "missing")["files"] == 0


def test_a_metric_without_an_interval_has_null_bounds():
    metrics = model_metrics({"m": {"hit@1": 0.5, "other": 1.0}}, {})
    assert metrics == {"m": {"hit@1": {"value": 0.5, "low": None, "high": None}}}


@pytest.fixture
def s3(monkeypatch):
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "BATCH_BUCKET": BUCKET}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        loader._clients.cache_clear()
        yield client
        loader._clients.cache_clear()


def _train_and_record(s3, prefix, job: str) -> tuple[int, dict]:
    """The SageMaker entry point, SageMaker's upload of /opt/ml/model, then the record step as
    the state machine invokes it (the failure path's payload when the job failed)."""
    code = main(["--prefix", str(prefix), "--no-progress"])
    tarball = prefix / "upload.tar.gz"
    _sagemaker_tarball(prefix / "model", tarball)
    key = f"models/{job}/output/model.tar.gz"
    s3.upload_file(str(tarball), BUCKET, key)
    event: dict[str, Any] = {"action": "record-run", "job": job, "artifact": f"s3://{BUCKET}/{key}",
             "runs": f"s3://{BUCKET}/runs/"}  # fmt: skip
    if code != 0:
        reason = (prefix / "output" / "failure").read_text()
        event["error"] = {"Error": "SageMaker.AmazonSageMakerException",
                          "Cause": json.dumps({"FailureReason": reason})}  # fmt: skip
    return code, loader.lambda_handler(event, cast(Any, FakeContext()))


def _stored(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_the_sagemaker_entry_point_s_passed_run_is_recorded(s3, tiny_dir, tmp_path, trained):
    prefix = _layout(tmp_path / "ml", tiny_dir, baseline=trained[0] / "model.tar.gz")
    code, answer = _train_and_record(s3, prefix, "musicrec-dev-train-0a1b")
    assert (code, answer["passed"], answer["complete"]) == (0, True, True)
    record = _stored(s3, answer["key"])
    assert answer["key"] == f"runs/{record['run_id']}.json"
    assert record["run_id"].endswith("-musicrec-dev-train-0a1b")
    assert (
        record["baseline_model"]
        == json.loads((trained[0] / "model.json").read_text())["model_version"]
    )
    assert "previous_model" in record["metrics"]  # the previous model's metrics, intervals too
    assert record["dataset"]["path"].endswith("input/data/train")


def test_the_sagemaker_entry_point_s_refused_run_is_recorded_with_its_metrics(
    s3, tiny_dir, tmp_path
):
    prefix = _layout(tmp_path / "ml", tiny_dir, hp=WEAK)
    code, answer = _train_and_record(s3, prefix, "musicrec-dev-train-9f9f")
    assert code == 1  # the job fails, as SageMaker must see it
    assert (answer["passed"], answer["complete"]) == (False, True)
    record = _stored(s3, answer["key"])
    assert record["reason"].startswith("rejected: ")
    assert [c for c in record["checks"] if not c["passed"]]
    assert record["metrics"]["lightgbm"]["hit@3"]["value"] >= 0
    assert record["status"] == "rejected"


def test_a_job_that_failed_before_training_is_recorded_with_its_reason(s3, tmp_path):
    prefix = tmp_path / "ml"  # no train channel: the entry point fails at once
    code = main(["--prefix", str(prefix), "--no-progress"])
    reason = (prefix / "output" / "failure").read_text()
    event = {"action": "record-run", "job": "musicrec-dev-train-dead",
             "artifact": f"s3://{BUCKET}/models/musicrec-dev-train-dead/output/model.tar.gz",
             "error": {"Error": "SageMaker.AmazonSageMakerException",
                       "Cause": json.dumps({"FailureReason": reason})}}  # fmt: skip
    answer = loader.lambda_handler(event, cast(Any, FakeContext()))  # runs: BATCH_BUCKET, runs/
    assert (code, answer["passed"], answer["complete"]) == (2, False, False)
    assert "no training data" in _stored(s3, answer["key"])["reason"]
    assert answer["key"].startswith("runs/")
