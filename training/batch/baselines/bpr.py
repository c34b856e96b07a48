"""Bayesian personalised ranking (Rendle et al. 2009) by SGD over (listener, played song,
unplayed song) triples (``implicit``); the item factors carry a bias column."""

from __future__ import annotations

import numpy as np
from implicit.bpr import BayesianPersonalizedRanking

from training.batch.als import one_blas_thread
from training.batch.baselines.base import FactorScores, TrainingData, binary


def fit(
    data: TrainingData,
    factors: int = 64,
    learning_rate: float = 0.05,
    regularization: float = 0.01,
    iterations: int = 100,
) -> FactorScores:
    with one_blas_thread():  # implicit checks the BLAS threads when built
        model = BayesianPersonalizedRanking(
            factors=factors,
            learning_rate=learning_rate,
            regularization=regularization,
            iterations=iterations,
            random_state=data.seed,
        )
        model.fit(binary(data.counts), show_progress=False)
    users = np.asarray(model.user_factors, dtype=np.float32)
    items = np.asarray(model.item_factors, dtype=np.float32)
    return FactorScores(users, items)
