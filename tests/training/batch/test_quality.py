"""The chosen algorithm beats both popularity baselines, and the metrics are computed right."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from training.batch.evaluate import ranking_metrics


@pytest.mark.parametrize("family", ["personal", "artists"])
def test_the_served_lists_beat_both_baselines_on_the_small_world(manifest, family):
    metrics = manifest["metrics"][family]
    assert metrics["users"] >= 100
    for name in ("recall@20", "ndcg@20"):
        for baseline in ("popularity", "regional-popularity"):
            assert metrics[name] > metrics["baselines"][baseline][name], (name, baseline)
    assert metrics["beats_baselines"] is True


def test_the_manifest_names_the_served_song_model_and_measures_puresvd_beside_it(manifest):
    personal = manifest["metrics"]["personal"]
    assert manifest["params"]["song_model"] == "als"
    assert personal["algorithm"] == "als+regional+content"
    candidates = personal["candidates"]
    assert set(candidates) == {"puresvd", "puresvd+regional", "puresvd+regional+content"}
    assert all(0 < c["recall@20"] <= 1 for c in candidates.values())
    assert set(personal["cold"]) >= {"als+regional+content", "puresvd+regional+content"}
    assert manifest["metrics"]["artists"]["algorithm"] == "puresvd+regional"


def test_ranking_metrics_against_hand_computed_values():
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32))
    ranked = np.array([[2, 1], [0, 1]])  # row 0: a hit first, row 1: no hit
    result = ranking_metrics(ranked, relevant)
    assert result["recall@20"] == pytest.approx((1 / 2 + 0) / 2)
    ideal0 = 1 + 1 / np.log2(3)
    assert result["ndcg@20"] == pytest.approx((1 / ideal0 + 0) / 2)
