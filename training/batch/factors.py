"""PureSVD on confidence-weighted play counts: song (or artist) factors by randomized SVD.

A listener's scores for every song are ``(x V) V^T``, where ``x`` is the listener's weighted row
and ``V`` the song factors: the listener's history projected onto the taste space and back. It
needs no per-user fitting, so a listener's scores depend on nothing but their own row and ``V``
(which is what makes sharded scoring equal to one unsharded run).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd


def confidence(counts: sp.csr_matrix) -> sp.csr_matrix:
    """log(1 + count), times the column's inverse document frequency (rare songs say more)."""
    weighted = counts.astype(np.float32, copy=True)
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

    def blended(self, rows: sp.csr_matrix, prior: np.ndarray, weight: float) -> np.ndarray:
        """Taste scores scaled to each row's largest, plus ``weight`` x a prior per row (the
        popularity in the listener's region, scaled to 0..1)."""
        scores = self.scores(rows)
        scores /= np.maximum(np.abs(scores).max(axis=1, keepdims=True), 1e-12)
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


def fit(matrix: sp.csr_matrix, rank: int, iterations: int, seed: int) -> Factors:
    """The top ``rank`` right singular vectors of ``matrix``, scaled by their singular values."""
    rank = max(1, min(rank, min(matrix.shape) - 1))
    _, sigma, vt = randomized_svd(
        matrix.astype(np.float32),
        n_components=rank,
        n_iter=iterations,
        random_state=seed,
    )
    return Factors(
        np.ascontiguousarray(vt.T, dtype=np.float32), np.asarray(sigma, dtype=np.float32)
    )
