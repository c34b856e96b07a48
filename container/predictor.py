"""The model behind the inference server: encode instances, predict, rank genres.

Uses the artifact and the feature encoder of :mod:`training` (the same code that trained the
model), so training and serving cannot disagree on how an answer is encoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from container.metrics import RareValueMetrics
from container.protocol import Instance
from container.single_row import SingleRowPredictor
from training.model.artifact import Artifact, load_artifact
from training.model.features import encode_instances


class GenrePredictor:
    """Ranks genres for onboarding instances with a loaded model artifact.

    Answers carry the encoder's ``warnings`` (problems with the request); answers the model saw
    in training too rarely to use are counted in ``metrics`` (if given) instead of being
    repeated in every answer.
    """

    def __init__(self, artifact: Artifact, metrics: RareValueMetrics | None = None) -> None:
        self.artifact = artifact
        self.metrics = metrics
        self.model_version = artifact.model_version
        self._labels = artifact.class_labels
        self._single_row = SingleRowPredictor(artifact.booster, artifact.booster.num_feature())

    def rank(self, answers: list[dict[str, Any]], top_k: int) -> list[dict[str, Any]]:
        """Rank genres for plain answer dicts: the top ``top_k`` with scores, and warnings."""
        encoded = encode_instances(self.artifact.spec, answers)
        if self.metrics is not None:
            for rare in encoded.rare:
                if rare:
                    self.metrics.count(rare)
        if len(answers) == 1:  # the real-time case: LightGBM's prepared single-row predictor
            proba = self._single_row.predict(encoded.matrix[0])[np.newaxis, :]
        else:
            proba = self.artifact.predict_proba(encoded.matrix)
        k = min(top_k, proba.shape[1])
        top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        labels = self._labels
        return [
            {
                "genres": [{"genre": labels[j], "score": round(float(row[j]), 6)} for j in order],
                "warnings": notes,
            }
            for row, order, notes in zip(proba, top, encoded.warnings, strict=True)
        ]

    def predict(self, instances: list[Instance], top_k: int) -> list[dict[str, Any]]:
        return self.rank([instance.answers() for instance in instances], top_k)


def load_predictor(
    model_dir: str | Path, metrics: RareValueMetrics | None = None
) -> GenrePredictor:
    """Load the artifact in ``model_dir`` (unpacked files or model.tar.gz)."""
    return GenrePredictor(load_artifact(model_dir), metrics)
