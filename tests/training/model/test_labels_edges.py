"""Labels at their edges: interactions read in several chunks, a chunk without plays, a single
user, no interactions, windows ending exactly at the data's end, lookups with nulls, and the
progress bar."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.training.model.test_labels import GENRES, ITEMS, WINDOW, _counts, _write
from training.data.dataset_io import read_table, write_table
from training.model.labels import (
    DAY_MS,
    LabelWindow,
    _chunks,
    count_window_plays,
    genre_codes,
    lookup,
    top_genre_labels,
)

# 30 interactions of user a (signed up on day 0): 10 skips, then 20 plays on days 31..50 of
# Jazz, Pop and Rock in turn, then a play of an unknown user, two of unknown songs (one early,
# one late) and one play on day 100 (the data's end)
PLAYS: list[tuple] = [("a", "j", 31 + n, "skip") for n in range(10)]
PLAYS += [("a", "zzz", 45)]
PLAYS += [("a", "jpr"[n % 3], 31 + n) for n in range(20)]
PLAYS += [("ghost", "j", 40), ("a", "nope", 40), ("a", "j", 100)]


def test_chunks_hold_at_least_the_batch_size_and_only_the_columns_asked_for(tmp_path):
    _write(tmp_path, PLAYS, {"a": 0})
    tables = list(_chunks(str(tmp_path), ["user_id", "ts"], 10))
    assert [t.num_rows for t in tables] == [10, 10, 10, 4]
    assert tables[0].column_names == ["user_id", "ts"]
    assert [t.num_rows for t in _chunks(str(tmp_path), ["user_id"], 1 << 22)] == [34]


def test_chunks_gather_small_files_until_the_batch_size(tmp_path):
    _write(tmp_path, [("a", "j", n) for n in range(30)], {"a": 0})
    table = read_table(tmp_path, "interactions")
    (tmp_path / "interactions.parquet").unlink()
    parts = tmp_path / "interactions"
    parts.mkdir()
    for n in range(10):  # ten files of three rows
        pq.write_table(table.slice(3 * n, 3), parts / f"part-{n:02d}.parquet")
    assert [t.num_rows for t in _chunks(str(tmp_path), ["ts"], 10)] == [12, 12, 6]


def test_counts_add_up_over_chunks_even_after_a_chunk_without_plays(tmp_path):
    users, signup_ms = _write(tmp_path, PLAYS, {"a": 0})
    for batch_size in (7, 10, 1 << 22):
        counts = _counts(tmp_path, users, signup_ms, batch_size=batch_size)
        assert counts.counts.tolist() == [[7, 7, 6]], batch_size
        assert counts.counts.dtype == np.int32
        assert counts.n_interactions == 34
        assert counts.n_unknown_items == 2
        assert counts.data_end_ms == signup_ms[0] + 100 * DAY_MS


def test_a_single_play_counts(tmp_path):
    users, signup_ms = _write(tmp_path, [("a", "r", 45)], {"a": 0})
    assert _counts(tmp_path, users, signup_ms).counts.tolist() == [[0, 0, 1]]


def test_no_interactions_means_no_data_end(tmp_path):
    users, signup_ms = _write(tmp_path, [("a", "r", 45, "skip")], {"a": 0})
    empty = tmp_path / "empty"
    write_table(empty, "interactions", read_table(tmp_path, "interactions").slice(0, 0))
    counts = _counts(empty, users, signup_ms)
    assert (counts.n_interactions, counts.data_end_ms) == (0, 0)
    assert counts.counts.tolist() == [[0, 0, 0]]


def test_plain_arrays_of_users_and_items_work_too(tmp_path):
    users, signup_ms = _write(tmp_path, PLAYS, {"a": 0})
    counts = count_window_plays(
        str(tmp_path),
        users,
        signup_ms,
        pa.array(["j", "p", "r"]),
        genre_codes(ITEMS, GENRES),
        len(GENRES),
        WINDOW,
        progress=False,
    )
    assert counts.counts.tolist() == [[7, 7, 6]]


def test_the_progress_bar_counts_rows_against_the_tables_size(tmp_path, capsys):
    users, signup_ms = _write(tmp_path, PLAYS, {"a": 0})
    count_window_plays(
        str(tmp_path),
        users,
        signup_ms,
        ITEMS.column("item_id"),
        genre_codes(ITEMS, GENRES),
        len(GENRES),
        WINDOW,
    )
    err = capsys.readouterr().err
    assert "label window: 100%" in err
    assert "34.0/34.0" in err
    assert "rows/s" in err
    _counts(tmp_path, users, signup_ms)  # progress=False
    assert capsys.readouterr().err == ""


def test_a_window_ending_exactly_at_the_data_end_is_over():
    counts = np.array([[3, 0], [1, 0], [0, 0]], dtype=np.int32)
    signup = np.zeros(3, dtype=np.int64)
    end = 60 * DAY_MS
    labels = top_genre_labels(counts, signup, end, LabelWindow(30, 60))
    assert labels.rows.tolist() == [0]  # the default minimum is three plays
    assert labels.n_censored == 0
    assert top_genre_labels(counts, signup, end - 1, LabelWindow(30, 60)).n_censored == 3
    one = top_genre_labels(counts, signup, end, LabelWindow(30, 60), min_plays=1)
    assert one.rows.tolist() == [0, 1]
    assert top_genre_labels(
        counts, signup, end, LabelWindow(30, 60), min_plays=0
    ).rows.tolist() == [0, 1]


def test_genre_codes_are_int64_and_minus_one_for_other_genres():
    items = pa.table({"item_id": ["a", "b", "c"], "genre": ["Rock", "Polka", None]})
    codes = genre_codes(items, GENRES)
    assert codes.tolist() == [2, -1, -1]
    assert codes.dtype == np.int64


@pytest.mark.parametrize("n_values", [0, 1, 3])
def test_lookup_of_few_or_no_values_with_nulls(n_values):
    value_set = pa.array(["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"])
    values = pa.array(["u5", None, "u5", "u9"][: n_values + (n_values > 0)], pa.string())
    found = lookup(values, value_set)
    assert found.tolist() == [5, -1, 5, 9][: len(values)]
    assert found.dtype == np.int64


def test_lookup_of_many_values_is_int64():
    value_set = pa.array(["a", "b"])
    found = lookup(pa.array(["b", "a", None]), value_set)
    assert found.tolist() == [1, 0, -1]
    assert found.dtype == np.int64
