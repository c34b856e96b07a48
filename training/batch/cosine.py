"""What the served similar lists rank by: the cosine of two columns' vectors.

- **similar songs**: the cosine of the song factors (the served song model's, ALS by default);
- **similar artists**: the cosine of the artists' listener columns, ``log(1 + plays)`` (item-kNN;
  "fans also like"): measured ahead of the artist factors' cosine beyond noise on both data sets
  at HitRate@20 and MRR@20 (docs/model.md, "Similar songs and artists"). The artist factors
  still score "artists for you", where a listener's row is folded in.

A scorer takes a block of seed columns and returns their similarity to every column (block x
columns, float32); :func:`training.batch.families.similar` masks and ranks it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from training.batch.baselines.base import log_counts
from training.batch.factors import Factors

#: (block of seed columns) -> (block x columns) similarities.
Scorer = Callable[[np.ndarray], np.ndarray]


def unit_columns(inputs: sp.csr_matrix) -> sp.csc_matrix:
    """``inputs`` with every non-empty column scaled to unit length."""
    norms = np.sqrt(np.asarray(inputs.multiply(inputs).sum(axis=0)).ravel())
    scale = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0).astype(np.float32)
    return (inputs @ sp.diags(scale)).tocsc()


def of_factors(factors: Factors) -> Scorer:
    """Cosine of the columns' factor vectors."""
    unit = factors.unit()
    return lambda block: np.asarray(unit[block] @ unit.T, dtype=np.float32)


def of_listeners(inputs: sp.csr_matrix) -> Scorer:
    """Cosine of the columns of ``inputs`` (listeners x columns, weighted plays): item-kNN.
    Columns without a listener in common with the seed (cosine 0) are -inf: never similar."""
    unit = unit_columns(inputs)
    by_column = unit.T.tocsr()

    def score(block: np.ndarray) -> np.ndarray:
        scores = np.asarray((by_column[block] @ unit).toarray(), dtype=np.float32)
        scores[scores <= 0] = -np.inf
        return scores

    return score


def similar_songs(song_factors: Factors) -> Scorer:
    """The served similar songs' similarity."""
    return of_factors(song_factors)


def similar_artists(artist_counts: sp.csr_matrix) -> Scorer:
    """The served similar artists' similarity, from listeners x artists plays."""
    return of_listeners(log_counts(artist_counts))
