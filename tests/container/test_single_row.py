"""The prepared single-row predictor gives LightGBM's own numbers, and the server's rankings do
not depend on whether an instance came alone or in a batch."""

from __future__ import annotations

import numpy as np
import pytest

from container.predictor import load_predictor
from container.single_row import SingleRowPredictor
from training.data.contract import RADIO_GENRES
from training.model.artifact import load_artifact
from training.model.features import encode_instances


def _answers(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        picks = rng.choice(len(RADIO_GENRES), size=int(rng.integers(0, 7)), replace=False)
        out.append(
            {
                "age": None if rng.random() < 0.1 else int(rng.integers(13, 90)),
                "gender": [None, "f", "m", "x"][int(rng.integers(0, 4))],
                "region": rng.choice(["us-tx", "br-sp", "gb-lon", "nowhere"]),
                "selected_genres": [RADIO_GENRES[i] for i in picks],
            }
        )
    return out


def test_matches_booster_predict_to_1e_6(trained_model_dir):
    artifact = load_artifact(trained_model_dir)
    matrix = encode_instances(artifact.spec, _answers(500, seed=1)).matrix
    expected = artifact.booster.predict(matrix)
    with SingleRowPredictor(artifact.booster, matrix.shape[1]) as fast:
        got = np.vstack([fast.predict(row) for row in matrix])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_results_are_fresh_arrays(trained_model_dir):
    artifact = load_artifact(trained_model_dir)
    matrix = encode_instances(artifact.spec, _answers(2, seed=2)).matrix
    fast = SingleRowPredictor(artifact.booster, matrix.shape[1])
    first = fast.predict(matrix[0])
    second = fast.predict(matrix[1])
    assert not np.array_equal(first, second)
    np.testing.assert_allclose(first, artifact.booster.predict(matrix[:1])[0], atol=1e-6)


def test_wrong_width_is_refused(trained_model_dir):
    artifact = load_artifact(trained_model_dir)
    fast = SingleRowPredictor(artifact.booster, artifact.booster.num_feature())
    with pytest.raises(ValueError, match="features"):
        fast.predict(np.zeros(3))


def test_single_instance_ranks_like_the_same_instance_in_a_batch(trained_model_dir):
    predictor = load_predictor(trained_model_dir)
    answers = _answers(50, seed=3)
    batch = predictor.rank(answers, top_k=5)
    alone = [predictor.rank([one], top_k=5)[0] for one in answers]
    assert alone == batch
