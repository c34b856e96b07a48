"""Batch scoring and its merge as SageMaker Processing runs them (infra.pipeline_stack's
``processing_jobs()``), as processes: ``python -m training.batch ... --shard sagemaker`` on each
host of a 2-instance job (a fake /opt/ml/config/resourceconfig.json each, found through
``SM_ROOT``), the hosts' outputs uploaded to one prefix, then ``python -m training.batch merge``
reading that prefix from its input path and writing to its output path; and dev's one instance,
whose run the state machine does not merge."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.training.batch.conftest import records

VERSION = "exec-1"
# The batch tests' parameters (PARAMS) without the evaluation, which does not change the lists.
ARGS = ("--n", "30", "--holdout-days", "28", "--eval-users", "0", "--no-progress")


def _python(args, sm_root=None):
    env = {**os.environ}
    if sm_root is not None:
        env["SM_ROOT"] = str(sm_root)
    return subprocess.run(
        [sys.executable, "-m", "training.batch", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def _host(root, name, hosts):
    """A host's /opt/ml with the resourceconfig.json SageMaker writes on each instance."""
    config = root / "config" / "resourceconfig.json"
    config.parent.mkdir(parents=True)
    document = {"current_host": name, "hosts": hosts, "network_interface_name": "eth0"}
    config.write_text(json.dumps(document))
    return root


def _score(data, host_root, out):
    """One instance's batch-score container: its output path is uploaded when it ends."""
    proc = _python(["--data", str(data), "--out", str(out), "--version", VERSION, "--shard",
                    "sagemaker", *ARGS], sm_root=host_root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


def _upload(local_output, prefix):
    """S3UploadMode EndOfJob: the output path's files under the output's S3 prefix."""
    shutil.copytree(local_output, prefix, dirs_exist_ok=True)


def _lists(version_dir, family):
    return {r["user_id"]: r["ids"] for r in records(version_dir, family)}


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_two_hosts_score_their_shares_and_the_merge_writes_only_the_manifest(
    small_world, batch_version, tmp_path
):
    hosts = ["algo-1", "algo-2"]
    bucket_batch = tmp_path / "s3" / "batch"  # s3://<bucket>/batch, the batch-score output
    outputs = []
    for name in hosts:
        output = tmp_path / name / "processing" / "output"
        _score(small_world, _host(tmp_path / name, name, hosts), output)
        outputs.append(output / VERSION)
        _upload(output, bucket_batch)
    # each host wrote its own share only: shard files and a shard manifest, no manifest.json
    for index, version_dir in enumerate(outputs):
        assert not (version_dir / "manifest.json").exists()
        assert (version_dir / f"manifest-shard-{index}-of-2.json").is_file()
        mine = {f for f in _files(version_dir) if "part-" in f and "-of-00002" in f}
        assert mine
        assert all(f"part-0000{index}-of-00002" in f for f in mine)
    personal = [_lists(v, "personal") for v in outputs]
    assert personal[0]
    assert personal[1]
    assert not set(personal[0]) & set(personal[1])
    version = bucket_batch / VERSION
    uploaded = _files(version)
    # the merge job: input s3://<bucket>/batch/<execution> at /opt/ml/processing/input, output
    # /opt/ml/processing/output uploaded back to that prefix
    merge_input = tmp_path / "merge" / "processing" / "input"
    shutil.copytree(version, merge_input)
    merge_output = tmp_path / "merge" / "processing" / "output"
    proc = _python(["merge", str(merge_input), "--out", str(merge_output)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _files(merge_output) == ["manifest.json"]  # nothing downloaded is uploaded again
    assert _files(merge_input) == uploaded  # the input is only read
    _upload(merge_output, version)
    merged = json.loads((version / "manifest.json").read_text())
    assert merged["shards"] == 2
    # the union of the hosts' shares is the unsharded run
    for family in ("personal", "artists"):
        union = _lists(version, family)
        assert union == _lists(batch_version, family)
        assert merged["families"][family]["records"] == len(union)
    listed = {f["path"] for fam in merged["families"].values() for f in fam["files"]}
    assert listed <= set(uploaded)
    # the old form, ``merge DIR`` (local/pipeline.py), writes the same manifest beside the shards'
    in_place = shutil.copytree(merge_input, tmp_path / "in-place")
    assert _python(["merge", str(in_place)]).returncode == 0
    again = json.loads((in_place / "manifest.json").read_text())
    assert {**again, "created_at": None} == {**merged, "created_at": None}


def test_one_instance_writes_a_complete_version_that_needs_no_merge(
    small_world, batch_version, tmp_path
):
    """dev: processing_instances 1, the state machine's merge is a Pass state."""
    output = tmp_path / "processing" / "output"
    _score(small_world, _host(tmp_path / "ml", "algo-1", ["algo-1"]), output)
    version = output / VERSION
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["shards"] == 1
    assert not list(version.glob("manifest-shard-*"))
    listed = {f["path"] for fam in manifest["families"].values() for f in fam["files"]}
    assert listed == {f for f in _files(version) if f != "manifest.json"}
    assert _lists(version, "personal") == _lists(batch_version, "personal")


def test_merge_of_missing_shards_writes_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    proc = _python(["merge", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert proc.returncode == 2
    assert "no manifest-shard" in proc.stderr
    assert not (tmp_path / "out").exists()
