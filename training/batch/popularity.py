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

    def offsets(self, excluded: np.ndarray | None = None) -> np.ndarray:
        """``weight`` x the table (regions x columns, float32), ``-inf`` at ``excluded`` columns
        (a mask): what :meth:`add_to` adds."""
        offsets = (self.weight * self.table).astype(np.float32)
        if excluded is not None:
            offsets[:, excluded] = -np.inf
        return offsets

    def add_to(self, scores: np.ndarray, users: np.ndarray, offsets: np.ndarray) -> None:
        """Add each listener's region's row of ``offsets`` to their row of ``scores``, in place;
        consecutive listeners of one region take one broadcast row (no gathered copy), so
        listeners ordered by region (:meth:`by_region_order`) cost one pass over the block."""
        if not len(users):
            return
        regions = self.user_region[users]
        bounds = np.flatnonzero(np.diff(regions)) + 1
        for start, stop in zip(
            np.concatenate([[0], bounds]), np.concatenate([bounds, [len(users)]]), strict=True
        ):
            scores[start:stop] += offsets[regions[start]]

    def by_region_order(self, users: np.ndarray) -> np.ndarray:
        """``users`` ordered by region (stable), for :meth:`add_to`."""
        return users[np.argsort(self.user_region[users], kind="stable")]
