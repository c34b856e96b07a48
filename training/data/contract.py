"""The data contract: the tables of a training dataset, their columns and types (DESIGN section 4).

A dataset is a directory holding one Parquet file per table (``users.parquet``, ...), or one
directory of Parquet part files per table (``interactions/part-0.parquet``, ...). This module
knows the schemas; :mod:`training.data.dataset_io` reads and writes them;
:mod:`training.data.validate` checks a directory against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa

#: The genres of a radio network, in a fixed order (the synthetic world uses them; other
#: datasets bring their own vocabulary: the genres of their items).
RADIO_GENRES: tuple[str, ...] = (
    "Top 40 & Pop",
    "Hip Hop",
    "R&B",
    "Rock",
    "Alternative",
    "Classic Rock",
    "Country",
    "Jazz",
    "Classical",
    "Latin",
    "International",
    "News & Talk",
    "Sports",
    "Public Radio",
    "Oldies",
    "Kids & Family",
    "Mix & Variety",
    "Electronic",
    "Christian",
    "World",
)

GENDERS: tuple[str, ...] = ("f", "m", "x")

#: Timestamps are stored in milliseconds, UTC.
TIMESTAMP = pa.timestamp("ms", tz="UTC")


class Event(StrEnum):
    """What a listener did with a song."""

    PLAY = "play"
    SKIP = "skip"
    LIKE = "like"


EVENTS: tuple[str, ...] = tuple(e.value for e in Event)


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, canonical Arrow type and whether nulls are allowed."""

    name: str
    type: pa.DataType
    nullable: bool = False

    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract: required columns, its id column, whether the file is optional.

    ``open_columns`` means further columns are allowed and carried along (the users table's
    extra onboarding answers).
    """

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    optional: bool = False
    open_columns: bool = False

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([c.field() for c in self.columns])

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


STRING = pa.string()

USERS = TableSpec(
    name="users",
    key="user_id",
    open_columns=True,
    columns=(
        Column("user_id", STRING),
        Column("signup_ts", TIMESTAMP),
        Column("age", pa.int32(), nullable=True),
        Column("gender", STRING, nullable=True),
        Column("region", STRING),
        Column("selected_genres", pa.list_(STRING)),
    ),
)

ITEMS = TableSpec(
    name="items",
    key="item_id",
    columns=(
        Column("item_id", STRING),
        Column("title", STRING, nullable=True),
        Column("artist_id", STRING),
        Column("album_id", STRING, nullable=True),
        Column("genre", STRING),
        Column("available", pa.bool_()),
    ),
)

ARTISTS = TableSpec(
    name="artists",
    key="artist_id",
    columns=(
        Column("artist_id", STRING),
        Column("name", STRING),
        Column("genre", STRING),
        Column("region", STRING),
    ),
)

STATIONS = TableSpec(
    name="stations",
    key="station_id",
    columns=(
        Column("station_id", STRING),
        Column("name", STRING),
        Column("genre", STRING),
        Column("region", STRING, nullable=True),
    ),
)

INTERACTIONS = TableSpec(
    name="interactions",
    columns=(
        Column("user_id", STRING),
        Column("item_id", STRING),
        Column("ts", TIMESTAMP),
        Column("event", STRING),
    ),
)

FOLLOWS = TableSpec(
    name="follows",
    optional=True,
    columns=(
        Column("user_id", STRING),
        Column("artist_id", STRING),
        Column("ts", TIMESTAMP),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (USERS, ITEMS, ARTISTS, STATIONS, INTERACTIONS, FOLLOWS)
}
