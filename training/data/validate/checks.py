"""The value checks, vectorised over a table (or a chunk of a streamed one).

Every check computes a boolean mask of offending rows with pyarrow.compute and hands it to
:meth:`Findings.flag`, which counts the rows and keeps the first as an example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from training.data.contract import EVENTS, GENDERS, Column
from training.data.validate.problems import Findings, Values
from training.data.validate.source import Source

#: Columns holding ids, which must not be empty strings.
ID_COLUMNS = frozenset({"user_id", "item_id", "artist_id", "station_id", "album_id"})

#: A plausible age, in years.
AGE_RANGE = (0, 120)

#: Where a table's id columns point: table -> {column: table of the referenced ids}.
#: ``user_id`` columns are checked separately, together with the signup time.
REFERENCES: dict[str, dict[str, str]] = {
    "items": {"artist_id": "artists"},
    "interactions": {"item_id": "items"},
    "follows": {"artist_id": "artists"},
}

VOCABULARY = "the genres of items.genre"

T = TypeVar("T")


@dataclass(frozen=True)
class Keys:
    """The (non-null) ids of one table, to check references against."""

    label: str
    ids: pa.Array


@dataclass(frozen=True)
class Users:
    """The users' ids and, aligned with them, their signup times (None if unusable)."""

    label: str
    ids: pa.Array
    signup: pa.Array | None


@dataclass
class Context:
    """What the checks need beyond the rows: the genre vocabulary and the referenced ids."""

    findings: Findings
    genres: pa.Array | None = None
    keys: dict[str, Keys] = field(default_factory=dict)
    users: Users | None = None
    #: Where the id lookups (the costly part) run, in parallel with each other; None: inline.
    pool: Executor | None = None


def check_rows(rows: pa.Table, source: Source, ctx: Context) -> None:
    """Every check that works row by row (all but duplicate ids) on ``rows`` of ``source``."""
    references = [
        (name, ctx.keys[target], _submit(ctx.pool, _found, rows[name], ctx.keys[target]))
        for name, target in REFERENCES.get(source.name, {}).items()
        if name in rows.column_names and target in ctx.keys
    ]
    users = None
    if source.name != "users" and "user_id" in rows.column_names and ctx.users is not None:
        users = _submit(ctx.pool, _user_index, rows["user_id"], ctx.users)
    for name in rows.column_names:
        spec = source.spec.column(name)
        for message, mask, values in column_problems(source.name, spec, rows[name], ctx):
            ctx.findings.flag(source.name, source.label, name, message, rows, mask, values)
    for name, keys, found in references:
        check_reference(rows, source, name, keys, found.result(), ctx.findings)
    if users is not None and ctx.users is not None:
        check_users(rows, source, ctx.users, users.result(), ctx.findings)


def _submit(pool: Executor | None, fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` on ``pool``, or right now (as a done future) without one."""
    if pool is not None:
        return pool.submit(fn, *args)
    future: Future[T] = Future()
    future.set_result(fn(*args))
    return future


def _found(values: Values, keys: Keys) -> Values:
    """Whether each value is among ``keys``."""
    return pc.is_in(values, value_set=keys.ids)


def _user_index(values: Values, users: Users) -> Values:
    """Each value's position among the users' ids (null if unknown)."""
    return pc.index_in(values, value_set=users.ids)


def column_problems(
    table: str, column: Column, values: Values, ctx: Context
) -> Iterator[tuple[str, Values, Values | None]]:
    """(message, mask of offending rows, offending values) for each check of one column."""
    if not column.nullable and values.null_count:
        yield "null in a non-nullable column", pc.is_null(values), None
    if column.name in ID_COLUMNS:
        yield "empty string as id", pc.equal(pc.utf8_length(values), 0), None
    if column.name == "age":
        low, high = AGE_RANGE
        mask = pc.or_(pc.less(values, low), pc.greater(values, high))
        yield f"age outside the plausible range {low}..{high}", mask, pc.filter(values, mask)
        return
    domain = _domain(table, column.name, ctx.genres)
    if domain is None:
        return
    message, allowed = domain
    if pa.types.is_list(values.type):
        mask, offending = _unknown_in_lists(values, allowed)
    else:
        mask = _outside(values, allowed)
        offending = pc.filter(values, mask)
    yield message, mask, offending


def _domain(table: str, column: str, genres: pa.Array | None) -> tuple[str, pa.Array] | None:
    """The message and the allowed values of a column with a fixed set of values."""
    if column == "gender":
        return f"gender not one of {_listing(GENDERS)}", pa.array(GENDERS)
    if column == "event":
        return f"event not one of {_listing(EVENTS)}", pa.array(EVENTS)
    if genres is None:
        return None
    if column == "genre" and table in ("artists", "stations"):
        return f"genre not in the dataset's vocabulary ({VOCABULARY})", genres
    if column == "selected_genres":
        return f"selected genre not in the dataset's vocabulary ({VOCABULARY})", genres
    return None


def check_duplicates(rows: pa.Table, source: Source, findings: Findings) -> None:
    """Report rows whose id (the table's key) appears more than once."""
    key = source.spec.key
    if key is None or key not in rows.column_names:
        return
    values = rows[key]
    counts = pc.value_counts(values)
    repeated = pc.drop_null(
        pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    )
    if len(repeated):
        n = len(repeated)
        message = f"duplicate {key}: {n:,} id{'s' if n != 1 else ''} on more than one row"
        mask = pc.is_in(values, value_set=repeated)
        findings.flag(source.name, source.label, key, message, rows, mask, repeated)


def check_reference(
    rows: pa.Table, source: Source, column: str, keys: Keys, found: Values, findings: Findings
) -> None:
    """Report rows whose ``column`` names an id missing from ``keys`` (``found``: which not)."""
    values = rows[column]
    mask = pc.and_(_given(values), pc.invert(found))
    message = f"{column} not found in {keys.label}"
    findings.flag(source.name, source.label, column, message, rows, mask, pc.filter(values, mask))


def check_users(
    rows: pa.Table, source: Source, users: Users, index: Values, findings: Findings
) -> None:
    """Report unknown users, and rows whose ``ts`` is before their user's signup.

    ``index`` is where each row's user is among ``users`` (see :func:`_user_index`).
    """
    values = rows["user_id"]
    unknown = pc.and_(_given(values), pc.is_null(index))
    message = f"user_id not found in {users.label}"
    offending = pc.filter(values, unknown)
    findings.flag(source.name, source.label, "user_id", message, rows, unknown, offending)
    if users.signup is None or "ts" not in rows.column_names:
        return
    signup = pc.take(users.signup, index)
    early = pc.less(rows["ts"], signup)
    if pc.any(early).as_py():
        shown = rows.append_column("user_signup_ts", signup)
        message = f"ts before the user's signup_ts in {users.label}"
        findings.flag(source.name, source.label, "ts", message, shown, early)


def genre_vocabulary(items: pa.Table | None) -> pa.Array | None:
    """The dataset's genres: the distinct non-empty ``items.genre`` (None if unknown)."""
    if items is None or "genre" not in items.column_names:
        return None
    genres = pc.drop_null(pc.unique(items["genre"]))
    return pc.filter(genres, pc.not_equal(genres, ""))


def keys_of(table: pa.Table | None, column: str, label: str) -> Keys | None:
    """The ids of ``table`` (None when the table or its id column is unusable)."""
    if table is None or column not in table.column_names:
        return None
    return Keys(label, pc.drop_null(table[column]).combine_chunks())


def users_of(table: pa.Table | None, label: str) -> Users | None:
    """The users' ids with their signup times, rows without an id left out."""
    if table is None or "user_id" not in table.column_names:
        return None
    table = table.filter(pc.is_valid(table["user_id"]))
    signup = table["signup_ts"].combine_chunks() if "signup_ts" in table.column_names else None
    return Users(label, table["user_id"].combine_chunks(), signup)


def _given(ids: Values) -> Values:
    """Ids neither null nor empty (those are reported as such, not as unknown)."""
    return pc.fill_null(pc.greater(pc.utf8_length(ids), 0), False)


def _outside(values: Values, allowed: pa.Array) -> Values:
    """Non-null values not in ``allowed``."""
    return pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=allowed)))


def _unknown_in_lists(values: Values, allowed: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Rows of a list column holding an element not in ``allowed``, and those elements."""
    lists = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    flat = pc.list_flatten(lists)
    bad = pc.invert(pc.fill_null(pc.is_in(flat, value_set=allowed), False))
    parents = pc.filter(pc.list_parent_indices(lists), bad).to_numpy()
    mask = np.zeros(len(lists), dtype=bool)
    mask[parents] = True
    return pa.array(mask), pc.filter(flat, bad)


def _listing(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)
