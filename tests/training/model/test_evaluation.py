"""Metrics against hand-computed values; bootstrap intervals; segments; baselines."""

from __future__ import annotations

import numpy as np
import pytest

from training.model import baselines, evaluation


def test_ranks_and_metrics_by_hand():
    scores = np.array(
        [
            [0.1, 0.7, 0.2],  # label 1 -> rank 1
            [0.5, 0.3, 0.2],  # label 2 -> rank 3
            [0.4, 0.4, 0.2],  # label 1, tied with genre 0 -> rank 2 (lower code first)
            [0.4, 0.4, 0.2],  # label 0, tied -> rank 1
        ]
    )
    labels = np.array([1, 2, 1, 0])
    ranks = evaluation.true_ranks(scores, labels)
    assert ranks.tolist() == [1, 3, 2, 1]
    summary = evaluation.summarize(evaluation.per_user_metrics(ranks))
    assert summary["hit@1"] == pytest.approx(2 / 4)
    assert summary["hit@3"] == pytest.approx(4 / 4)
    assert summary["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2 + 1) / 4)


def test_ranks_beyond_three():
    scores = np.tile(np.arange(5, dtype=float)[::-1], (2, 1))  # genre 0 best ... 4 worst
    ranks = evaluation.true_ranks(scores, np.array([3, 4]))
    metrics = evaluation.summarize(evaluation.per_user_metrics(ranks))
    assert ranks.tolist() == [4, 5]
    assert metrics == {"hit@1": 0.0, "hit@3": 0.0, "mrr": pytest.approx((1 / 4 + 1 / 5) / 2)}


def test_baseline_scores():
    popularity = baselines.genre_popularity(np.array([2, 2, 1, 2]), np.array([5, 1, 9, 0]), 4)
    assert np.argsort(-popularity).tolist() == [2, 1, 0, 3]  # labels, then plays break ties
    rule = baselines.rule_scores(np.array([[1, 0, 0, 1], [0, 0, 0, 0]]), popularity)
    assert np.argsort(-rule[0], kind="stable").tolist() == [0, 3, 2, 1]
    assert np.argsort(-rule[1], kind="stable").tolist() == [2, 1, 0, 3]
    assert (baselines.global_popular_scores(popularity, 3) == popularity).all()


def test_bootstrap_is_centred_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.random((200, 1)) < 0.3
    big = rng.random((20000, 1)) < 0.3
    b_small = evaluation.bootstrap_means(small.astype(float), 500, seed=1)
    b_big = evaluation.bootstrap_means(big.astype(float), 500, seed=1)
    assert abs(b_small.mean() - small.mean()) < 0.01
    assert b_big.std() < b_small.std() / 5
    # the binomial standard error
    assert b_small.std() == pytest.approx(np.sqrt(0.3 * 0.7 / 200), rel=0.2)


def test_bootstrap_chunks_do_not_change_the_result():
    values = np.random.default_rng(0).random((300, 2))
    a = evaluation.bootstrap_means(values, 100, seed=5, chunk=7)
    b = evaluation.bootstrap_means(values, 100, seed=5, chunk=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (100, 2)


def _per_user(hits3: np.ndarray) -> np.ndarray:
    return np.column_stack([hits3 * 0, hits3, hits3 / 2]).astype(float)


def test_paired_lifts():
    rng = np.random.default_rng(0)
    base = (rng.random(2000) < 0.4).astype(float)
    better = np.maximum(base, (rng.random(2000) < 0.2).astype(float))  # never worse, paired
    per_user = {"m": _per_user(better), "b": _per_user(base), "same": _per_user(base)}
    lifts = evaluation.lifts(per_user, ["m", "same"], ["b"], n_boot=300, seed=0)
    m = evaluation.find_lift(lifts, "m", "b", "hit@3")
    assert m is not None
    assert m.lift == pytest.approx(better.mean() / base.mean() - 1)
    assert m.diff == pytest.approx(better.mean() - base.mean())
    assert 0 < m.lift_low < m.lift < m.lift_high
    assert 0 < m.diff_low < m.diff < m.diff_high
    same = evaluation.find_lift(lifts, "same", "b", "hit@3")
    assert same is not None
    assert same.diff_low == same.diff_high == 0.0
    hit1 = evaluation.find_lift(lifts, "m", "b", "hit@1")
    assert hit1 is not None
    assert np.isnan(hit1.lift)


def test_metric_intervals_contain_the_mean():
    per_user = {"a": _per_user((np.arange(500) % 3 == 0).astype(float))}
    intervals = evaluation.metric_intervals(per_user, 300, seed=0)
    lo, hi = intervals["a"]["hit@3"]
    assert lo < 1 / 3 < hi


def test_segments():
    ages = np.array([15, 18, 24, 25, 64, 65, np.nan])
    assert evaluation.age_bands(ages).tolist() == [
        "<18",
        "18-24",
        "18-24",
        "25-34",
        "55-64",
        "65+",
        "unknown",
    ]
    assert evaluation.count_bands(np.array([0, 3, 6, 9])).tolist() == ["0", "3", "6+", "6+"]
    countries = np.array(["us-tx", "us-ca", "de-by", "unknown"], dtype=object)
    assert evaluation.region_groups(countries).tolist() == ["us", "us", "de", "unknown"]
    one_country = np.array(["us-z1", "us-z2", "us-z1"], dtype=object)
    assert evaluation.region_groups(one_country, top=1).tolist() == ["us-z1", "other", "us-z1"]
    regions = np.array(["a"] * 5 + ["b"] * 3 + ["c"] + ["unknown"], dtype=object)
    assert evaluation.region_groups(regions, top=2).tolist() == ["a"] * 5 + ["b"] * 3 + [
        "other",
        "unknown",
    ]
    per_user = {"m": _per_user(np.array([1, 1, 0, 1.0])), "r": _per_user(np.array([1, 0, 0, 0.0]))}
    rows = evaluation.segment_table(
        per_user, {"g": np.array(["x", "x", "y", "y"], dtype=object)}, "m", "r", n_boot=50
    )
    assert [(r["segment"], r["n_users"]) for r in rows] == [("x", 2), ("y", 2)]
    assert rows[0]["models"]["m"]["hit@3"] == 1.0
    assert rows[0]["lift"]["lift"] == pytest.approx(1.0)
