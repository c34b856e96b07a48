"""Per-listener recall@K and NDCG@K (their means are evaluate.py's ``ranking_metrics``),
catalogue coverage, the share of local acts in a list, and paired bootstrap intervals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from training.batch.listening import Catalogue

NOT_LOCAL = -1


def per_user(ranked: np.ndarray, relevant: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Recall@K and NDCG@K (binary gains) of each row of ``ranked`` (rows x K), as evaluate.py
    computes them before taking the mean."""
    rows = np.arange(ranked.shape[0])[:, None]
    hits = np.asarray(relevant[rows, ranked].todense()) > 0
    n_relevant = relevant.getnnz(axis=1).astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[
        np.minimum(n_relevant, ranked.shape[1]).astype(np.int64)
    ]
    recall = hits.sum(axis=1) / n_relevant
    ndcg = (hits * discounts).sum(axis=1) / ideal
    return recall, ndcg


def coverage(ranked: np.ndarray, n_items: int) -> float:
    """The share of the catalogue that appears in at least one list."""
    return float(len(np.unique(ranked[ranked >= 0])) / n_items) if n_items else 0.0


def item_home_region(catalogue: Catalogue, regions: np.ndarray) -> np.ndarray:
    """Each song's region row when its artist is a local act of a listener region, else
    :data:`NOT_LOCAL` (national acts carry a country code, which is no listener region)."""
    row_of = {str(name): i for i, name in enumerate(regions)}
    artist_home = np.array(
        [row_of.get(str(r), NOT_LOCAL) for r in catalogue.artist_region], dtype=np.int64
    )
    return artist_home[catalogue.item_artist] if len(artist_home) else artist_home


def local_share(ranked: np.ndarray, item_home: np.ndarray, user_region: np.ndarray) -> np.ndarray:
    """Per row: the share of its songs by local acts of that listener's region."""
    return (item_home[ranked] == user_region[:, None]).mean(axis=1)


def relevant_local_share(
    relevant: sp.csr_matrix, item_home: np.ndarray, user_region: np.ndarray
) -> np.ndarray:
    """Per row: the share of the held-out new songs by local acts of the listener's region (the
    share a list that guessed them all would have)."""
    coo = relevant.tocoo()
    local = (item_home[coo.col] == user_region[coo.row]).astype(np.float64)
    per_row = np.bincount(coo.row, weights=local, minlength=relevant.shape[0])
    return per_row / np.maximum(relevant.getnnz(axis=1), 1)


@dataclass(frozen=True)
class Interval:
    """A mean and its 95 % percentile-bootstrap interval."""

    mean: float
    low: float
    high: float

    def as_list(self) -> list[float]:
        return [self.mean, self.low, self.high]


def _interval(resampled: np.ndarray, mean: float) -> Interval:
    low, high = np.percentile(resampled, [2.5, 97.5])
    return Interval(float(mean), float(low), float(high))


def paired_bootstrap(
    values: Mapping[str, np.ndarray], reference: str, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Interval]]:
    """Each method's mean with its interval, and its difference with ``reference``'s, over the
    same resampled listeners for every method (the pairing keeps the listener's difficulty out
    of the difference)."""
    n = len(values[reference])
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    base = values[reference]
    out: dict[str, dict[str, Interval]] = {}
    for name, per_listener in values.items():
        difference = per_listener - base
        out[name] = {
            "mean": _interval(per_listener[draws].mean(axis=1), per_listener.mean()),
            "difference": _interval(difference[draws].mean(axis=1), difference.mean()),
        }
    return out
