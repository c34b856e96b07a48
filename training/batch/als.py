"""Implicit-feedback ALS (Hu, Koren and Volinsky 2008) on the confidence matrix: the served song
factors (``BatchParams.song_model = "als"``), fitted by the ``implicit`` package.

The cells of :func:`training.batch.factors.confidence` (log plays times the song's inverse
document frequency) give the confidence ``c = 1 + alpha x cell`` where a listener played a song
and 1 elsewhere; the preference is 1 where played. ALS learns the song factors ``Y``; a
listener's vector is then *folded in* from their own row by the exact least-squares solve given
``Y`` (what one half-step of ALS computes for them). So, as with PureSVD, a listener's scores
depend on nothing but their own row and the song factors: sharded scoring equals one unsharded
run, and a listener's list follows their latest plays without refitting.

Chosen by measurement over PureSVD (docs/model.md, "Strong baselines"): level on the world,
ahead beyond noise on MovieLens 100K.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from training.batch.factors import Factors


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """``implicit`` runs its own threads on every core and asks for one BLAS thread."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _model(factors: int, regularization: float, iterations: int, seed: int) -> Any:
    from implicit.cpu.als import AlternatingLeastSquares  # imported when ALS is used

    return AlternatingLeastSquares(
        factors=factors,
        regularization=regularization,
        alpha=1.0,  # the confidence is built here (:func:`weights`)
        iterations=iterations,
        random_state=seed,
    )


def weights(confidence: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """``1 + alpha x cell`` on the played cells (what ``implicit`` reads as the confidence)."""
    shifted = confidence.astype(np.float32, copy=True)
    shifted.data = 1.0 + alpha * shifted.data
    return shifted


@dataclass(frozen=True)
class AlsFactors(Factors):
    """Song factors ``Y`` (``components``) learnt by ALS; ``sigma`` is all ones, so
    :meth:`unit` compares songs by the cosine of their factors."""

    regularization: float = 10.0
    alpha: float = 2.0

    def project(self, rows: sp.csr_matrix) -> np.ndarray:
        """Listeners' vectors folded in from their confidence ``rows`` (rows x factors): the
        exact least-squares solve given the song factors."""
        with one_blas_thread():
            model = _model(self.components.shape[1], self.regularization, 1, 0)
            model.item_factors = self.components
            users = model.recalculate_user(np.arange(rows.shape[0]), weights(rows, self.alpha))
        return np.asarray(users, dtype=np.float32)


def fit(
    confidence: sp.csr_matrix,
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int,
    seed: int,
) -> AlsFactors:
    """ALS of ``factors`` dimensions on ``confidence`` (listeners x songs); seeded."""
    # Seeded song factors and zero listener factors (the first sweep solves the listeners from
    # the songs): implicit's own start draws the listeners' first, so the songs' start, and the
    # fit, would depend on how many listeners the matrix has, empty rows included.
    start = np.random.default_rng(seed).random((confidence.shape[1], factors), dtype=np.float32)
    with one_blas_thread():
        model = _model(factors, regularization, iterations, seed)
        model.item_factors = start * np.float32(0.01)
        model.user_factors = np.zeros((confidence.shape[0], factors), dtype=np.float32)
        model.fit(weights(confidence, alpha), show_progress=False)
    items = np.ascontiguousarray(model.item_factors, dtype=np.float32)
    return AlsFactors(items, np.ones(factors, dtype=np.float32), regularization, alpha)
