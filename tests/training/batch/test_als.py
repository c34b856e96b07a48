"""The served song factors by ALS: a listener's vector comes from their own row alone, by the
exact least-squares solve, and the fit depends on the plays, not on how the matrix is laid out."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from training.batch import als, song_model
from training.batch import factors as svd
from training.batch.params import BatchParams


@pytest.fixture(scope="module")
def confidence() -> sp.csr_matrix:
    rng = np.random.default_rng(3)
    counts = sp.random(600, 120, density=0.05, random_state=4, format="csr", dtype=np.float32)
    counts.data = rng.integers(1, 20, counts.nnz).astype(np.float32)
    return svd.confidence(counts)


REGULARIZATION, ALPHA = 3.0, 2.0  # different, so that swapping them shows


@pytest.fixture(scope="module")
def fitted(confidence) -> als.AlsFactors:
    return als.fit(
        confidence, factors=8, regularization=REGULARIZATION, alpha=ALPHA, iterations=6, seed=0
    )


def test_a_listeners_vector_depends_on_their_row_alone(confidence, fitted):
    everyone = fitted.project(confidence)
    rows = np.array([7, 300, 599])
    np.testing.assert_allclose(fitted.project(confidence[rows]), everyone[rows], atol=1e-6)
    assert fitted.scores(confidence[rows]).shape == (3, 120)


def test_the_fold_in_is_the_exact_least_squares_solve(confidence, fitted):
    """``(Yᵀ C Y + λI) x = Yᵀ C p`` with ``c = 1 + alpha x cell`` on played songs, 1 elsewhere."""
    row = confidence[11]
    y = fitted.components.astype(np.float64)
    c = np.ones(y.shape[0])
    p = np.zeros(y.shape[0])
    c[row.indices] = 1.0 + ALPHA * row.data
    p[row.indices] = 1.0
    a = y.T @ (c[:, None] * y) + REGULARIZATION * np.eye(y.shape[1])
    expected = np.linalg.solve(a, y.T @ (c * p))
    np.testing.assert_allclose(fitted.project(row)[0], expected, rtol=1e-3, atol=1e-5)


def test_the_fit_is_seeded_and_ignores_empty_rows(confidence, fitted):
    again = als.fit(
        confidence, factors=8, regularization=REGULARIZATION, alpha=ALPHA, iterations=6, seed=0
    )
    np.testing.assert_array_equal(again.components, fitted.components)
    padded = sp.vstack([confidence, sp.csr_matrix((50, confidence.shape[1]))]).tocsr()
    wider = als.fit(
        padded, factors=8, regularization=REGULARIZATION, alpha=ALPHA, iterations=6, seed=0
    )
    # the same up to float32 rounding (the sums run over more rows)
    np.testing.assert_allclose(wider.components, fitted.components, rtol=1e-2, atol=1e-3)
    other = als.fit(
        confidence, factors=8, regularization=REGULARIZATION, alpha=ALPHA, iterations=6, seed=1
    )
    assert not np.allclose(other.components, fitted.components)


def test_similar_songs_are_compared_by_the_cosine_of_their_factors(fitted):
    unit = fitted.unit()
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    similar = fitted.similarities(np.array([0, 5]))
    assert similar.shape == (2, 120)
    assert similar[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_the_params_choose_the_song_model(confidence):
    params = BatchParams(als_factors=4, factors=6, als_iterations=2)
    assert isinstance(song_model.fit(confidence, params), als.AlsFactors)
    puresvd = song_model.fit(confidence, params, "puresvd")
    assert not isinstance(puresvd, als.AlsFactors)
    assert puresvd.components.shape == (120, 6)
    with pytest.raises(ValueError, match="song_model: expected one of"):
        BatchParams(song_model="svd")
    assert song_model.served_name("als") == "als+regional+content"


def test_either_song_model_is_seeded_and_an_unknown_one_is_named(confidence):
    params = BatchParams(als_factors=4, factors=6, als_iterations=2, seed=3)
    for name in ("als", "puresvd"):
        once = song_model.fit(confidence, params, name).components
        np.testing.assert_array_equal(song_model.fit(confidence, params, name).components, once)
    with pytest.raises(ValueError, match=r"song_model: expected one of .* got 'svd'"):
        song_model.fit(confidence, params, "svd")
