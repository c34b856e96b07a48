"""EASE (Steck 2019): a songs x songs linear model with a zero diagonal, in closed form.

``P = (XᵀX + λI)⁻¹``, ``B = -P / diag(P)`` column by column, ``diag(B) = 0``; a listener's
scores are ``x B`` on their binary row ``x``. Memory and time grow with the catalogue, not the
audience: the Gram matrix is a dense songs x songs float64 matrix, inverted in place (Cholesky),
plus the float32 weights (:func:`peak_bytes`); the inverse costs about ``n³`` flops.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from training.batch.baselines.base import ItemToItem, TrainingData, binary
from training.batch.families import block_rows

#: Bytes per songs x songs cell at the peak: the float64 Gram matrix (inverted in place) and
#: the float32 weights.
PEAK_BYTES_PER_CELL = 8 + 4


def peak_bytes(n_items: int) -> int:
    """Memory the fit needs at its peak for a catalogue of ``n_items`` songs."""
    return PEAK_BYTES_PER_CELL * n_items * n_items


def fits(n_items: int, available_bytes: int) -> bool:
    """Whether the fit fits in ``available_bytes`` of memory."""
    return peak_bytes(n_items) <= available_bytes


def largest_catalogue(available_bytes: int) -> int:
    """The most songs whose fit needs no more than ``available_bytes``."""
    return int((available_bytes / PEAK_BYTES_PER_CELL) ** 0.5)


def gram(inputs: sp.csr_matrix) -> np.ndarray:
    """``XᵀX`` as a dense float64 matrix, built a block of songs at a time (the sparse product
    of a whole popular catalogue would take more memory than the dense result)."""
    by_song = inputs.T.tocsr()
    columns = inputs.tocsc()
    n = inputs.shape[1]
    out = np.empty((n, n), dtype=np.float64)
    step = block_rows(n)
    for start in range(0, n, step):
        stop = min(n, start + step)
        out[start:stop] = (by_song[start:stop] @ columns).toarray()
    return out


def spd_inverse_(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive-definite float64 matrix, computed in its place
    (Cholesky, then the lower triangle mirrored from the upper a block at a time)."""
    factor, info = lapack.dpotrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Gram matrix is not positive definite (potrf {info})")
    inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"cannot invert the Cholesky factor (potri {info})")
    n = inverse.shape[0]
    step = max(1, block_rows(n) // 4)
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = inverse[start:stop, start:stop]
        block[:] = np.triu(block) + np.triu(block, 1).T
        inverse[stop:, start:stop] = inverse[start:stop, stop:].T
    return inverse


def weights_(gram_matrix: np.ndarray, lam: float) -> np.ndarray:
    """The EASE weights ``B`` (float32) from the dense float64 Gram matrix ``XᵀX`` (overwritten)
    and the L2 weight ``lam``."""
    gram_matrix[np.diag_indices_from(gram_matrix)] += lam
    inverse = spd_inverse_(gram_matrix)
    inverse /= -np.diag(inverse)[np.newaxis, :]
    inverse[np.diag_indices_from(inverse)] = 0.0
    return inverse.astype(np.float32)


def fit(data: TrainingData, lam: float = 500.0) -> ItemToItem:
    inputs = binary(data.counts)
    return ItemToItem(inputs, weights_(gram(inputs), lam))
