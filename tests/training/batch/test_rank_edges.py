"""Top-N selection at its edges: no candidate or exactly one, a candidate pool too small for the
caps, two caps at once, and the candidates of many rows against a full sort."""

from __future__ import annotations

import numpy as np

from training.batch.rank import NO_GROUP, occurrence, top_candidates, top_n


def test_zero_candidates_wanted_or_available_is_an_empty_integer_block():
    scores = np.array([[0.3, 0.1, 0.2], [0.5, 0.4, 0.6]])
    none = top_candidates(scores, 0)
    assert none.shape == (2, 0)
    assert none.dtype == np.int64
    no_columns = top_candidates(np.zeros((3, 0)), 4)
    assert (no_columns.shape, no_columns.dtype) == ((3, 0), np.int64)


def test_one_candidate_is_the_best():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [0.8, 0.2, 0.3, 0.1]])
    assert top_candidates(scores, 1).tolist() == [[1], [0]]


def test_candidates_are_the_best_k_in_order_like_a_full_sort():
    rng = np.random.default_rng(5)
    scores = rng.permutation(40 * 30).reshape(40, 30).astype(np.float64)  # distinct
    full = np.argsort(-scores, axis=1, kind="stable")
    for k in range(1, 31):
        assert np.array_equal(top_candidates(scores, k), full[:, :k]), k


def test_occurrence_counts_earlier_valid_cells_of_the_same_group_per_row():
    groups = np.array([[0, 1, 0, 0, NO_GROUP], [0, 0, 1, 1, 0]])
    valid = np.array([[True, True, False, True, True], [True, True, True, True, True]])
    seen = occurrence(groups, valid)
    assert seen[0].tolist()[:2] == [0, 0]
    assert seen[0][3] == 1  # the invalid cell in between is not counted
    assert seen[1].tolist() == [0, 1, 0, 1, 2]
    assert occurrence(np.zeros((2, 0), dtype=np.int64), np.zeros((2, 0), bool)).shape == (2, 0)


def test_occurrence_keeps_the_rows_of_a_tall_block_apart():
    groups = np.array([[1, 1]] + [[0, 0]] * 4)  # more rows than groups
    seen = occurrence(groups, np.ones(groups.shape, dtype=bool))
    assert seen.tolist() == [[0, 1]] * 5


def test_no_candidates_at_all_with_caps():
    chosen, values = top_n(np.zeros((2, 0)), 3, [(np.zeros(0, dtype=np.int64), 1)])
    assert chosen.shape == (2, 0)
    assert values.shape == (2, 0)


def test_a_song_dropped_by_one_cap_does_not_count_against_another():
    # candidates best first: c0 (album 0, artist 1), c1 (album 0: second of it, dropped),
    # c2 (album 1, artist 0): artist 0's first kept song, whatever c1's artist
    scores = np.array([[3.0, 2.0, 1.0]])
    album = np.array([0, 0, 1])
    artist = np.array([1, 0, 0])
    chosen, values = top_n(scores, 3, [(album, 1), (artist, 1)])
    assert chosen.tolist() == [[0, 2, -1]]
    assert values[0][:2].tolist() == [3.0, 1.0]
    assert np.isnan(values[0][2])


def test_the_caps_pick_from_five_times_n_candidates():
    # ten songs of artist 0 first, then two of artist 1: with n = 2 the pool holds ten
    scores = np.arange(12, 0, -1, dtype=np.float64)[np.newaxis, :]
    artist = np.array([0] * 10 + [1, 1])
    chosen, _ = top_n(scores, 2, [(artist, 1)])
    assert chosen.tolist() == [[0, -1]]
    chosen, _ = top_n(scores, 2, [(artist, 1)], pool=6)
    assert chosen.tolist() == [[0, 10]]
