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
