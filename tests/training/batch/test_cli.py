"""The command line: bad input is refused with a clear message; S3 output works (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from training.batch.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "--shard"),
        (["--version", "a b"], "--version"),
        (["--n", "0"], "--n"),
        (["--factors", "-1"], "--factors"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(small_world, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(small_world), "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_dataset_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert "--data" in capsys.readouterr().err


def test_merge_without_shards_exits_2(tmp_path, capsys):
    assert main(["merge", str(tmp_path)]) == 2
    assert "no manifest-shard" in capsys.readouterr().err


@mock_aws
def test_s3_output_uploads_every_file_and_the_manifest(small_world, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lists")
    code = main(
        ["--data", str(small_world), "--out", "s3://lists/batch", "--version", "v9",
         "--no-progress", "--eval-users", "0", "--n", "10"]
    )  # fmt: skip
    assert code == 0
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lists")["Contents"]}
    document = json.loads(
        s3.get_object(Bucket="lists", Key="batch/v9/manifest.json")["Body"].read()
    )
    listed = {
        f"batch/v9/{f['path']}" for fam in document["families"].values() for f in fam["files"]
    }
    assert listed | {"batch/v9/manifest.json"} == keys
