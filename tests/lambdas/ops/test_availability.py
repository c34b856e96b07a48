"""Availability sync from files: parsing with errors naming the line, only changes written."""

from __future__ import annotations

import boto3
import pytest

from lambdas.ops.availability import ChangesError, main, parse_changes, pending
from lambdas.store.dynamodb import Store
from tests.lambdas.conftest import PREFIX


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
    assert main(["--file", str(changes), "--table", table]) == 0
    assert "3 changed" in capsys.readouterr().out
    store = Store({"state": boto3.resource("dynamodb").Table(table)})
    assert store.unavailable() == frozenset({"s1", "s2"})
    changes.write_text("item_id,available\ns1,false\ns2,true\ns3,true\n")
    assert main(["--file", str(changes), "--table", table]) == 0
    assert "1 changed, 2 already so" in capsys.readouterr().out
    assert Store({"state": store.tables["state"]}).unavailable() == frozenset({"s1"})
    changes.write_text("item_id,available\ns1,perhaps\n")
    assert main(["--file", str(changes), "--table", table]) == 1
    assert "licences.csv:2: available" in capsys.readouterr().err
