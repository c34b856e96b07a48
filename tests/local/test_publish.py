"""Publishing a batch version to S3 (moto): every file, the manifest among them, nothing else."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from local.publish import upload
from training.batch.cli import main


@mock_aws
def test_a_published_version_has_every_file_and_the_manifest(small_world, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lists")
    code = main(
        ["--data", str(small_world), "--out", str(tmp_path), "--version", "v9",
         "--no-progress", "--eval-users", "0", "--n", "10"]
    )  # fmt: skip
    assert code == 0
    upload(tmp_path / "v9", "s3://lists/batch/v9", s3)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lists")["Contents"]}
    document = json.loads(
        s3.get_object(Bucket="lists", Key="batch/v9/manifest.json")["Body"].read()
    )
    listed = {
        f"batch/v9/{f['path']}" for fam in document["families"].values() for f in fam["files"]
    }
    assert listed | {"batch/v9/manifest.json"} == keys
