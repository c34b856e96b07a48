"""Top-N selection with business rules, vectorised over a block of lists.

Scores come as a dense block (lists x candidates) where excluded candidates are ``-inf``; the
result is, per list, the best ``n`` candidates that keep at most ``cap`` of any group (artist,
album) — every rule enforced at once with array operations, no Python loop per list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_GROUP = -1  # a candidate without a group (a song without an album) is never capped


SAMPLE_COLUMNS = 2048  # columns of a row whose scores estimate its k-th best (a strided sample)
SAMPLE_MARGIN = 2.0  # the estimate aims at this many times k candidates above it
SAMPLE_RANK = 16  # and at least this deep in the sample (a steadier estimate for a small k)
WIDEST = 8  # a row with more than this many times k candidates above its estimate is ranked whole


def _exact_top(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def top_candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` best scores, best first (rows x k).

    Exact, and faster than a partition of every row when ``k`` is small next to the columns:
    a strided sample of each row gives a score about ``SAMPLE_MARGIN * k`` columns from the top;
    the columns above it (one comparison per cell) are the only ones ranked. A row whose sample
    misled (fewer than ``k`` above it, or too many, e.g. with ties or ``-inf``) is partitioned
    whole, so the answer never depends on the sample.
    """
    rows, columns = scores.shape
    k = min(k, columns)
    if k == 0:
        return np.zeros((rows, 0), dtype=np.int64)
    step = columns // SAMPLE_COLUMNS
    depth = max(SAMPLE_RANK, int(np.ceil(SAMPLE_MARGIN * k / max(step, 1))))  # in the sample
    wanted = depth * step  # columns expected above the estimate
    if step < 2 or wanted * 4 >= columns or rows == 0:
        return _exact_top(scores, k)
    sample = scores[:, ::step]
    rank_in_sample = sample.shape[1] - depth
    threshold = np.partition(sample, rank_in_sample, axis=1)[:, rank_in_sample]
    row, column = np.divmod(np.flatnonzero(scores > threshold[:, np.newaxis]), columns)
    counts = np.bincount(row, minlength=rows)
    good = (counts >= k) & (counts <= WIDEST * wanted)
    out = np.empty((rows, k), dtype=np.int64)
    if good.any():
        keep = good[row]
        row, column = row[keep], column[keep]
        starts = np.cumsum(counts * good) - counts * good
        place = np.arange(len(row)) - starts[row]
        compact = np.cumsum(good) - 1  # the good rows, numbered 0.. in order
        width = int(counts[good].max())
        candidates = np.zeros((int(good.sum()), width), dtype=np.int64)
        values = np.full(candidates.shape, -np.inf, dtype=scores.dtype)
        candidates[compact[row], place] = column
        values[compact[row], place] = scores[row, column]
        # A stable sort: ties go to the lower column whatever the block's padding, so a row's
        # answer never depends on the other rows it was ranked with (shards equal one run).
        best = np.argsort(-values, axis=1, kind="stable")[:, :k]
        out[good] = np.take_along_axis(candidates, best, axis=1)
    if not good.all():
        out[~good] = _exact_top(scores[~good], k)
    return out


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
