"""Our PureSVD (:mod:`training.batch.factors`), plain and blended: plus the region's popularity
(:class:`training.batch.popularity.RegionalPrior`) and the content scores of cold songs
(:mod:`training.batch.content`), exactly as evaluate.py scores them; and the served song model
(:mod:`training.batch.song_model`, ALS by default) blended the same way."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from training.batch import factors as svd
from training.batch import song_model
from training.batch.baselines.base import TrainingData
from training.batch.content import ContentModel
from training.batch.params import BatchParams

SVD_ITERATIONS = BatchParams().svd_iterations  # as served


@dataclass(frozen=True)
class FactorBlend:
    """A factor model's taste scores (PureSVD's ``(x V) Vᵀ``, or the served ALS's); with
    ``prior_weight`` > 0 scaled to each row's best plus that weight times the region's popularity
    scaled to 0..1 (``puresvd+regional``)."""

    confidence: sp.csr_matrix  # fitted listeners x songs
    model: svd.Factors
    prior: np.ndarray  # regions x songs, 0..1
    region: np.ndarray  # region of each fitted row
    prior_weight: float
    content: ContentModel | None = None  # served: content scores of the cold songs too

    def scores(self, rows: np.ndarray) -> np.ndarray:
        history = self.confidence[rows]
        if self.prior_weight == 0.0:
            return self.model.scores(history)
        scores = self.model.blended(history, self.prior[self.region[rows]], self.prior_weight)
        if self.content is not None:  # as evaluate.HeldOut.scores: played songs out first
            played_rows, played_columns = history.nonzero()
            scores[played_rows, played_columns] = -np.inf
            self.content.add_to(scores, history, self.region[rows])
        return scores


def _blend(
    data: TrainingData, confidence: sp.csr_matrix, model: svd.Factors, regional_blend: float,
    content: bool,
) -> FactorBlend:  # fmt: skip
    plays = data.regional_chart
    prior = (plays / np.maximum(plays.max(axis=1, keepdims=True), 1.0)).astype(np.float32)
    return FactorBlend(
        confidence, model, prior, data.region, regional_blend, data.content if content else None
    )


def fit(
    data: TrainingData, rank: int = 64, regional_blend: float = 0.0, content: bool = False
) -> FactorBlend:
    """PureSVD of rank ``rank`` on the confidence matrix, blended with the regional prior; with
    ``content``, the data's content scores of cold songs added (none without a catalogue)."""
    confidence = svd.confidence(data.counts)
    model = svd.fit(confidence, rank, SVD_ITERATIONS, data.seed)
    return _blend(data, confidence, model, regional_blend, content)


def fit_served(data: TrainingData, **settings: object) -> FactorBlend:
    """The served song model (``BatchParams.song_model`` with ``settings`` replacing the
    defaults, e.g. ``als_alpha``), blended as served: the region's popularity at the served
    weight and the content scores of cold songs."""
    params = replace(BatchParams(seed=data.seed), **settings)  # type: ignore[arg-type]
    confidence = svd.confidence(data.counts)
    model = song_model.fit(confidence, params)
    return _blend(data, confidence, model, params.regional_blend, content=True)
