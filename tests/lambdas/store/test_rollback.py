"""The rollback is a compare-and-set on the active pointer (moto's DynamoDB): with the version
the caller expects, and atomically against a switch between its read and its write."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.store import keys
from lambdas.store.loader import LoadError, Tables, VersionConflictError, active, rollback


def point(tables: Tables, version: str, previous: str | None) -> None:
    tables.state.put_item(Item={**keys.ACTIVE, "version": version, "previous": previous,
                                "switched_at": "2026-12-14T03:40:00+00:00"})  # fmt: skip
    if previous:
        tables.state.put_item(Item={**keys.load_marker(previous, "personal/part-0.jsonl"),
                                    "family": "personal", "records": 1})  # fmt: skip


class SwitchedMeanwhile:
    """The state table as another writer races it: right after the rollback's read of the
    pointer, the pipeline's switch makes v3 active (a real write to the same table)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get_item(self, **kwargs: Any) -> Any:
        answer = self.table.get_item(**kwargs)
        if kwargs.get("Key") == keys.ACTIVE:
            self.table.put_item(Item={**keys.ACTIVE, "version": "v3", "previous": "v2"})
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)


def test_the_expected_version_rolls_back(tables):
    point(tables, "v2", "v1")
    assert rollback(tables, expected_active="v2")["version"] == "v1"
    assert (active(tables) or {})["previous"] == "v2"


def test_another_active_version_is_a_conflict_and_changes_nothing(tables):
    point(tables, "v2", "v1")
    with pytest.raises(VersionConflictError, match="the active version is v2, not v9"):
        rollback(tables, expected_active="v9")
    assert (active(tables) or {})["version"] == "v2"


def test_a_switch_between_the_read_and_the_write_is_a_conflict_and_wins(tables):
    point(tables, "v2", "v1")
    racing = Tables(tables.lists, SwitchedMeanwhile(tables.state))
    with pytest.raises(VersionConflictError, match="changed from v2 during the rollback"):
        rollback(racing, expected_active="v2")
    assert (active(tables) or {})["version"] == "v3"  # the switch is kept


def test_a_conflict_is_a_load_error_for_the_command_line(tables):
    assert issubclass(VersionConflictError, LoadError)  # lambdas.ops.load reports LoadErrors
    with pytest.raises(LoadError, match="no previous version"):
        rollback(tables)
