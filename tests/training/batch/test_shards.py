"""Sharded runs together equal one unsharded run; merge waits for every shard."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.training.batch.conftest import PARAMS, records
from training.batch.output import OutputError, merge
from training.batch.run import Shard, run, shard_of

NO_EVAL = PARAMS.__class__(**{**PARAMS.as_dict(), "eval_users": 0})


def _read(path):
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def _lists(version_dir, family):
    return {r["user_id"]: r["ids"] for r in records(version_dir, family)}


def test_shards_together_equal_the_unsharded_run(small_world, batch_version, tmp_path):
    version_dir = tmp_path / "v1"
    version_dir.mkdir()
    with pytest.raises(OutputError, match="no manifest"):
        merge(version_dir)
    run(small_world, version_dir, NO_EVAL, Shard(1, 2), progress=False)
    with pytest.raises(OutputError, match=r"shards \[0\] of 2"):
        merge(version_dir)
    run(small_world, version_dir, NO_EVAL, Shard(0, 2), progress=False)
    merged = merge(version_dir)
    assert merged == json.loads((version_dir / "manifest.json").read_text())
    for family in ("personal", "artists"):
        sharded = _lists(version_dir, family)
        assert sharded == _lists(batch_version, family)
        assert merged["families"][family]["records"] == len(sharded)
        files = [f["path"] for f in merged["families"][family]["files"]]
        assert any("part-00000-of-00002" in f for f in files)
        assert any("part-00001-of-00002" in f for f in files)
    for user_id in list(_lists(version_dir, "personal"))[:50]:
        path_shard = shard_of(user_id, 2)
        assert path_shard in (0, 1)
    assert merged["families"]["regional"]["records"] > 0
    # shard 0 alone writes the catalogue: the merged manifest lists one vocabulary, as unsharded
    vocabularies = [
        record
        for entry in merged["families"]["catalog"]["files"]
        for record in _read(version_dir / entry["path"])
        if record["kind"] == "vocabulary"
    ]
    assert vocabularies == [
        r for r in records(batch_version, "catalog") if r["kind"] == "vocabulary"
    ]
    assert len(vocabularies) == 1


@pytest.mark.parametrize("text", ["2/2", "a/b", "1", "-1/2", "0/0"])
def test_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="--shard"):
        Shard.parse(text)


def test_sagemaker_processing_instances_take_their_place_among_the_hosts(tmp_path):
    config = tmp_path / "resourceconfig.json"
    config.write_text(
        json.dumps({"current_host": "algo-2", "hosts": ["algo-2", "algo-1", "algo-3"]})
    )
    assert Shard.from_sagemaker(config) == Shard(1, 3)
