"""Availability sync from a file: ``python -m lambdas.ops.availability --file CHANGES [--table T]``.

The operators' other way (besides ``PUT /v1/catalog/items/{itemId}/availability``) to mark songs
unavailable or available again, e.g. from a licensing export. The file is CSV with a header
``item_id,available`` (``true``/``false``, ``1``/``0``, ``yes``/``no``) or JSON Lines
``{"item_id": "s1", "available": false}``. Only changes are written; every function sees them
within its availability cache (``CACHE_SECONDS``, 30 s by default).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lambdas.store.tables import table

ITEM_ID = re.compile(r"^[0-9A-Za-z._:@#/-]{1,128}$")
FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class ChangesError(ValueError):
    """A changes file that cannot be used (the message names the line and field)."""


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    flag = FLAGS.get(str(value).strip().lower())
    if flag is None:
        raise ChangesError(f"{where}: available must be true or false, got {value!r}")
    return flag


def _item(value: Any, where: str) -> str:
    if not isinstance(value, str) or not ITEM_ID.match(value):
        raise ChangesError(f"{where}: item_id must be an id of 1-128 characters, got {value!r}")
    return value


def parse_changes(lines: Iterable[str], name: str = "changes") -> dict[str, bool]:
    """Availability per song from CSV or JSON Lines text; the last line about a song wins."""
    rows = list(lines)
    first = next((r for r in rows if r.strip()), "")
    changes: dict[str, bool] = {}
    if first.lstrip().startswith("{"):
        for number, line in enumerate(rows, 1):
            if not line.strip():
                continue
            where = f"{name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ChangesError(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise ChangesError(f"{where}: expected an object")
            changes[_item(record.get("item_id"), where)] = _flag(record.get("available"), where)
        return changes
    reader = csv.DictReader(rows)
    if not reader.fieldnames or {"item_id", "available"} - set(reader.fieldnames):
        raise ChangesError(f"{name}:1: the header must name item_id and available")
    for number, row in enumerate(reader, 2):
        where = f"{name}:{number}"
        changes[_item(row["item_id"], where)] = _flag(row["available"], where)
    return changes


def pending(changes: Mapping[str, bool], current: Mapping[str, bool]) -> dict[str, bool]:
    """The changes not recorded yet in the state table (a song without a recorded change is
    written either way: the batch catalogue's own flag may differ)."""
    return {item: flag for item, flag in changes.items() if current.get(item) is not flag}


def sync(state_table: Any, changes: Mapping[str, bool]) -> int:
    """Write the changes that differ from the table's; the number written."""
    from lambdas.store.dynamodb import Store

    store = Store({"state": state_table})
    todo = pending(changes, store.availability_overrides())
    store.set_availabilities(todo)
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lambdas.ops.availability", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--file", type=Path, required=True, help="CSV or JSON Lines changes")
    parser.add_argument("--table", default=os.environ.get(table("state").env_var),
                        help="the state table (default: $TABLE_STATE)")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("--table (or TABLE_STATE) is needed")
    try:
        with args.file.open(encoding="utf-8") as handle:
            changes = parse_changes(handle, args.file.name)
    except (OSError, ChangesError) as exc:
        print(f"availability: {exc}; nothing written", file=sys.stderr)
        return 1
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 5})
    written = sync(boto3.resource("dynamodb", config=config).Table(args.table), changes)
    print(f"{len(changes)} songs in {args.file.name}: {written} changed, "
          f"{len(changes) - written} already so")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
