"""The runs' records in S3 (moto): recorded from a job's model.tar.gz, or from its failure when
it left none; the newest listed first, bounded; failures of S3 raised."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.store import runs

BUCKET = "musicrec-test-data"
NOW = datetime(2026, 12, 14, 3, 30, tzinfo=UTC)


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def tarball(files: dict[str, bytes], dot: bool = False) -> bytes:
    """A model.tar.gz as SageMaker uploads /opt/ml/model (members at the top level)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}" if dot else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def put_artifact(s3, job: str, files: dict[str, bytes], dot: bool = False) -> str:
    key = f"models/{job}/output/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=tarball(files, dot))
    return f"s3://{BUCKET}/{key}"


RUN = {
    "schema": 1,
    "started_at": "2026-12-14T03:00:05Z",
    "finished_at": "2026-12-14T03:20:00Z",
    "passed": True,
    "reason": "passed: ...",
    "checks": [{"check": "hit@1 not worse than the best baseline", "passed": True}],
    "metrics": {"lightgbm": {"hit@1": {"value": 0.4, "low": 0.38, "high": 0.42}}},
    "model_version": "onboarding-20261214T032000Z-abc",
}


@pytest.mark.parametrize("dot", [False, True])
def test_a_run_is_recorded_from_the_run_json_in_the_job_s_artifact(s3, dot):
    job = "musicrec-prod-train-0123abcd"
    artifact = put_artifact(
        s3, job, {"model.txt": b"tree", "run.json": json.dumps(RUN).encode()}, dot
    )

    answer = runs.record_run(s3, BUCKET, "runs/", job, artifact, now=NOW)

    assert answer["run_id"] == f"20261214T030005Z-{job}"
    assert answer["key"] == f"runs/20261214T030005Z-{job}.json"
    assert (answer["passed"], answer["complete"]) == (True, True)
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=answer["key"])["Body"].read())
    assert stored["metrics"] == RUN["metrics"]
    assert (stored["job"], stored["artifact"]) == (job, artifact)
    assert stored["model_version"] == RUN["model_version"]


def test_a_failed_job_without_artifact_is_recorded_with_its_failure_reason(s3):
    job = "musicrec-prod-train-feedbeef"
    described = {
        "TrainingJobName": job,
        "FailureReason": "AlgorithmError: quality gate rejected: hit@3 ...",
        "TrainingStartTime": 1797217200000,  # epoch ms, as Step Functions passes it
        "TrainingEndTime": 1797218100000,
    }
    error = {"Error": "SageMaker.AmazonSageMakerException", "Cause": json.dumps(described)}

    artifact = f"s3://{BUCKET}/models/{job}/output/model.tar.gz"
    answer = runs.record_run(s3, BUCKET, "runs/", job, artifact, error, now=NOW)

    assert (answer["passed"], answer["complete"]) == (False, False)
    assert "quality gate rejected" in answer["reason"]
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=answer["key"])["Body"].read())
    assert stored["started_at"].startswith("2026-12-14T")
    assert answer["run_id"].startswith(runs.stamp(runs.parse_time(1797217200000)))
    assert "no such object" in stored["note"]


def test_an_artifact_without_run_json_is_recorded_as_incomplete(s3):
    artifact = put_artifact(s3, "job-a", {"model.txt": b"tree"})
    answer = runs.record_run(s3, BUCKET, "runs/", "job-a", artifact, now=NOW)
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=answer["key"])["Body"].read())
    assert stored["complete"] is False
    assert "no run.json" in stored["note"]
    assert stored["passed"] is False


def test_a_corrupt_artifact_is_recorded_as_incomplete(s3):
    s3.put_object(Bucket=BUCKET, Key="models/job-b/output/model.tar.gz", Body=b"not a tarball")
    artifact = f"s3://{BUCKET}/models/job-b/output/model.tar.gz"
    answer = runs.record_run(s3, BUCKET, "runs/", "job-b", artifact, now=NOW)
    assert answer["complete"] is False


def test_a_record_needs_its_job_and_an_s3_artifact(s3):
    with pytest.raises(runs.RunRecordError, match="job"):
        runs.record_run(s3, BUCKET, "runs/", "", f"s3://{BUCKET}/x")
    with pytest.raises(runs.RunRecordError, match="artifact"):
        runs.record_run(s3, BUCKET, "runs/", "job", "/tmp/model.tar.gz")


def test_s3_failures_are_raised_not_recorded(s3):
    with pytest.raises(ClientError):
        runs.record_run(s3, "no-such-bucket", "runs/", "job", "s3://no-such-bucket/m.tar.gz")


def _store(s3, rid: str, **fields) -> None:
    body = json.dumps({"run_id": rid, "passed": True, **fields})
    s3.put_object(Bucket=BUCKET, Key=f"runs/{rid}.json", Body=body)


def test_the_newest_twenty_runs_come_first_and_others_are_left_out(s3):
    ids = [f"202612{day:02d}T030000Z-job{day}" for day in range(1, 26)]
    for rid in reversed(ids):  # written in any order: the keys sort by start
        _store(s3, rid)
    s3.put_object(Bucket=BUCKET, Key="runs/notes.txt", Body=b"x")  # not a record
    s3.put_object(Bucket=BUCKET, Key="runs/archive/old.json", Body=b"{}")  # not at the top

    records, truncated = runs.recent_runs(s3, BUCKET, "runs/")

    assert [r["run_id"] for r in records] == list(reversed(ids))[:20]
    assert truncated is False


def test_a_listing_that_goes_on_past_its_pages_says_truncated(s3):
    for day in range(1, 6):
        _store(s3, f"202612{day:02d}T030000Z-job")
    keys, truncated = runs.newest_keys(s3, BUCKET, "runs/", limit=3, max_pages=2, page_size=2)
    assert (truncated, len(keys)) == (True, 3)
    keys, truncated = runs.newest_keys(s3, BUCKET, "runs/", limit=3, max_pages=3, page_size=2)
    assert truncated is False
    assert keys[0] == "runs/20261205T030000Z-job.json"


def test_an_unreadable_record_is_shown_as_such_without_hiding_the_others(s3):
    _store(s3, "20261201T030000Z-a")
    s3.put_object(Bucket=BUCKET, Key="runs/20261202T030000Z-b.json", Body=b"{not json")
    records, _ = runs.recent_runs(s3, BUCKET, "runs/")
    assert records[0] == {
        "run_id": "20261202T030000Z-b",
        "unreadable": True,
        "note": "runs/20261202T030000Z-b.json is not a run record",
    }
    assert records[1]["run_id"] == "20261201T030000Z-a"


def test_no_runs_yet_is_an_empty_list(s3):
    assert runs.recent_runs(s3, BUCKET, "runs/") == ([], False)


def test_listing_a_missing_bucket_raises(s3):
    with pytest.raises(ClientError):
        runs.recent_runs(s3, "no-such-bucket", "runs/")
