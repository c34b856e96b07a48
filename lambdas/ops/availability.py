"""Availability sync from a file: ``python -m lambdas.ops.availability --file CHANGES
[--table-prefix P | --table T --lists-table T] [--skip-unknown]``.

The operators' other way (besides ``PUT /v1/catalog/items/{itemId}/availability``) to mark songs
unavailable or available again, e.g. from a licensing export. The file is CSV with a header
``item_id,available`` (``true``/``false``, ``1``/``0``, ``yes``/``no``) or JSON Lines
``{"item_id": "s1", "available": false}``. Every song must be in the active batch version's
catalogue: unknown ones are listed and nothing is written (``--skip-unknown`` writes the others).
Only changes are written; every function sees them within its availability cache
(``CACHE_SECONDS``, 30 s by default).
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
MAX_LISTED = 20  # unknown songs named in the message
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


def unknown_songs(
    lists_table: Any, state_table: Any, songs: Iterable[str]
) -> tuple[str, list[str]]:
    """The active batch version and the ``songs`` its catalogue does not hold (in the order
    given); ``("", [])`` before the first load, when there is no catalogue to check against."""
    from lambdas.store.dynamodb import NoActiveVersionError, Store

    store = Store({"lists": lists_table, "state": state_table})
    wanted = list(songs)
    try:
        version = store.active_version()
    except NoActiveVersionError:
        return "", []
    known = store.catalog(wanted)
    return version, [song for song in wanted if song not in known]


def sync(state_table: Any, changes: Mapping[str, bool]) -> int:
    """Write the changes that differ from the table's; the number written."""
    from lambdas.store.dynamodb import Store

    store = Store({"state": state_table})
    todo = pending(changes, store.availability_overrides())
    store.set_availabilities(todo)
    return len(todo)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lambdas.ops.availability", description=__doc__.split("\n")[0]
    )
    env = os.environ.get
    parser.add_argument("--file", type=Path, required=True, help="CSV or JSON Lines changes")
    parser.add_argument(
        "--table", default=env(table("state").env_var), help="the state table ($TABLE_STATE)"
    )
    parser.add_argument(
        "--lists-table",
        default=env(table("lists").env_var),
        help="the lists table, holding the catalogue ($TABLE_LISTS)",
    )
    parser.add_argument("--table-prefix", help="name both tables by a prefix, e.g. musicrec-dev")
    parser.add_argument(
        "--skip-unknown",
        action="store_true",
        help="write the changes of the catalogue's songs and list the others (default: refuse)",
    )
    return parser


def known_changes(
    changes: dict[str, bool], lists: Any, state: Any, name: str, skip_unknown: bool
) -> dict[str, bool] | None:
    """The changes to write: all of them when every song is in the active version's catalogue;
    with unknown songs (listed on stderr), the others with ``skip_unknown``, else None."""
    version, unknown = unknown_songs(lists, state, changes)
    if not version:
        print("availability: no batch version is active yet: songs not checked", file=sys.stderr)
    if not unknown:
        return changes
    more = f" and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else ""
    what = (
        f"{len(unknown)} of {len(changes)} songs in {name} are not in the catalogue of batch "
        f"version {version}: {', '.join(unknown[:MAX_LISTED])}{more}"
    )
    if not skip_unknown:
        print(f"availability: {what}; nothing written (--skip-unknown writes the others)",
              file=sys.stderr)  # fmt: skip
        return None
    print(f"availability: {what}; those skipped", file=sys.stderr)
    left_out = set(unknown)
    return {song: flag for song, flag in changes.items() if song not in left_out}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.table_prefix:
        args.table = table("state").physical_name(args.table_prefix)
        args.lists_table = table("lists").physical_name(args.table_prefix)
    if not args.table or not args.lists_table:
        parser.error("--table and --lists-table (or TABLE_STATE and TABLE_LISTS) are needed")
    try:
        with args.file.open(encoding="utf-8") as handle:
            changes = parse_changes(handle, args.file.name)
    except (OSError, ChangesError) as exc:
        print(f"availability: {exc}; nothing written", file=sys.stderr)
        return 1
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 5})
    dynamodb = boto3.resource("dynamodb", config=config)
    state, lists = dynamodb.Table(args.table), dynamodb.Table(args.lists_table)
    todo = known_changes(changes, lists, state, args.file.name, args.skip_unknown)
    if todo is None:
        return 1
    written = sync(state, todo)
    print(f"{len(todo)} songs in {args.file.name}: {written} changed, "
          f"{len(todo) - written} already so")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
