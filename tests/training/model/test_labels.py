"""Labels: the window, the minimum of plays, censored and left-out users."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from training.data.dataset_io import write_table
from training.model.labels import (
    DAY_MS,
    LabelWindow,
    count_window_plays,
    genre_codes,
    lookup,
    top_genre_labels,
)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
GENRES = ["Jazz", "Pop", "Rock"]
ITEMS = pa.table({"item_id": ["j", "p", "r"], "genre": ["Jazz", "Pop", "Rock"]})


def _ts(days):
    base = int(T0.timestamp() * 1000)
    return pa.array([base + int(d * DAY_MS) for d in days], pa.timestamp("ms", "UTC"))


def _write(root, plays, signup_days):
    """plays: (user, item, day since T0, event)."""
    write_table(
        root,
        "interactions",
        pa.table(
            {
                "user_id": [p[0] for p in plays],
                "item_id": [p[1] for p in plays],
                "ts": _ts([p[2] for p in plays]),
                "event": [p[3] if len(p) > 3 else "play" for p in plays],
            }
        ),
    )
    users = pa.array(list(signup_days))
    signup_ms = np.array(
        [int(T0.timestamp() * 1000) + int(d * DAY_MS) for d in signup_days.values()]
    )
    return users, signup_ms


WINDOW = LabelWindow(30, 60)


def _counts(root, users, signup_ms, window=WINDOW, **kw):
    return count_window_plays(
        str(root),
        users,
        signup_ms,
        ITEMS.column("item_id"),
        genre_codes(ITEMS, GENRES),
        len(GENRES),
        window,
        progress=False,
        **kw,
    )


def test_window_bounds_events_and_unknowns(tmp_path):
    plays = [
        ("a", "r", 29.99),  # before the window
        ("a", "r", 30.0),  # first instant: in
        ("a", "j", 45),
        ("a", "j", 59.9),
        ("a", "j", 60.0),  # end is excluded
        ("a", "p", 40, "skip"),  # not a play
        ("a", "zzz", 40),  # unknown item: ignored, counted
        ("ghost", "j", 40),  # unknown user: ignored
        ("b", "p", 10 + 31),  # b signed up on day 10
        ("b", "p", 10 + 70),  # the last interaction: data end is day 80
    ]
    users, signup_ms = _write(tmp_path, plays, {"a": 0, "b": 10})
    counts = _counts(tmp_path, users, signup_ms)
    assert counts.counts.tolist() == [[2, 0, 1], [0, 1, 0]]
    assert counts.n_interactions == len(plays)
    assert counts.n_unknown_items == 1
    assert counts.data_end_ms == signup_ms[1] + 70 * DAY_MS

    likes = _counts(tmp_path, users, signup_ms, events=("play", "skip"))
    assert likes.counts[0].tolist() == [2, 1, 1]

    other = _counts(tmp_path, users, signup_ms, window=LabelWindow(0, 30))
    assert other.counts.tolist() == [[0, 0, 1], [0, 0, 0]]


def test_min_plays_and_censoring(tmp_path):
    plays = [("a", "j", 35), ("a", "j", 36), ("a", "r", 37)]  # 3 plays
    plays += [("b", "p", 40), ("b", "p", 41)]  # 2 plays
    plays += [("c", "r", 70 + 31), ("c", "r", 70 + 32), ("c", "r", 70 + 33)]  # window not over
    plays += [("d", "j", 1)]  # no window plays
    plays += [("a", "j", 120)]  # data end: day 120
    signup = {"a": 0, "b": 0, "c": 70, "d": 0}
    users, signup_ms = _write(tmp_path, plays, signup)
    counts = _counts(tmp_path, users, signup_ms)
    labels = top_genre_labels(counts.counts, signup_ms, counts.data_end_ms, LabelWindow(), 3)
    assert labels.rows.tolist() == [0]
    assert labels.label.tolist() == [GENRES.index("Jazz")]
    assert labels.n_censored == 1  # c: day 70 + 60 > 120
    assert labels.n_too_few_plays == 2  # b and d
    assert labels.summary() == {
        "users": 4,
        "labelled": 1,
        "left_out_window_not_over": 1,
        "left_out_too_few_plays": 2,
    }
    looser = top_genre_labels(counts.counts, signup_ms, counts.data_end_ms, LabelWindow(), 2)
    assert looser.rows.tolist() == [0, 1]
    assert looser.label.tolist() == [0, 1]


def test_ties_go_to_the_lower_genre_code():
    counts = np.array([[2, 2, 0], [0, 3, 3]], dtype=np.int32)
    labels = top_genre_labels(counts, np.zeros(2, np.int64), 10**12, LabelWindow(), 1)
    assert labels.label.tolist() == [0, 1]


def test_batches_give_the_same_counts(tmp_path):
    rng = np.random.default_rng(0)
    plays = [
        (f"u{rng.integers(5)}", "jpr"[rng.integers(3)], float(rng.uniform(0, 90)))
        for _ in range(500)
    ]
    users, signup_ms = _write(tmp_path, plays, {f"u{i}": i for i in range(5)})
    whole = _counts(tmp_path, users, signup_ms)
    small = _counts(tmp_path, users, signup_ms, batch_size=7)
    np.testing.assert_array_equal(whole.counts, small.counts)
    assert whole.counts.sum() > 0


@pytest.mark.parametrize(
    ("text", "expected"), [("30:60", (30, 60)), (" 0 : 7.5 ", (0, 7.5)), ("10:11", (10, 11))]
)
def test_window_parsing(text, expected):
    window = LabelWindow.parse(text)
    assert (window.start_days, window.end_days) == expected


@pytest.mark.parametrize("text", ["60:30", "30", "a:b", "30:30", "-1:5"])
def test_bad_windows(text):
    with pytest.raises(ValueError, match="window"):
        LabelWindow.parse(text)


def test_lookup_both_ways():
    value_set = pa.array([f"u{i}" for i in range(100)])
    few = pa.array(["u5", "u7", "zz", None, "u5", "u99"])  # few distinct: reverse lookup
    assert lookup(few, value_set).tolist() == [5, 7, -1, -1, 5, 99]
    many = pa.array([*[f"u{i}" for i in range(100)][::-1], "nope"])  # many distinct: forward
    assert lookup(many, value_set).tolist() == [*range(99, -1, -1), -1]
