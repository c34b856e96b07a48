"""The song factor model a batch run serves (``BatchParams.song_model``): ALS by default,
PureSVD as the measured alternative (docs/model.md, "Strong baselines")."""

from __future__ import annotations

import scipy.sparse as sp

from training.batch import als
from training.batch import factors as svd
from training.batch.params import SONG_MODELS, BatchParams


def fit(
    confidence: sp.csr_matrix, params: BatchParams, song_model: str | None = None
) -> svd.Factors:
    """The song factors of ``confidence`` (listeners x songs) by ``song_model`` (default: the
    params'), with the params' settings for it."""
    chosen = song_model or params.song_model
    if chosen == "als":
        return als.fit(
            confidence, params.als_factors, params.als_regularization, params.als_alpha,
            params.als_iterations, params.seed,
        )  # fmt: skip
    if chosen == "puresvd":
        return svd.fit(confidence, params.factors, params.svd_iterations, params.seed)
    raise ValueError(f"song_model: expected one of {SONG_MODELS}, got {chosen!r}")


def served_name(song_model: str) -> str:
    """The served song algorithm's name in the manifest's metrics."""
    return f"{song_model}+regional+content"
