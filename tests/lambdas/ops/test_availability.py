"""Availability sync from files: parsing with errors naming the line, only changes written."""

from __future__ import annotations

import json

import boto3
import pytest

from lambdas.ops.availability import ChangesError, main, parse_changes, pending, unknown_songs
from lambdas.store.batch_source import BatchSource
from lambdas.store.dynamodb import Store
from lambdas.store.loader import load_version
from tests.lambdas.conftest import PREFIX
from tests.lambdas.store.small_batch import write_version


def test_csv_and_json_lines_are_read_the_last_line_wins():
    csv_text = ["item_id,available\n", "s1,false\n", "s2,1\n", "s1,no\n"]
    assert parse_changes(csv_text) == {"s1": False, "s2": True}
    jsonl = ['{"item_id": "s1", "available": false}\n', "\n", '{"item_id": "s3", "available": 1}']
    assert parse_changes(jsonl) == {"s1": False, "s3": True}


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        (["item_id,avail\n", "s1,false\n"], "changes:1: the header"),
        (["item_id,available\n", "s1,maybe\n"], "changes:2: available"),
        (["item_id,available\n", ",false\n"], "changes:2: item_id"),
        (['{"item_id": "s1", "available": false}\n', "{oops\n"], "changes:2: not JSON"),
        (['{"item_id": 7, "available": false}\n'], "changes:1: item_id"),
    ],
)
def test_bad_lines_are_named(lines, where):
    with pytest.raises(ChangesError, match=where):
        parse_changes(lines)


def test_only_changes_not_recorded_yet_are_pending():
    assert pending({"s1": False, "s2": True, "s3": True}, {"s1": False, "s2": False}) == {
        "s2": True,
        "s3": True,
    }


def test_cli_syncs_a_file_once(tables, tmp_path, capsys):
    changes = tmp_path / "licences.csv"
    changes.write_text("item_id,available\ns1,false\ns2,false\ns3,true\n")
    table = f"{PREFIX}-state"
    assert main(["--file", str(changes), "--table", table, "--lists-table", f"{PREFIX}-lists"]) == 0
    out = capsys.readouterr()
    assert "3 changed" in out.out
    assert "no batch version is active yet: songs not checked" in out.err
    store = Store({"state": boto3.resource("dynamodb").Table(table)})
    assert store.unavailable() == frozenset({"s1", "s2"})
    changes.write_text("item_id,available\ns1,false\ns2,true\ns3,true\n")
    assert main(["--file", str(changes), "--table-prefix", PREFIX]) == 0
    assert "1 changed, 2 already so" in capsys.readouterr().out
    assert Store({"state": store.tables["state"]}).unavailable() == frozenset({"s1"})
    changes.write_text("item_id,available\ns1,perhaps\n")
    assert main(["--file", str(changes), "--table-prefix", PREFIX]) == 1
    assert "licences.csv:2: available" in capsys.readouterr().err


SONGS = [{"kind": "item", "id": f"s{n}", "title": f"S{n}", "artist_id": "a1", "album_id": None,
          "genre": "Rock", "available": True} for n in range(1, 4)]  # fmt: skip


@pytest.fixture
def loaded_v1(tables, tmp_path) -> Store:
    """Batch version v1 (songs s1 to s3 and an artist a1) loaded and active."""
    artist = {"kind": "artist", "id": "a1", "name": "A", "genre": "Rock", "region": "us-tx"}
    version = write_version(tmp_path / "lists", "v1", {"catalog": [[*SONGS, artist]]})
    load_version(BatchSource(str(version)), tables, progress=False)
    return Store({"state": tables.state, "lists": tables.lists})


def test_songs_not_in_the_active_catalogue_are_named_and_nothing_is_written(
    loaded_v1, tmp_path, capsys
):
    changes = tmp_path / "licences.jsonl"
    lines = [{"item_id": i, "available": False} for i in ("s1", "nope-1", "a1", "s2", "nope-2")]
    changes.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert unknown_songs(loaded_v1.tables["lists"], loaded_v1.tables["state"], ["s3", "x"]) == (
        "v1",
        ["x"],
    )
    assert main(["--file", str(changes), "--table-prefix", PREFIX]) == 1
    err = capsys.readouterr().err
    assert "3 of 5 songs in licences.jsonl are not in the catalogue of batch version v1" in err
    assert "nope-1, a1, nope-2; nothing written (--skip-unknown" in err
    assert loaded_v1.availability_overrides() == {}
    assert main(["--file", str(changes), "--table-prefix", PREFIX, "--skip-unknown"]) == 0
    out = capsys.readouterr()
    assert "nope-1, a1, nope-2; those skipped" in out.err
    assert "2 songs in licences.jsonl: 2 changed" in out.out
    assert loaded_v1.availability_overrides() == {"s1": False, "s2": False}


def test_a_long_list_of_unknown_songs_is_shortened(loaded_v1, tmp_path, capsys):
    changes = tmp_path / "many.csv"
    changes.write_text("item_id,available\n" + "".join(f"x{n},false\n" for n in range(25)))
    assert main(["--file", str(changes), "--table-prefix", PREFIX]) == 1
    err = capsys.readouterr().err
    assert "25 of 25 songs" in err
    assert "x19 and 5 more; nothing written" in err
    assert "x20" not in err


def test_the_lists_table_is_needed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TABLE_LISTS", raising=False)
    with pytest.raises(SystemExit):
        main(["--file", str(tmp_path / "x.csv"), "--table", "t"])
    assert "--lists-table" in capsys.readouterr().err
