"""Item-kNN: each song's k nearest by cosine, the cosines symmetric and exact."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch.baselines import knn
from training.batch.baselines.base import TrainingData


def _matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(5)
    dense = (rng.random((60, 25)) < 0.25) * rng.integers(1, 4, (60, 25))
    dense[:, 7] = 0  # a song nobody played has no neighbours and is nobody's
    return sp.csr_matrix(dense.astype(np.float32))


def _cosine(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=0)
    unit = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return unit.T @ unit


def test_all_neighbours_are_the_symmetric_cosine():
    x = _matrix()
    full = knn.neighbours(x, k=24).toarray()
    expected = _cosine(x.toarray().astype(np.float64))
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(full, expected, atol=1e-6)
    np.testing.assert_allclose(full, full.T, atol=1e-6)
    assert not full[7].any()
    assert not full[:, 7].any()


def test_each_row_keeps_its_k_most_similar():
    x = _matrix()
    k = 4
    kept = knn.neighbours(x, k).toarray()
    cosine = _cosine(x.toarray().astype(np.float64))
    np.fill_diagonal(cosine, -np.inf)
    for song in range(x.shape[1]):
        row = kept[song]
        assert np.count_nonzero(row) <= k
        if song == 7:
            continue
        threshold = np.sort(cosine[song])[-k]
        assert set(np.flatnonzero(row)) <= set(np.flatnonzero(cosine[song] >= threshold - 1e-6))
        np.testing.assert_allclose(row[row > 0], cosine[song][row > 0], atol=1e-6)


def test_scores_sum_the_neighbours_of_the_history():
    x = _matrix()
    data = TrainingData(x, np.zeros(60, dtype=np.int64), np.zeros((1, 25)))
    model = knn.fit(data, k=5, weighting="binary")
    scores = model.scores(np.array([0, 1]))
    binary = (x.toarray() > 0).astype(np.float32)
    expected = binary[[0, 1]] @ knn.neighbours(knn.binary(x), 5).toarray()
    np.testing.assert_allclose(scores, expected, atol=1e-5)
