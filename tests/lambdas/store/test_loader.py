"""The loader: all records land, the switch waits for every count, reruns and rollbacks are
safe, and a crash midway leaves the previous version active."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from lambdas.ops.load import main
from lambdas.store import keys
from lambdas.store.batch_source import BatchError, BatchSource
from lambdas.store.loader import LoadError, active, load_version, rollback, switch, verify
from local.aws import count_items
from tests.lambdas.conftest import PREFIX


def _manifest(root, version):
    return json.loads((root / version / "manifest.json").read_text())


def test_every_record_lands_and_the_version_becomes_active(batch_root, tables):
    pointer = load_version(BatchSource(str(batch_root / "v1")), tables, progress=False)
    assert pointer["version"] == "v1"
    manifest = _manifest(batch_root, "v1")
    expected = sum(f["records"] for f in manifest["families"].values())
    assert count_items(tables.lists) == expected
    user = json.loads(
        tables.lists.get_item(Key={"pk": keys.list_pk("personal", "v1", _a_user(batch_root))})[
            "Item"
        ]["doc"]
    )
    assert len(user["ids"]) == 10
    assert active(tables)["version"] == "v1"


def _a_user(root):
    import gzip

    path = next((root / "v1" / "personal").glob("*.jsonl.gz"))
    with gzip.open(path, "rt") as handle:
        return json.loads(handle.readline())["user_id"]


def test_rerun_is_idempotent(batch_root, tables):
    source = BatchSource(str(batch_root / "v1"))
    load_version(source, tables, progress=False)
    before = count_items(tables.lists)
    assert load_version(source, tables, progress=False)["version"] == "v1"
    assert count_items(tables.lists) == before


def test_crash_midway_keeps_the_previous_version_then_rerun_and_rollback(batch_root, tables):
    load_version(BatchSource(str(batch_root / "v1")), tables, progress=False)
    client = tables.lists.meta.client
    calls = {"n": 0}

    def fail_after_some(**kwargs):
        calls["n"] += 1
        if calls["n"] > 20:
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "boom"}}, "BatchWriteItem"
            )

    client.meta.events.register("before-call.dynamodb.BatchWriteItem", fail_after_some)
    with pytest.raises(ClientError):
        load_version(BatchSource(str(batch_root / "v2")), tables, workers=2, progress=False)
    assert active(tables)["version"] == "v1"
    with pytest.raises(LoadError):
        verify(_manifest(batch_root, "v2"), tables)
    client.meta.events.unregister("before-call.dynamodb.BatchWriteItem", fail_after_some)
    pointer = load_version(BatchSource(str(batch_root / "v2")), tables, progress=False)
    assert (pointer["version"], pointer["previous"]) == ("v2", "v1")
    assert rollback(tables)["version"] == "v1"
    assert active(tables)["previous"] == "v2"


def test_unprocessed_items_are_retried(batch_root, tables, monkeypatch):
    monkeypatch.setattr("lambdas.store.loader.time.sleep", lambda s: None)
    client = tables.lists.meta.client
    seen = {"first": True, "calls": 0}

    def report_unprocessed(http_response, parsed, model, **kwargs):
        seen["calls"] += 1
        if seen["first"]:  # pretend DynamoDB throttled the whole first batch
            seen["first"] = False
            request = kwargs["context"]["request"]
            parsed["UnprocessedItems"] = request

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", _remember)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", report_unprocessed)
    load_version(BatchSource(str(batch_root / "v1")), tables, workers=1, progress=False)
    manifest = _manifest(batch_root, "v1")
    batches = sum(
        -(-f["records"] // 25) for fam in manifest["families"].values() for f in fam["files"]
    )
    assert seen["calls"] == batches + 1
    assert count_items(tables.lists) == sum(f["records"] for f in manifest["families"].values())


def _remember(params, context, **kwargs):
    context["request"] = params["RequestItems"]


def test_switch_refuses_until_every_file_is_loaded(batch_root, tables):
    with pytest.raises(LoadError, match="not loaded"):
        switch(_manifest(batch_root, "v1"), tables)
    assert active(tables) is None


def test_corrupt_file_and_missing_manifest_are_refused(batch_root, tables, tmp_path):
    import shutil

    copy = tmp_path / "v1"
    shutil.copytree(batch_root / "v1", copy)
    victim = next((copy / "catalog").glob("*.gz"))
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(BatchError, match="checksum"):
        load_version(BatchSource(str(copy)), tables, progress=False)
    assert active(tables) is None
    (copy / "manifest.json").unlink()
    with pytest.raises(BatchError, match="incomplete"):
        load_version(BatchSource(str(copy)), tables, progress=False)


def test_cli_loads_rolls_back_and_reports_errors(batch_root, tables, capsys):
    lists, state = f"{PREFIX}-lists", f"{PREFIX}-state"
    base = ["--lists-table", lists, "--state-table", state, "--no-progress"]
    assert main(["--batch", str(batch_root / "v1"), *base]) == 0
    assert main(["--batch", str(batch_root / "v2"), *base]) == 0
    assert main(["--rollback", "--table-prefix", PREFIX, "--no-progress"]) == 0
    assert "active version: v1" in capsys.readouterr().out
    assert main(["--batch", str(batch_root / "nope"), *base]) == 1
    assert "active version is unchanged" in capsys.readouterr().err
    assert active(tables)["version"] == "v1"


def test_rerunning_the_active_version_keeps_its_previous_for_rollback(batch_root, tables):
    """docs/api.md promises a harmless rerun: loading the active version again must not record
    it as its own previous version (``--rollback`` would then go nowhere)."""
    load_version(BatchSource(str(batch_root / "v1")), tables, progress=False)
    load_version(BatchSource(str(batch_root / "v2")), tables, progress=False)
    pointer = load_version(BatchSource(str(batch_root / "v2")), tables, progress=False)
    assert (pointer["version"], pointer["previous"]) == ("v2", "v1")
    assert (active(tables)["version"], active(tables)["previous"]) == ("v2", "v1")
    assert rollback(tables)["version"] == "v1"


def test_a_file_with_fewer_records_than_its_manifest_entry_is_refused(batch_root, tables, tmp_path):
    import shutil

    copy = tmp_path / "v1"
    shutil.copytree(batch_root / "v1", copy)
    manifest = _manifest(batch_root, "v1")
    entry = manifest["families"]["personal"]["files"][0]
    entry["records"] += 1
    manifest["families"]["personal"]["records"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    message = rf"{re.escape(entry['path'])}: \d+ records, manifest says"
    with pytest.raises(BatchError, match=message):
        load_version(BatchSource(str(copy)), tables, progress=False)
    assert active(tables) is None


def test_the_switch_refuses_a_family_whose_loaded_count_falls_short(batch_root, tables):
    """Every file has its marker, but one marker counts a record less than the manifest: the
    switch must not trust markers alone."""
    load_version(BatchSource(str(batch_root / "v1")), tables, progress=False)
    manifest = _manifest(batch_root, "v1")
    entry = manifest["families"]["similar-items"]["files"][0]
    marker = keys.load_marker("v1", entry["path"])
    tables.state.update_item(
        Key=marker, UpdateExpression="SET #r = :n",
        ExpressionAttributeNames={"#r": "records"},
        ExpressionAttributeValues={":n": entry["records"] - 1},
    )  # fmt: skip
    with pytest.raises(LoadError, match=r"similar-items: \d+ records loaded, manifest says"):
        switch(manifest, tables)
