"""The randomized SVD of training.batch.factors against an exact one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

from training.batch import factors


def _low_rank_counts(seed: int, rows: int = 3000, columns: int = 800) -> sp.csr_matrix:
    """Sparse plays of listeners in 12 taste groups, each playing around its own songs."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 12, rows)
    n = rows * 30
    user = rng.integers(0, rows, n)
    song = (group[user] * 60 + rng.integers(0, 90, n)) % columns
    return sp.csr_matrix((np.ones(n, dtype=np.float32), (user, song)), shape=(rows, columns))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_factors_span_the_exact_top_singular_vectors(seed):
    matrix = factors.confidence(_low_rank_counts(seed))
    fitted = factors.fit(matrix, rank=12, iterations=4, seed=seed)
    _, sigma, vt = np.linalg.svd(matrix.toarray().astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(fitted.sigma, sigma[:12], rtol=2e-3)
    cosines = np.linalg.svd(vt[:12] @ fitted.components, compute_uv=False)
    assert cosines.min() > 0.999  # the same subspace
    assert fitted.components.dtype == np.float32
    assert fitted.components.shape == (800, 12)


def test_the_row_blocks_multiply_as_the_whole_matrix():
    matrix = factors.confidence(_low_rank_counts(3))
    dense_right = np.random.default_rng(0).standard_normal((800, 7)).astype(np.float32)
    dense_left = np.random.default_rng(1).standard_normal((3000, 7)).astype(np.float32)
    with ThreadPoolExecutor(2) as pool:
        blocks = factors._RowBlocks(matrix, pool)
        assert len(blocks.blocks) == factors.ROW_BLOCKS
        np.testing.assert_allclose(blocks.times(dense_right), matrix @ dense_right, rtol=1e-5)
        np.testing.assert_allclose(
            blocks.transposed_times(dense_left), matrix.T @ dense_left, rtol=1e-4, atol=1e-4
        )


def test_a_matrix_of_lower_rank_than_asked_still_factorises():
    matrix = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], np.float32))
    fitted = factors.fit(matrix, rank=5, iterations=4, seed=0)
    np.testing.assert_allclose(fitted.sigma, [np.sqrt(3), 1.0], rtol=1e-5)
