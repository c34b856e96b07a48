"""Implicit-feedback ALS (Hu, Koren and Volinsky 2008) by conjugate gradient (``implicit``).

Confidence ``c = 1 + alpha log(1 + plays)`` where a listener played a song, 1 elsewhere;
preference 1 where played. Item and user factors are both learnt; the evaluated listeners are
among the fitted rows, so their factors come from the fit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares

from training.batch.als import one_blas_thread
from training.batch.baselines.base import FactorScores, TrainingData, log_counts


def confidence(counts: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """``1 + alpha log(1 + plays)`` on the played cells (what ``implicit`` reads as C)."""
    logged = log_counts(counts)
    logged.data = 1.0 + alpha * logged.data
    return logged


def fit(
    data: TrainingData,
    factors: int = 64,
    regularization: float = 0.1,
    alpha: float = 10.0,
    iterations: int = 15,
) -> FactorScores:
    with one_blas_thread():  # implicit checks the BLAS threads when built
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=1.0,  # the confidence is built above
            iterations=iterations,
            random_state=data.seed,
        )
        model.fit(confidence(data.counts, alpha), show_progress=False)
    users = np.asarray(model.user_factors, dtype=np.float32)
    items = np.asarray(model.item_factors, dtype=np.float32)
    return FactorScores(users, items)
