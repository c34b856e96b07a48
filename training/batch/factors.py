"""PureSVD on confidence-weighted play counts: song (or artist) factors by randomized SVD.

A listener's scores for every song are ``(x V) V^T``, where ``x`` is the listener's weighted row
and ``V`` the song factors: the listener's history projected onto the taste space and back. It
needs no per-user fitting, so a listener's scores depend on nothing but their own row and ``V``
(which is what makes sharded scoring equal to one unsharded run).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from training.batch.cores import THREADS

ROW_BLOCKS = 8  # a fixed cut, whatever the cores: sums in one order, the same factors everywhere
OVERSAMPLES = 10  # extra random directions of the range finder (Halko et al., 2011)


def confidence(counts: sp.csr_matrix, copy: bool = True) -> sp.csr_matrix:
    """log(1 + count), times the column's inverse document frequency (rare songs say more);
    with ``copy=False`` a float32 ``counts`` is overwritten (at a million listeners, one matrix
    of the listening fewer in memory)."""
    weighted = counts.astype(np.float32, copy=copy)
    weighted.data = np.log1p(weighted.data)
    listeners = np.bincount(weighted.indices, minlength=weighted.shape[1])
    idf = np.log((1.0 + weighted.shape[0]) / (1.0 + listeners)).astype(np.float32)
    weighted.data *= idf[weighted.indices]
    return weighted


@dataclass(frozen=True)
class Factors:
    """Column factors ``V`` (columns x rank, float32) of a confidence matrix, and its singular
    values (they weight the dimensions when columns are compared with each other)."""

    components: np.ndarray
    sigma: np.ndarray

    def project(self, rows: sp.csr_matrix) -> np.ndarray:
        """Listeners' taste vectors ``x V`` (rows x rank)."""
        return np.asarray(rows @ self.components, dtype=np.float32)

    def scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of every column for each row (rows x columns, float32)."""
        return self.project(rows) @ self.components.T

    def scaled(self, rows: sp.csr_matrix) -> np.ndarray:
        """Taste scores scaled to each row's largest magnitude (rows x columns, float32)."""
        scores = self.scores(rows)
        largest = np.maximum(scores.max(axis=1), -scores.min(axis=1))  # no |scores| copy
        scores *= (1.0 / np.maximum(largest, 1e-12))[:, np.newaxis]
        return scores

    def blended(self, rows: sp.csr_matrix, prior: np.ndarray, weight: float) -> np.ndarray:
        """Taste scores scaled to each row's largest, plus ``weight`` x a prior per row (the
        popularity in the listener's region, scaled to 0..1)."""
        scores = self.scaled(rows)
        if weight:
            scores += weight * prior
        return scores

    def similarities(self, columns: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``columns`` with every column in the taste space."""
        unit = self.unit()
        return unit[columns] @ unit.T

    def unit(self) -> np.ndarray:
        """Columns as unit vectors of ``V Σ``."""
        scaled = self.components * self.sigma[np.newaxis, :]
        norms = np.linalg.norm(scaled, axis=1, keepdims=True)
        return (scaled / np.maximum(norms, 1e-12)).astype(np.float32)


class _RowBlocks:
    """A CSR matrix cut into :data:`ROW_BLOCKS` blocks of rows with about equal entries (views,
    no copy), so that its products with dense matrices run on :data:`THREADS` cores."""

    def __init__(self, matrix: sp.csr_matrix, pool: ThreadPoolExecutor) -> None:
        self.shape, self.pool = matrix.shape, pool
        targets = np.linspace(0, matrix.nnz, ROW_BLOCKS + 1)[1:-1]
        cuts = np.searchsorted(matrix.indptr, targets).clip(0, matrix.shape[0])
        self.bounds = [0, *sorted(int(c) for c in cuts), matrix.shape[0]]
        self.blocks = [
            sp.csr_matrix(
                (
                    matrix.data[matrix.indptr[a] : matrix.indptr[b]],
                    matrix.indices[matrix.indptr[a] : matrix.indptr[b]],
                    matrix.indptr[a : b + 1] - matrix.indptr[a],
                ),
                shape=(b - a, matrix.shape[1]),
                copy=False,
            )
            for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)
        ]

    def _each(self, work: Callable[[int], np.ndarray]) -> list[np.ndarray]:
        return list(self.pool.map(work, range(len(self.blocks))))

    def times(self, dense: np.ndarray) -> np.ndarray:
        """``matrix @ dense``."""
        return np.vstack(self._each(lambda i: np.asarray(self.blocks[i] @ dense)))

    def transposed_times(self, dense: np.ndarray) -> np.ndarray:
        """``matrix.T @ dense``, as the sum of each block's ``(dense_block.T @ block).T``."""
        bounds, blocks = self.bounds, self.blocks
        parts = self._each(lambda i: np.asarray(dense[bounds[i] : bounds[i + 1]].T @ blocks[i]))
        return np.sum(parts, axis=0).T


def _orthonormal(dense: np.ndarray) -> np.ndarray:
    """Orthonormal columns with the span of ``dense`` (well-conditioned: normalised first), by
    Cholesky QR twice: two passes of matrix products, much faster than a QR of a tall matrix.
    A rank-deficient ``dense`` (a matrix of lower rank than the directions asked for) takes QR."""
    try:
        for _ in range(2):
            upper = np.linalg.cholesky((dense.T @ dense).astype(np.float64)).T
            dense = dense @ np.linalg.inv(upper).astype(dense.dtype)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.qr(dense)[0])
    return dense


def _normalised(dense: np.ndarray) -> np.ndarray:
    """A basis of the columns' span, cheaper than QR: the power iterations only need it
    well-conditioned (the L factor of an LU decomposition, as scikit-learn does)."""
    return scipy.linalg.lu(dense, permute_l=True, check_finite=False)[0]


def fit(matrix: sp.csr_matrix, rank: int, iterations: int, seed: int) -> Factors:
    """The top ``rank`` right singular vectors of ``matrix``, scaled by their singular values:
    a randomized SVD (a range finder with ``iterations`` power iterations) whose sparse
    products run on :data:`THREADS` threads."""
    rank = max(1, min(rank, min(matrix.shape) - 1))
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    width = min(rank + OVERSAMPLES, min(matrix.shape))
    omega = np.random.default_rng(seed).standard_normal((matrix.shape[1], width))
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        a = _RowBlocks(matrix, pool)
        q = _normalised(a.times(omega.astype(np.float32)))
        for _ in range(iterations):
            q = _normalised(a.times(_normalised(a.transposed_times(q))))
        q = _orthonormal(q)
        b = a.transposed_times(q).T  # q.T @ matrix: width x columns
    _, sigma, vt = np.linalg.svd(b, full_matrices=False)
    return Factors(
        np.ascontiguousarray(vt[:rank].T, dtype=np.float32),
        np.asarray(sigma[:rank], dtype=np.float32),
    )
