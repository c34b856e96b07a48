"""The manifest matches what was written: counts, checksums, files of at most 50,000 records."""

from __future__ import annotations

import hashlib
import json

from tests.training.batch.conftest import records
from training.batch import output
from training.batch.output import FAMILIES, RECORDS_PER_FILE
from training.data.dataset_io import read_table


def test_every_family_is_listed_with_true_counts_and_checksums(batch_version, manifest):
    assert set(manifest["families"]) == set(FAMILIES)
    assert manifest["version"] == "v1"
    assert manifest["schema_version"] == 1
    for name, family in manifest["families"].items():
        assert family["records"] == sum(f["records"] for f in family["files"]), name
        assert family["records"] == len(list(records(batch_version, name))), name
        for entry in family["files"]:
            path = batch_version / entry["path"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
            assert entry["records"] <= RECORDS_PER_FILE
    on_disk = {p.relative_to(batch_version).as_posix() for p in batch_version.rglob("*.gz")}
    listed = {f["path"] for fam in manifest["families"].values() for f in fam["files"]}
    assert on_disk == listed


def test_catalog_lists_every_song_artist_and_station(batch_version, manifest, small_world):
    kinds = {"item": 0, "artist": 0, "station": 0, "vocabulary": 0}
    for record in records(batch_version, "catalog"):
        kinds[record["kind"]] += 1
    data = manifest["data"]
    assert kinds["item"] == data["items"]
    assert kinds["artist"] > 0
    assert kinds["station"] > 0
    assert kinds["vocabulary"] == 1


def test_the_catalog_carries_the_vocabulary_of_the_data(batch_version, small_world):
    """The genres of the catalogue and the regions of the listeners (each has a regional chart)."""
    [vocabulary] = [r for r in records(batch_version, "catalog") if r["kind"] == "vocabulary"]
    assert (vocabulary["kind"], vocabulary["id"]) == ("vocabulary", "onboarding")
    genres = set(read_table(small_world, "items", columns=["genre"])["genre"].to_pylist())
    assert vocabulary["genres"] == sorted(genres)
    regions = set(read_table(small_world, "users", columns=["region"])["region"].to_pylist())
    assert vocabulary["regions"] == sorted(regions)
    charted = {r["region"] for r in records(batch_version, "regional") if r["genre"] is None}
    assert set(vocabulary["regions"]) == charted - {"*"}
    chart_genres = {r["genre"] for r in records(batch_version, "regional") if r["region"] == "*"}
    assert set(vocabulary["genres"]) == chart_genres - {None}


def test_files_are_split_at_the_record_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "RECORDS_PER_FILE", 3)
    written = output.write_family(tmp_path, "personal", ({"user_id": str(i)} for i in range(7)))
    assert [f["records"] for f in written.files] == [3, 3, 1]
    assert written.files[2]["path"] == "personal/part-00000-of-00001-00002.jsonl.gz"
    document = output.manifest("v", {"personal": written}, data={}, params={}, shards=1, metrics={})
    assert json.loads(json.dumps(document))["families"]["personal"]["records"] == 7
