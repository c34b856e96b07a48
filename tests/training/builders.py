"""Build small dataset directories in code: valid by default, for tests to break one way at a time.

    root = DatasetBuilder.valid().set("users", 0, gender="q").write(tmp_path)

Tables are held as lists of row dicts and written with plain pyarrow (not
:mod:`training.data.dataset_io`, which would refuse broken data), each as ``<table>.parquet``
or, with ``parts``, as a ``<table>/`` directory of part files.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from training.data.contract import TABLES

UTC = dt.UTC

#: The genre vocabulary of the valid dataset (the genres of its items).
GENRES = ("Rock", "Jazz", "Hip Hop")

#: The first user signs up then; the others a day apart.
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)

#: The users table's optional onboarding answers, beyond the contract's columns.
USER_EXTRAS = pa.schema([("favourite_decade", pa.int64()), ("mood", pa.string())])


def day(n: float) -> dt.datetime:
    """``n`` days after :data:`T0`."""
    return T0 + dt.timedelta(days=n)


def valid_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of a small valid dataset: 4 users, 3 artists, 5 items, 2 stations."""
    users = [
        _user("u1", 0, 25, "f", "north", ["Rock", "Jazz"], 1990, "calm"),
        _user("u2", 1, None, "m", "south", ["Hip Hop"], None, None),
        _user("u3", 2, 40, None, "north", [], 1970, "happy"),
        _user("u4", 3, 61, "x", "east", ["Jazz"], 1960, "calm"),
    ]
    artists: list[dict[str, Any]] = [
        {"artist_id": "a1", "name": "The Rocks", "genre": "Rock", "region": "north"},
        {"artist_id": "a2", "name": "Blue Notes", "genre": "Jazz", "region": "south"},
        {"artist_id": "a3", "name": "MC Test", "genre": "Hip Hop", "region": "east"},
    ]
    items = [
        _item("i1", "Stone", "a1", "al1", "Rock", True),
        _item("i2", None, "a1", "al1", "Rock", True),
        _item("i3", "Blue", "a2", None, "Jazz", True),
        _item("i4", "Beat", "a3", "al3", "Hip Hop", False),
        _item("i5", "Late", "a2", "al2", "Jazz", True),
    ]
    stations: list[dict[str, Any]] = [
        {"station_id": "s1", "name": "Rock FM", "genre": "Rock", "region": "north"},
        {"station_id": "s2", "name": "Jazz National", "genre": "Jazz", "region": None},
    ]
    plays: list[tuple[str, str, float, str]] = [
        ("u1", "i1", 0.5, "play"),
        ("u1", "i3", 0.6, "like"),
        ("u1", "i2", 31, "skip"),
        ("u2", "i4", 1.5, "play"),
        ("u2", "i4", 40, "like"),
        ("u3", "i5", 2.1, "play"),
        ("u4", "i3", 3.2, "play"),
        ("u4", "i5", 45, "skip"),
    ]
    interactions = [{"user_id": u, "item_id": i, "ts": day(t), "event": e} for u, i, t, e in plays]
    follows: list[dict[str, Any]] = [
        {"user_id": "u1", "artist_id": "a1", "ts": day(0.1)},
        {"user_id": "u2", "artist_id": "a3", "ts": day(5)},
        {"user_id": "u4", "artist_id": "a2", "ts": day(3.5)},
    ]
    return {
        "users": users,
        "items": items,
        "artists": artists,
        "stations": stations,
        "interactions": interactions,
        "follows": follows,
    }


def _user(
    user_id: str,
    signup_day: int,
    age: int | None,
    gender: str | None,
    region: str,
    genres: list[str],
    decade: int | None,
    mood: str | None,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "signup_ts": day(signup_day),
        "age": age,
        "gender": gender,
        "region": region,
        "selected_genres": genres,
        "favourite_decade": decade,
        "mood": mood,
    }


def _item(
    item_id: str, title: str | None, artist: str, album: str | None, genre: str, available: bool
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "title": title,
        "artist_id": artist,
        "album_id": album,
        "genre": genre,
        "available": available,
    }


def contract_schemas() -> dict[str, pa.Schema]:
    """Each table's contract schema; the users' with :data:`USER_EXTRAS` appended."""
    schemas = {name: spec.schema for name, spec in TABLES.items()}
    users = schemas["users"]
    for extra in USER_EXTRAS:
        users = users.append(extra)
    schemas["users"] = users
    return schemas


@dataclass
class DatasetBuilder:
    """A dataset held in memory, changed step by step (each method returns ``self``)."""

    rows: dict[str, list[dict[str, Any]]]
    schemas: dict[str, pa.Schema] = field(default_factory=contract_schemas)
    omitted: set[str] = field(default_factory=set)

    @classmethod
    def valid(cls) -> DatasetBuilder:
        """The small valid dataset of :func:`valid_rows`."""
        return cls(valid_rows())

    def set(self, table: str, index: int, **values: Any) -> DatasetBuilder:
        """Change some values of row ``index`` of ``table``."""
        self.rows[table][index].update(values)
        return self

    def add(self, table: str, **values: Any) -> DatasetBuilder:
        """Append a row: a copy of the table's first row with ``values`` changed."""
        row = copy.deepcopy(self.rows[table][0])
        row.update(values)
        self.rows[table].append(row)
        return self

    def add_column(
        self, table: str, column: str, type_: pa.DataType, values: list[Any]
    ) -> DatasetBuilder:
        """Add a column (one value per row) that the contract does not know."""
        for row, value in zip(self.rows[table], values, strict=True):
            row[column] = value
        self.schemas[table] = self.schemas[table].append(pa.field(column, type_))
        return self

    def drop_column(self, table: str, column: str) -> DatasetBuilder:
        """Leave ``column`` out of ``table``."""
        schema = self.schemas[table]
        self.schemas[table] = schema.remove(schema.get_field_index(column))
        for row in self.rows[table]:
            row.pop(column, None)
        return self

    def retype(self, table: str, column: str, type_: pa.DataType) -> DatasetBuilder:
        """Store ``column`` as ``type_`` (its values must convert: :meth:`set` them first)."""
        schema = self.schemas[table]
        index = schema.get_field_index(column)
        self.schemas[table] = schema.set(index, pa.field(column, type_))
        return self

    def without(self, table: str) -> DatasetBuilder:
        """Write no file for ``table``."""
        self.omitted.add(table)
        return self

    def table(self, name: str) -> pa.Table:
        """``name`` as an Arrow table in the builder's schema for it."""
        return pa.Table.from_pylist(self.rows[name], schema=_nullable(self.schemas[name]))

    def write(self, root: str | Path, parts: dict[str, int] | None = None) -> Path:
        """Write the dataset under ``root``; ``parts`` splits tables into that many part files."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        for name in self.rows:
            if name in self.omitted:
                continue
            table = self.table(name)
            count = (parts or {}).get(name)
            if count is None:
                pq.write_table(table, root / f"{name}.parquet")
                continue
            (root / name).mkdir()
            step = -(-table.num_rows // count)
            for i in range(count):
                pq.write_table(table.slice(i * step, step), root / name / f"part-{i}.parquet")
        return root


def _nullable(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field nullable (so tests can write nulls anywhere)."""
    return pa.schema(f.with_nullable(True) for f in schema)
