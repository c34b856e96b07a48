"""Top-N selection with business rules, vectorised over a block of lists.

Scores come as a dense block (lists x candidates) where excluded candidates are ``-inf``; the
result is, per list, the best ``n`` candidates that keep at most ``cap`` of any group (artist,
album) — every rule enforced at once with array operations, no Python loop per list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_GROUP = -1  # a candidate without a group (a song without an album) is never capped


def top_candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` best scores, best first (rows x k)."""
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def occurrence(groups: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """For each valid cell, how many valid cells of its row before it share its group."""
    rows, cols = groups.shape
    n_groups = int(groups.max()) + 2 if groups.size else 1
    key = np.arange(rows, dtype=np.int64)[:, np.newaxis] * (n_groups + 1) + (groups + 1)
    key = np.where(valid, key, -1).ravel()  # invalid cells share one key that is never read
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.ones(ordered.size, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    run_start = np.flatnonzero(starts)[np.cumsum(starts) - 1]
    count = np.empty(ordered.size, dtype=np.int64)
    count[order] = np.arange(ordered.size) - run_start
    return count.reshape(rows, cols)


def select(
    candidates: np.ndarray,
    valid: np.ndarray,
    n: int,
    caps: Sequence[tuple[np.ndarray, int]] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` valid candidates per row that respect every ``(group_of_column, cap)``.

    Returns the chosen column indices (rows x n, -1 where a row has fewer) and a mask of which
    are real.
    """
    keep = valid.copy()
    for group_of, cap in caps:
        groups = group_of[candidates]
        seen = occurrence(groups, keep)
        keep &= (groups == NO_GROUP) | (seen < cap)
    keep &= np.cumsum(keep, axis=1) <= n
    order = np.argsort(~keep, axis=1, kind="stable")[:, :n]
    chosen = np.take_along_axis(candidates, order, axis=1)
    mask = np.take_along_axis(keep, order, axis=1)
    return np.where(mask, chosen, -1), mask


def top_n(
    scores: np.ndarray,
    n: int,
    caps: Sequence[tuple[np.ndarray, int]] = (),
    pool: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows' best ``n`` columns under the caps, from their ``pool * n`` best candidates.

    Returns (columns, their scores), both rows x n, -1 / nan where a row has fewer.
    """
    candidates = top_candidates(scores, n * pool if caps else n)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    chosen, mask = select(candidates, np.isfinite(candidate_scores), n, caps)
    chosen_scores = np.take_along_axis(scores, np.maximum(chosen, 0), axis=1)
    return chosen, np.where(mask, chosen_scores, np.nan)
