"""The time split of :func:`training.batch.evaluate.compare`, and a validation slice before it.

The test split is exactly the evaluation's: the last ``holdout_days`` held out, the same seeded
sample of listeners who played a new song in them, the same rows to fit on (the evaluated
listeners plus a sample of the others) and the chart window before the cutoff. The validation
slice repeats the protocol on the training side only: its cutoff is ``holdout_days`` earlier and
its held-out days end at the test cutoff, so no setting is ever chosen on the test days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from training.batch.baselines.base import TrainingData
from training.batch.content import ContentModel
from training.batch.evaluate import new_columns
from training.batch.listening import DAY_MS, Catalogue, Listening
from training.batch.params import BatchParams
from training.batch.popularity import by_region


@dataclass(frozen=True)
class Split:
    """One cutoff: the training matrix, the new songs held out, and who is evaluated."""

    name: str  # "test" or "validation"
    cutoff_ms: int
    train: sp.csr_matrix  # listeners x songs, before the cutoff
    relevant: sp.csr_matrix  # listeners x songs: 1 for songs first played after the cutoff
    chart: sp.csr_matrix  # listeners x songs: plays in the chart window before the cutoff
    users: np.ndarray  # evaluated listeners (sorted)
    fitted: np.ndarray  # listeners the methods are fitted on (sorted, a superset of users)
    user_region: np.ndarray  # region row of every listener
    n_regions: int
    seed: int
    catalogue: Catalogue | None = None  # for the served method's content scores
    regions: np.ndarray | None = None  # region names
    params: BatchParams = field(default_factory=BatchParams)

    @property
    def rows(self) -> np.ndarray:
        """The evaluated listeners' rows in the fitted matrix."""
        return np.searchsorted(self.fitted, self.users)

    def data(self) -> TrainingData:
        """What the methods are fitted on."""
        content = None
        if self.catalogue is not None and self.regions is not None:
            content = ContentModel.build(self.catalogue, self.regions, self.train > 0, self.params)
        return TrainingData(
            counts=self.train[self.fitted],
            region=self.user_region[self.fitted],
            regional_chart=by_region(self.chart, self.user_region, self.n_regions),
            seed=self.seed,
            content=content,
        )


def new_songs(train: sp.csr_matrix, holdout: sp.csr_matrix) -> sp.csr_matrix:
    """1 where a listener played a song after the cutoff and never before (as evaluate.py)."""
    return new_columns(train, holdout)


def make_split(
    listening: Listening, cutoff_ms: int, end_ms: int | None, params: BatchParams, name: str
) -> Split:
    """The split at ``cutoff_ms`` (held out: ``[cutoff, end)``), sampled as evaluate.py does."""
    train = listening.weights(end_ms=cutoff_ms)
    holdout = listening.weights(start_ms=cutoff_ms, end_ms=end_ms)
    chart = listening.weights(start_ms=cutoff_ms - params.chart_days * DAY_MS, end_ms=cutoff_ms)
    relevant = new_songs(train, holdout)
    played = train.getnnz(axis=1) > 0
    candidates = np.flatnonzero((relevant.getnnz(axis=1) > 0) & played)
    rng = np.random.default_rng(params.seed)
    users = np.sort(rng.choice(candidates, min(len(candidates), params.eval_users), replace=False))
    others = np.setdiff1d(np.flatnonzero(played), users)
    extra = max(0, params.eval_fit_users - len(users))
    fitted = np.union1d(users, rng.choice(others, min(len(others), extra), replace=False))
    return Split(
        name=name,
        cutoff_ms=cutoff_ms,
        train=train,
        relevant=relevant,
        chart=chart,
        users=users,
        fitted=fitted,
        user_region=listening.user_region,
        n_regions=int(listening.user_region.max()) + 1,
        seed=params.seed,
        catalogue=listening.catalogue,
        regions=listening.regions,
        params=params,
    )


def evaluation_cutoff(listening: Listening, params: BatchParams) -> int:
    """The evaluation's cutoff (evaluate.py): ``holdout_days`` before the last event."""
    return listening.max_ts - params.holdout_days * DAY_MS + 1


def evaluation_split(listening: Listening, params: BatchParams) -> Split:
    """The split every figure is reported on."""
    return make_split(listening, evaluation_cutoff(listening, params), None, params, "test")


def validation_split(listening: Listening, params: BatchParams) -> Split:
    """The same protocol ``holdout_days`` earlier, on the test split's training days only."""
    cutoff = evaluation_cutoff(listening, params)
    earlier = cutoff - params.holdout_days * DAY_MS
    return make_split(listening, earlier, cutoff, params, "validation")
