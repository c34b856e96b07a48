"""Item-kNN: cosine similarity of songs' listener columns, each song's ``k`` nearest kept.

A listener's score for song ``j`` sums their (weighted) plays of every song ``i`` whose ``k``
nearest neighbours include ``j``, times ``cos(i, j)`` (Deshpande and Karypis 2004). The
similarities are computed a block of songs at a time, so memory stays near one dense block
plus the kept neighbours.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch.baselines.base import ItemToItem, TrainingData, binary, log_counts
from training.batch.cosine import unit_columns
from training.batch.families import block_rows

WEIGHTINGS = {"binary": binary, "log": log_counts}


def neighbours(inputs: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Songs x songs: row ``i`` holds the cosines of song ``i``'s ``k`` most similar other songs
    (positive cosines only), built straight into CSR arrays (int32 columns)."""
    unit = unit_columns(inputs)
    by_song = unit.T.tocsr()
    n = unit.shape[1]
    k = max(0, min(k, n - 1))
    if k == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    step = block_rows(n)
    counts, columns, values = [], [], []
    for start in range(0, n, step):
        block = np.arange(start, min(n, start + step))
        cosine = np.asarray((by_song[block] @ unit).toarray(), dtype=np.float32)
        cosine[np.arange(len(block)), block] = -np.inf  # a song is not its own neighbour
        top = np.argpartition(-cosine, k - 1, axis=1)[:, :k]
        kept = np.take_along_axis(cosine, top, axis=1)
        del cosine
        keep = kept > 0
        counts.append(keep.sum(axis=1))
        columns.append(top[keep].astype(np.int32))
        values.append(kept[keep])
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))])
    matrix = sp.csr_matrix(
        (np.concatenate(values), np.concatenate(columns), indptr), shape=(n, n), dtype=np.float32
    )
    matrix.sort_indices()
    return matrix


def fit(data: TrainingData, k: int = 100, weighting: str = "log") -> ItemToItem:
    inputs = WEIGHTINGS[weighting](data.counts)
    return ItemToItem(inputs, neighbours(inputs, k))
