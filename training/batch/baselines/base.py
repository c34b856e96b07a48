"""What every method is fitted on and what a fitted method answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from training.batch.content import ContentModel


@dataclass(frozen=True)
class TrainingData:
    """The training side of a split, as a method sees it.

    ``counts`` holds the fitted listeners' rows (plays plus two per like, before the cutoff);
    ``region`` the region of each fitted row; ``regional_chart`` the plays of the chart window
    before the cutoff per region (every listener's, as the served job counts them); ``content``
    what the served method scores the songs cold before the cutoff with (none without a
    catalogue).
    """

    counts: sp.csr_matrix  # fitted listeners x songs
    region: np.ndarray  # region row of each fitted listener
    regional_chart: np.ndarray  # regions x songs: chart-window plays per region
    seed: int = 0
    content: ContentModel | None = None  # the served content scores of the split's cold songs

    @property
    def n_items(self) -> int:
        return int(self.counts.shape[1])

    @property
    def national_chart(self) -> np.ndarray:
        """Chart-window plays of every song, all regions together."""
        return np.asarray(self.regional_chart.sum(axis=0)).ravel()


class Recommender(Protocol):
    """A fitted method: scores of every song for some of the listeners it was fitted on."""

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Scores (len(rows) x songs, float32) of the fitted rows ``rows``."""
        ...


def binary(counts: sp.csr_matrix) -> sp.csr_matrix:
    """1 where a listener played a song."""
    ones = counts.astype(np.float32, copy=True)
    ones.data[:] = 1.0
    return ones


def log_counts(counts: sp.csr_matrix) -> sp.csr_matrix:
    """log(1 + plays): a heavy listener of one song does not drown the rest of their row."""
    logged = counts.astype(np.float32, copy=True)
    logged.data = np.log1p(logged.data)
    return logged


@dataclass(frozen=True)
class FactorScores:
    """Dot products of user and item factors (ALS, BPR)."""

    users: np.ndarray  # fitted listeners x rank
    items: np.ndarray  # songs x rank

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.users[rows] @ self.items.T, dtype=np.float32)


@dataclass(frozen=True)
class ItemToItem:
    """Scores ``x W`` from a listener's (transformed) row ``x`` and a songs x songs weight
    matrix ``W``, dense or sparse (EASE, item-kNN)."""

    inputs: sp.csr_matrix  # fitted listeners x songs, as the weights were learnt from
    weights: np.ndarray | sp.csr_matrix

    def scores(self, rows: np.ndarray) -> np.ndarray:
        product = self.inputs[rows] @ self.weights
        dense = product.toarray() if sp.issparse(product) else product
        return np.asarray(dense, dtype=np.float32)
