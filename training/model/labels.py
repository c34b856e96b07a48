"""Onboarding labels: the genre each listener played most in a window after signup.

One streaming pass over ``interactions`` counts, per user and genre, the plays whose time since
the user's signup falls in ``[start, end)`` days: user ids and item ids become row indices with
``pyarrow.compute.index_in``, items become genre codes, and ``np.bincount`` on
``user * n_genres + genre`` accumulates the counts. Users whose window is not over by the end of
the data (censored) or who have fewer than ``min_plays`` plays in it are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from tqdm import tqdm

from training.data.dataset_io import iter_batches, table_path

DAY_MS = 86_400_000


@dataclass(frozen=True)
class LabelWindow:
    """Days after signup, ``start`` included, ``end`` excluded."""

    start_days: float = 30.0
    end_days: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.start_days < self.end_days:
            raise ValueError(f"label window {self}: need 0 <= start < end")

    @classmethod
    def parse(cls, text: str) -> LabelWindow:
        """``"30:60"`` (days after signup) into a window."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", str(text))
        if not match:
            raise ValueError(f"label window {text!r}: expected START:END in days, e.g. 30:60")
        return cls(float(match.group(1)), float(match.group(2)))

    def __str__(self) -> str:
        return f"{self.start_days:g}:{self.end_days:g}"


@dataclass
class WindowCounts:
    """Plays per user (rows of ``users``) and genre in the label window."""

    counts: np.ndarray  # (n_users, n_genres) int32
    data_end_ms: int  # the last interaction's time: windows ending later are censored
    n_interactions: int
    n_unknown_items: int


@dataclass
class Labels:
    """The labelled users: row indices into ``users`` and their top genre's code."""

    rows: np.ndarray  # int64 indices into the users table
    label: np.ndarray  # int64 genre codes
    n_users: int
    n_censored: int
    n_too_few_plays: int

    @property
    def n_labelled(self) -> int:
        return len(self.rows)

    def summary(self) -> dict[str, int]:
        return {
            "users": self.n_users,
            "labelled": self.n_labelled,
            "left_out_window_not_over": self.n_censored,
            "left_out_too_few_plays": self.n_too_few_plays,
        }


def genre_codes(items: pa.Table, genres: list[str]) -> np.ndarray:
    """The genre code of each row of ``items`` (-1 where the genre is not in ``genres``)."""
    codes = pc.index_in(items.column("genre"), value_set=pa.array(genres, pa.string()))
    return np.asarray(pc.fill_null(codes, -1), dtype=np.int64)


def lookup(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Index of each of ``values`` in ``value_set`` (-1 where absent), as int64.

    Hashing ``value_set`` costs about as much as probing it, and pyarrow hashes it anew on
    every call; so when ``values`` repeat a few distinct ids (a batch of interactions holds
    far fewer users than the users table), the distinct values are looked up the other way
    round: ``value_set`` is probed against the small set of distinct ``values``.
    """
    encoded = values.dictionary_encode()
    distinct, codes = encoded.dictionary, encoded.indices
    if 4 * len(distinct) >= len(value_set):
        found = pc.index_in(distinct, value_set=value_set)
        position = np.asarray(pc.fill_null(found, -1), dtype=np.int64)
    else:
        back = np.asarray(pc.fill_null(pc.index_in(value_set, value_set=distinct), -1))
        hit = back >= 0
        position = np.full(len(distinct), -1, dtype=np.int64)
        position[back[hit]] = np.flatnonzero(hit)
    out = position[np.asarray(pc.fill_null(codes, 0), dtype=np.int64)]
    if codes.null_count:
        out[np.asarray(codes.is_null())] = -1
    return out


def _chunks(data_dir: str, columns: list[str], batch_size: int) -> Iterator[pa.Table]:
    """Interactions in tables of at least ``batch_size`` rows (row groups are often smaller:
    fewer, larger chunks mean fewer hash builds and fewer count accumulations)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in iter_batches(data_dir, "interactions", columns, batch_size):
        pending.append(batch)
        rows += batch.num_rows
        if rows >= batch_size:
            yield pa.Table.from_batches(pending).combine_chunks()
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()


def count_window_plays(
    data_dir: str,
    user_ids: pa.Array | pa.ChunkedArray,
    signup_ms: np.ndarray,
    item_ids: pa.Array | pa.ChunkedArray,
    item_genre: np.ndarray,
    n_genres: int,
    window: LabelWindow,
    events: tuple[str, ...] = ("play",),
    batch_size: int = 1 << 22,
    progress: bool = True,
) -> WindowCounts:
    """Stream ``interactions`` and count in-window events per user and genre."""
    n_users = len(user_ids)
    counts = np.zeros(n_users * n_genres, dtype=np.int64)
    user_set = user_ids.combine_chunks() if isinstance(user_ids, pa.ChunkedArray) else user_ids
    item_set = item_ids.combine_chunks() if isinstance(item_ids, pa.ChunkedArray) else item_ids
    event_set = pa.array(list(events), pa.string())
    start_ms, end_ms = window.start_days * DAY_MS, window.end_days * DAY_MS
    data_end = np.iinfo(np.int64).min
    n_rows = n_unknown = 0
    path = table_path(data_dir, "interactions")
    total = ds.dataset(path, format="parquet").count_rows() if path is not None else None
    bar = tqdm(total=total, unit="rows", unit_scale=True, desc="label window", disable=not progress)
    columns = ["user_id", "item_id", "ts", "event"]
    with bar:
        for table in _chunks(data_dir, columns, batch_size):
            n_rows += table.num_rows
            bar.update(table.num_rows)
            last = pc.max(table.column("ts").cast(pa.int64())).as_py()
            if last is not None:
                data_end = max(data_end, int(last))
            table = table.filter(pc.is_in(table.column("event"), value_set=event_set))
            if table.num_rows == 0:
                continue
            user_np = lookup(table.column("user_id").chunk(0), user_set)
            ts = np.asarray(pc.fill_null(table.column("ts").cast(pa.int64()), 0), np.int64)
            known = user_np >= 0
            age_ms = ts - signup_ms[np.where(known, user_np, 0)]
            idx = np.flatnonzero(known & (age_ms >= start_ms) & (age_ms < end_ms))
            if len(idx) == 0:
                continue
            item_np = lookup(table.column("item_id").chunk(0).take(pa.array(idx)), item_set)
            genre = np.where(item_np >= 0, item_genre[np.maximum(item_np, 0)], -1)
            ok = genre >= 0
            n_unknown += int((~ok).sum())
            keys = user_np[idx[ok]] * n_genres + genre[ok]
            counts += np.bincount(keys, minlength=n_users * n_genres)
    return WindowCounts(
        counts=counts.reshape(n_users, n_genres).astype(np.int32),
        data_end_ms=int(data_end) if n_rows else 0,
        n_interactions=n_rows,
        n_unknown_items=n_unknown,
    )


def top_genre_labels(
    counts: np.ndarray,
    signup_ms: np.ndarray,
    data_end_ms: int,
    window: LabelWindow,
    min_plays: int = 3,
) -> Labels:
    """Each user's most played genre in the window; ties go to the lower genre code.

    Users whose window ends after the data does are left out (their window is incomplete),
    as are users with fewer than ``min_plays`` plays in the window.
    """
    n_users = counts.shape[0]
    over = signup_ms + window.end_days * DAY_MS <= data_end_ms
    total = counts.sum(axis=1)
    enough = total >= max(min_plays, 1)
    rows = np.flatnonzero(over & enough)
    label = counts[rows].argmax(axis=1).astype(np.int64)
    return Labels(
        rows=rows.astype(np.int64),
        label=label,
        n_users=n_users,
        n_censored=int((~over).sum()),
        n_too_few_plays=int((over & ~enough).sum()),
    )
