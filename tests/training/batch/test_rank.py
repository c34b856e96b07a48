"""The vectorised selection keeps the caps and otherwise the best candidates, like a loop would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from training.batch.rank import top_candidates, top_n


def _reference(scores, n, caps):
    """The obvious loop: walk the candidates best first, keep what the caps allow."""
    out = []
    for row in scores:
        kept, counts = [], [dict() for _ in caps]
        for col in np.argsort(-row, kind="stable"):
            if not np.isfinite(row[col]) or len(kept) == n:
                continue
            groups = [group_of[col] for group_of, _ in caps]
            if all(
                g < 0 or c.get(g, 0) < cap
                for g, c, (_, cap) in zip(groups, counts, caps, strict=False)
            ):
                kept.append(col)
                for g, c in zip(groups, counts, strict=False):
                    c[g] = c.get(g, 0) + 1
        out.append(kept)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8), st.integers(1, 3))
def test_caps_hold_and_lists_match_the_loop_on_distinct_scores(seed, n, cap):
    rng = np.random.default_rng(seed)
    scores = rng.permutation(60).reshape(3, 20).astype(np.float32)  # distinct: no tie questions
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    artist = rng.integers(0, 4, 20)
    caps = [(artist, cap)]
    chosen, values = top_n(scores, n, caps, pool=20)
    expected = _reference(scores, n, caps)
    for row, want in enumerate(expected):
        got = [int(c) for c in chosen[row] if c >= 0]
        assert got == want
        assert np.all(np.isfinite(values[row][: len(got)]))


def test_album_cap_ignores_songs_without_album():
    scores = np.array([[5, 4, 3, 2, 1]], dtype=np.float32)
    album = np.array([-1, -1, 0, 0, -1])
    chosen, _ = top_n(scores, 5, [(album, 1)])
    assert chosen[0].tolist() == [0, 1, 2, 4, -1]


def test_top_candidates_orders_best_first():
    scores = np.array([[0.1, 0.9, 0.5, -np.inf]], dtype=np.float32)
    assert top_candidates(scores, 3).tolist() == [[1, 2, 0]]


def _best_scores(scores: np.ndarray, k: int) -> np.ndarray:
    return -np.sort(-scores, axis=1)[:, :k]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    columns=st.sampled_from([5_000, 12_288, 40_000]),
    k=st.sampled_from([1, 20, 100, 500]),
    rounding=st.sampled_from([None, 1, 0]),
)
def test_the_sampled_threshold_path_returns_each_rows_exact_best(seed, columns, k, rounding):
    """Wide rows take the sampled-threshold path: the best k scores exactly, distinct columns,
    however many ties (rounded scores) or ``-inf`` cells (played, ineligible) a row has."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((60, columns)).astype(np.float32)
    if rounding is not None:
        scores = np.round(scores, rounding)
    scores[:20, rng.random(columns) < 0.95] = -np.inf
    scores[20] = -np.inf
    chosen = top_candidates(scores, k)
    assert chosen.shape == (60, k)
    chosen_scores = np.take_along_axis(scores, chosen, axis=1)
    np.testing.assert_array_equal(chosen_scores, _best_scores(scores, k))
    assert all(len(set(row.tolist())) == k for row in chosen)


def test_a_rows_answer_does_not_depend_on_the_rows_ranked_with_it():
    """Sharded runs rank other blocks of listeners than one run: ties must still fall alike."""
    rng = np.random.default_rng(3)
    scores = np.round(rng.standard_normal((40, 30_000)), 1).astype(np.float32)
    scores[5, :] = 0.0  # one row all ties
    together = top_candidates(scores, 100)
    for row in (0, 5, 17, 39):
        np.testing.assert_array_equal(top_candidates(scores[[row]], 100)[0], together[row])
        np.testing.assert_array_equal(top_candidates(scores[row::7], 100)[0], together[row])
