"""Popularity per region: the baselines of the evaluation, the regional charts, and the prior
blended into each listener's taste scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def by_region(counts: sp.csr_matrix, user_region: np.ndarray, n_regions: int) -> np.ndarray:
    """Regions x columns: the counts of each region's listeners summed."""
    one_hot = sp.csr_matrix(
        (np.ones(len(user_region), dtype=np.float32), (user_region, np.arange(len(user_region)))),
        shape=(n_regions, len(user_region)),
    )
    return np.asarray((one_hot @ counts).todense(), dtype=np.float64)


@dataclass(frozen=True)
class RegionalPrior:
    """Each region's popularity scaled to 0..1, and the weight it gets next to taste."""

    table: np.ndarray  # regions x columns
    user_region: np.ndarray
    weight: float

    @classmethod
    def from_counts(
        cls, counts: sp.csr_matrix, user_region: np.ndarray, n_regions: int, weight: float
    ) -> RegionalPrior:
        plays = by_region(counts, user_region, n_regions)
        table = plays / np.maximum(plays.max(axis=1, keepdims=True), 1.0)
        return cls(table.astype(np.float32), user_region, weight)

    def rows(self, users: np.ndarray) -> np.ndarray:
        return self.table[self.user_region[users]]
