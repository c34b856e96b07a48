"""The loader's steps on small hand-written versions (tests/lambdas/store/small_batch.py) in moto:
the items it writes, the markers, the switch, the resume, the retries and the rollback."""

from __future__ import annotations

import json
import re

import pytest

from lambdas.store import keys
from lambdas.store.batch_source import BatchError, BatchSource
from lambdas.store.loader import (
    BATCH_SIZE,
    RETENTION_DAYS,
    WRITE_BACKOFF,
    LoadError,
    _batches,
    active,
    list_items,
    load_file,
    load_version,
    loaded,
    rollback,
    switch,
    verify,
    write_batch,
)
from local.aws import count_items as _count
from tests.lambdas.store.small_batch import users, write_version

CATALOG = [
    {
        "kind": "item",
        "id": "s1",
        "title": "One",
        "artist_id": "a1",
        "album_id": None,
        "genre": "Rock",
        "available": True,
    },
    {"kind": "artist", "id": "a1", "name": "Ann", "genre": "Rock", "region": "north"},
]
REGIONAL: list[dict] = [
    {
        "region": "north",
        "genre": None,
        "songs": {"ids": ["s1"], "scores": [3.0]},
        "artists": {"ids": [], "scores": []},
        "stations": {"ids": [], "scores": []},
    }
]
ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


@pytest.fixture
def v1(tmp_path):
    """30 + 3 personal records (two files, the first two batches), the catalogue, one chart."""
    files = {"personal": [users(0, 30), users(30, 3)], "catalog": [CATALOG], "regional": [REGIONAL]}
    return write_version(tmp_path, "v1", files)


@pytest.fixture
def v2(tmp_path):
    return write_version(tmp_path, "v2", {"personal": [users(0, 2)], "catalog": [CATALOG]})


def _manifest(version_dir):
    return json.loads((version_dir / "manifest.json").read_text())


def _calls(table, operation: str) -> list[int]:
    """Items per ``operation`` call made through ``table``'s client from now on."""
    calls: list[int] = []

    def count(params, **kwargs):
        calls.append(sum(len(v) for v in params["RequestItems"].values()))

    table.meta.client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", count)
    return calls


def test_list_items_key_each_record_and_keep_it_compact():
    records = [{"user_id": "u1", "ids": ["s1", "s2"], "scores": [0.5, 0.25]}, {"user_id": 7}]
    assert list(list_items("personal", "v9", records, 1234)) == [
        {
            "pk": "personal#v9#u1",
            "doc": '{"user_id":"u1","ids":["s1","s2"],"scores":[0.5,0.25]}',
            "expires_at": 1234,
        },
        {"pk": "personal#v9#7", "doc": '{"user_id":7}', "expires_at": 1234},
    ]
    [item] = list_items("catalog", "v9", [CATALOG[1]], 0)
    assert item["pk"] == "catalog#v9#artist#a1"


@pytest.mark.parametrize(
    ("n", "sizes"), [(0, []), (1, [1]), (25, [25]), (26, [25, 1]), (60, [25, 25, 10])]
)
def test_batches_of_at_most_25(n, sizes):
    assert BATCH_SIZE == 25
    batches = list(_batches(iter(range(n)), BATCH_SIZE))
    assert [len(b) for b in batches] == sizes
    assert [x for b in batches for x in b] == list(range(n))


def test_a_version_lands_with_its_markers_and_becomes_active(tables, v1):
    writes = _calls(tables.lists, "BatchWriteItem")
    pointer = load_version(BatchSource(str(v1)), tables, workers=2, progress=False)

    assert {k: v for k, v in pointer.items() if k != "switched_at"} == {
        "pk": "active",
        "sk": "batch",
        "version": "v1",
        "previous": None,
    }
    assert ISO_SECONDS.match(pointer["switched_at"])
    assert active(tables) == pointer
    assert _count(tables.lists) == 33 + 2 + 1
    assert sorted(writes) == [1, 2, 3, 5, 25]  # per file, batches of 25
    item = tables.lists.get_item(Key={"pk": "personal#v1#u31"})["Item"]
    assert json.loads(item["doc"]) == {"user_id": "u31", "ids": ["s31"], "scores": [0.5]}
    assert tables.lists.get_item(Key={"pk": "regional#v1#north#*"}).get("Item")
    assert loaded(tables, "v1") == {
        "personal/part-00000.jsonl.gz": {
            "pk": "load#v1",
            "sk": "personal/part-00000.jsonl.gz",
            "family": "personal",
            "records": 30,
        },
        "personal/part-00001.jsonl.gz": {
            "pk": "load#v1",
            "sk": "personal/part-00001.jsonl.gz",
            "family": "personal",
            "records": 3,
        },
        "catalog/part-00000.jsonl.gz": {
            "pk": "load#v1",
            "sk": "catalog/part-00000.jsonl.gz",
            "family": "catalog",
            "records": 2,
        },
        "regional/part-00000.jsonl.gz": {
            "pk": "load#v1",
            "sk": "regional/part-00000.jsonl.gz",
            "family": "regional",
            "records": 1,
        },
    }


def test_a_loaded_file_expires_thirty_days_after_loading(tables, v1):
    entry = _manifest(v1)["families"]["personal"]["files"][1]
    assert load_file(BatchSource(str(v1)), "personal", entry, "v1", tables, now=1000.0) == 3
    assert RETENTION_DAYS == 30
    item = tables.lists.get_item(Key={"pk": "personal#v1#u30"})["Item"]
    assert item["expires_at"] == 1000 + 30 * 86400
    assert set(item) == {"pk", "doc", "expires_at"}


def test_a_second_version_keeps_the_first_as_previous_and_rolls_back(tables, v1, v2):
    load_version(BatchSource(str(v1)), tables, progress=False)
    pointer = load_version(BatchSource(str(v2)), tables, progress=False)
    assert (pointer["version"], pointer["previous"]) == ("v2", "v1")
    back = rollback(tables)
    assert {k: v for k, v in back.items() if k != "switched_at"} == {
        "pk": "active",
        "sk": "batch",
        "version": "v1",
        "previous": "v2",
    }
    assert ISO_SECONDS.match(back["switched_at"])
    assert active(tables) == back


def test_a_rerun_writes_only_the_files_not_yet_loaded_in_full(tables, v1):
    source = BatchSource(str(v1))
    manifest = _manifest(v1)
    catalog = manifest["families"]["catalog"]["files"][0]
    load_file(source, "catalog", catalog, "v1", tables)
    writes = _calls(tables.lists, "BatchWriteItem")
    load_version(source, tables, workers=1, progress=False)
    assert sorted(writes) == [1, 3, 5, 25]  # the catalogue was not written again
    # a marker that counts fewer records than the manifest: that file is written again
    tables.state.put_item(
        Item={**keys.load_marker("v1", catalog["path"]), "family": "catalog", "records": 1}
    )
    writes.clear()
    load_version(source, tables, workers=1, progress=False)
    assert writes == [2]
    assert loaded(tables, "v1")[catalog["path"]]["records"] == 2


def test_the_switch_needs_every_file_marked(tables, v1):
    source = BatchSource(str(v1))
    manifest = _manifest(v1)
    for family, listing in manifest["families"].items():
        for entry in listing["files"]:
            if entry["path"] != "personal/part-00001.jsonl.gz":
                load_file(source, family, entry, "v1", tables)
    with pytest.raises(LoadError, match=r"^personal/part-00001\.jsonl\.gz: not loaded$"):
        verify(manifest, tables)
    with pytest.raises(LoadError, match="not loaded"):
        switch(manifest, tables)
    assert active(tables) is None


def test_a_file_whose_records_differ_from_its_entry_is_refused(tables, v1):
    entry = dict(_manifest(v1)["families"]["personal"]["files"][1])
    entry["records"] = 4
    message = r"^personal/part-00001\.jsonl\.gz: 3 records, manifest says 4$"
    with pytest.raises(BatchError, match=message):
        load_file(BatchSource(str(v1)), "personal", entry, "v1", tables)
    assert _count(tables.lists) == 0
    assert loaded(tables, "v1") == {}


def test_rollback_needs_a_previous_version_still_loaded(tables, v1, v2):
    with pytest.raises(LoadError, match=r"^no previous version to roll back to$"):
        rollback(tables)
    load_version(BatchSource(str(v1)), tables, progress=False)
    with pytest.raises(LoadError, match=r"^no previous version to roll back to$"):
        rollback(tables)  # v1 has no previous
    load_version(BatchSource(str(v2)), tables, progress=False)
    for marker in loaded(tables, "v1").values():  # v1's markers expired
        tables.state.delete_item(Key={"pk": marker["pk"], "sk": marker["sk"]})
    with pytest.raises(LoadError, match=r"^previous version v1 is not loaded \(expired\?\)$"):
        rollback(tables)
    assert active(tables)["version"] == "v2"


def test_markers_are_read_past_a_page(tables):
    with tables.state.batch_writer() as writer:  # 1,200 markers of 1 KB: two pages of 1 MB
        for n in range(1200):
            writer.put_item(Item={**keys.load_marker("v1", f"f/{n:05d}" + "x" * 900), "records": n})
    markers = loaded(tables, "v1")
    assert len(markers) == 1200
    assert markers["f/00007" + "x" * 900]["records"] == 7


def test_unprocessed_items_are_written_on_a_later_attempt(tables, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("lambdas.store.retry.time.sleep", waits.append)
    client = tables.lists.meta.client
    answers = {"calls": 0}

    def leave_the_last_one(http_response, parsed, model, **kwargs):
        answers["calls"] += 1
        if answers["calls"] == 1:
            parsed["UnprocessedItems"] = {tables.lists.name: kwargs["context"]["request"][-1:]}

    def remember(params, context, **kwargs):
        context["request"] = params["RequestItems"][tables.lists.name]

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", remember)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", leave_the_last_one)
    items = [{"pk": f"k{n}", "doc": "{}", "expires_at": 0} for n in range(3)]
    write_batch(client, tables.lists.name, items)
    assert answers["calls"] == 2
    assert len(waits) == 1
    assert 0 <= waits[0] <= WRITE_BACKOFF.base_s
    assert (WRITE_BACKOFF.max_attempts, WRITE_BACKOFF.base_s, WRITE_BACKOFF.cap_s) == (8, 0.05, 2.0)
    assert _count(tables.lists) == 3


def test_a_write_that_fails_leaves_the_active_version(tables, v1, v2, monkeypatch):
    load_version(BatchSource(str(v1)), tables, progress=False)
    client = tables.lists.meta.client

    def refuse(**kwargs):
        raise LoadError("lists: 1 items still unprocessed after retries")

    client.meta.events.register("before-call.dynamodb.BatchWriteItem", refuse)
    with pytest.raises(LoadError):
        load_version(BatchSource(str(v2)), tables, progress=False)
    assert active(tables)["version"] == "v1"
    assert loaded(tables, "v2") == {}


def test_a_load_shows_its_progress_in_records_unless_told_not_to(tables, v1, capsys):
    load_version(BatchSource(str(v1)), tables)
    err = capsys.readouterr().err
    assert "100%" in err
    assert "36.0/36.0" in err
    assert " records/s" in err
    load_version(BatchSource(str(v1)), tables, progress=False)
    assert capsys.readouterr().err == ""


def test_the_active_pointer_is_read_strongly_consistent(tables):
    reads: list[dict] = []
    tables.state.meta.client.meta.events.register(
        "before-parameter-build.dynamodb.GetItem", lambda params, **kw: reads.append(params)
    )
    assert active(tables) is None
    assert [read["ConsistentRead"] for read in reads] == [True]


def test_an_answer_without_unprocessed_items_is_all_done(tables):
    client = tables.lists.meta.client

    def drop_the_field(parsed, **kwargs):
        parsed.pop("UnprocessedItems", None)

    client.meta.events.register("after-call.dynamodb.BatchWriteItem", drop_the_field)
    write_batch(client, tables.lists.name, [{"pk": "k", "doc": "{}", "expires_at": 0}])
    assert _count(tables.lists) == 1


def test_a_family_whose_markers_fall_short_of_the_manifest_is_refused_by_name(tables, v1):
    load_version(BatchSource(str(v1)), tables, progress=False)
    manifest = _manifest(v1)
    entry = manifest["families"]["personal"]["files"][1]
    tables.state.update_item(
        Key=keys.load_marker("v1", entry["path"]),
        UpdateExpression="SET #r = :n",
        ExpressionAttributeNames={"#r": "records"},
        ExpressionAttributeValues={":n": entry["records"] - 1},
    )
    with pytest.raises(LoadError, match=r"^personal: 32 records loaded, manifest says 33$"):
        verify(manifest, tables)
