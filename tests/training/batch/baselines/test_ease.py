"""EASE equals its definition: per song, ridge regression on the other songs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch.baselines import ease
from training.batch.baselines.base import TrainingData


def _matrix(seed: int = 3) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((40, 12)) < 0.3) * rng.integers(1, 5, (40, 12))
    return sp.csr_matrix(dense.astype(np.float32))


def test_weights_are_the_closed_form():
    x = (_matrix().toarray() > 0).astype(np.float64)
    lam = 2.5
    inverse = np.linalg.inv(x.T @ x + lam * np.eye(12))
    expected = np.eye(12) - inverse / np.diag(inverse)[np.newaxis, :]
    model = ease.fit(TrainingData(_matrix(), np.zeros(40, int), np.zeros((1, 12))), lam)
    np.testing.assert_allclose(model.weights, expected, atol=1e-5)
    assert np.all(np.diag(model.weights) == 0)


def test_each_column_is_the_ridge_regression_on_the_other_songs():
    x = (_matrix().toarray() > 0).astype(np.float64)
    lam = 2.5
    weights = ease.weights_(ease.gram(sp.csr_matrix(x)), lam)
    for j in range(12):
        others = np.delete(np.arange(12), j)
        a = x[:, others]
        ridge = np.linalg.solve(a.T @ a + lam * np.eye(11), a.T @ x[:, j])
        np.testing.assert_allclose(weights[others, j], ridge, atol=1e-5)


def test_the_in_place_inverse_is_symmetric_and_exact():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 300))
    spd = a @ a.T + 300 * np.eye(300)
    expected = np.linalg.inv(spd)
    np.testing.assert_allclose(ease.spd_inverse_(spd.copy()), expected, atol=1e-12)


def test_memory_bound():
    assert ease.peak_bytes(10_000) == 12 * 10**8
    assert ease.fits(10_000, 2 * 10**9)
    assert not ease.fits(100_000, 24 * 1024**3)
    limit = ease.largest_catalogue(24 * 1024**3)
    assert ease.fits(limit, 24 * 1024**3)
    assert not ease.fits(limit + 1, 24 * 1024**3)
