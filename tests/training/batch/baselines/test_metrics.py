"""Per-listener metrics whose means are evaluate.py's, coverage, local share, paired intervals."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch.baselines import metrics
from training.batch.evaluate import ranking_metrics


def test_per_user_means_are_the_evaluation_figures():
    rng = np.random.default_rng(1)
    dense = (rng.random((50, 200)) < 0.05).astype(np.float32)
    dense[np.arange(50), rng.integers(0, 200, 50)] = 1.0  # everyone has one new song
    relevant = sp.csr_matrix(dense)
    ranked = np.argsort(rng.random((50, 200)), axis=1)[:, :20]
    recall, ndcg = metrics.per_user(ranked, relevant)
    expected = ranking_metrics(ranked, relevant)
    assert abs(recall.mean() - expected["recall@20"]) < 1e-12
    assert abs(ndcg.mean() - expected["ndcg@20"]) < 1e-12
    assert np.all((recall >= 0) & (recall <= 1) & (ndcg >= 0) & (ndcg <= 1))


def test_a_perfect_list_scores_one():
    relevant = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    recall, ndcg = metrics.per_user(np.array([[1, 0], [3, 2]]), relevant)
    np.testing.assert_allclose(recall, [1, 1])
    np.testing.assert_allclose(ndcg, [1, 1])


def test_coverage_and_local_share():
    ranked = np.array([[0, 1], [1, 2]])
    assert metrics.coverage(ranked, 6) == 0.5
    item_home = np.array([0, 1, 1, -1, 0, 0])
    share = metrics.local_share(ranked, item_home, np.array([1, 1]))
    np.testing.assert_allclose(share, [0.5, 1.0])
    relevant = sp.csr_matrix(np.array([[1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]], np.float32))
    truth = metrics.relevant_local_share(relevant, item_home, np.array([0, 1]))
    np.testing.assert_allclose(truth, [1 / 3, 0.0])


def test_item_home_region_names_local_acts_only():
    from types import SimpleNamespace

    catalogue = SimpleNamespace(
        artist_region=np.array(["us-ca", "us", "de-by"], dtype=object),
        item_artist=np.array([0, 1, 2, 2]),
    )
    regions = np.array(["de-by", "us-ca", "us-ny"], dtype=object)
    home = metrics.item_home_region(catalogue, regions)
    np.testing.assert_array_equal(home, [1, metrics.NOT_LOCAL, 0, 0])


def test_paired_bootstrap_differences():
    rng = np.random.default_rng(2)
    base = rng.random(400)
    better = base + 0.05 + rng.normal(0, 0.01, 400)
    noisy = base + rng.normal(0, 0.3, 400)
    out = metrics.paired_bootstrap({"a": base, "b": better, "c": noisy}, "a", 500, seed=0)
    assert out["a"]["difference"].as_list() == [0.0, 0.0, 0.0]
    diff = out["b"]["difference"]
    assert 0.045 < diff.low < diff.mean < diff.high < 0.055  # paired: tight despite spread
    mean = out["b"]["mean"]
    assert mean.low < better.mean() < mean.high
    assert mean.high - mean.low > 5 * (diff.high - diff.low)
    assert out["c"]["difference"].low < 0 < out["c"]["difference"].high
