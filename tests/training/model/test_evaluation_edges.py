"""Evaluation at its edges: no users or one, a single resample, zero baselines, the defaults that
the report's figures depend on, and the order segments are reported in."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from training.model import evaluation
from training.model.evaluation import Lift


def _per_user(hits3: list[float]) -> np.ndarray:
    hits = np.asarray(hits3, dtype=float)
    return np.column_stack([hits * 0, hits, hits / 2])


def test_ranks_are_integers():
    ranks = evaluation.true_ranks([[0.2, 0.5], [0.9, 0.1]], [0, 0])
    assert ranks.tolist() == [2, 1]
    assert ranks.dtype == np.int64


def test_summaries_of_no_user_and_of_one():
    empty = evaluation.summarize(np.zeros((0, 3)))
    assert list(empty) == ["hit@1", "hit@3", "mrr"]
    assert all(math.isnan(v) for v in empty.values())
    assert evaluation.summarize(np.array([[0.0, 1.0, 0.5]])) == {
        "hit@1": 0.0,
        "hit@3": 1.0,
        "mrr": 0.5,
    }


def test_bootstrap_of_no_user_or_no_resample_is_nan_of_the_right_shape():
    nothing = evaluation.bootstrap_means(np.zeros((0, 3)), 10)
    assert nothing.shape == (10, 3)
    assert np.isnan(nothing).all()
    assert evaluation.bootstrap_means(np.ones((4, 2)), 0).shape == (0, 2)
    assert evaluation.bootstrap_means(np.ones((4, 2)), -3).shape == (0, 2)


def test_one_user_or_one_resample_is_still_a_bootstrap():
    assert evaluation.bootstrap_means(np.array([[0.5, 1.0]]), 3).tolist() == [[0.5, 1.0]] * 3
    one = evaluation.bootstrap_means(np.array([[1.0], [1.0], [1.0]]), 1)
    assert one.tolist() == [[1.0]]


def test_bootstrap_defaults_are_a_thousand_resamples_seeded_zero():
    values = np.random.default_rng(3).random((50, 2))
    default = evaluation.bootstrap_means(values)
    assert default.shape == (1000, 2)
    assert np.array_equal(default, evaluation.bootstrap_means(values, 1000, seed=0))
    assert not np.array_equal(default, evaluation.bootstrap_means(values, 1000, seed=1))


def test_a_resample_draws_every_user_and_only_users():
    values = np.array([[0.0], [1.0], [2.0], [3.0]])
    means = evaluation.bootstrap_means(values, 4000, seed=2)
    assert means.min() >= 0.0
    assert means.max() <= 3.0
    assert means.mean() == pytest.approx(1.5, abs=0.05)


def test_a_zero_baseline_has_no_ratio_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(evaluation._ratio(1.0, 0.0))
        assert np.isnan(evaluation._ratio(0.0, 0.0))
        assert evaluation._ratio(3.0, 2.0) == pytest.approx(0.5)


def test_the_interval_is_the_middle_95_percent():
    assert evaluation._interval(np.arange(1001.0)) == (25.0, 975.0)
    assert evaluation._interval(np.array([np.nan, np.inf, 4.0])) == (4.0, 4.0)
    lo, hi = evaluation._interval(np.array([np.nan, -np.inf]))
    assert math.isnan(lo)
    assert math.isnan(hi)


def _users() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    hits = (rng.random(300) < 0.5).astype(float)
    return {  # continuous reciprocal ranks: every resample count moves the percentiles
        "m": np.column_stack([hits * (rng.random(300) < 0.5), hits, rng.random(300)]),
        "b": np.column_stack(
            [
                (rng.random(300) < 0.1).astype(float),
                (rng.random(300) < 0.3).astype(float),
                rng.random(300) / 2,
            ]
        ),
    }


def test_lifts_report_each_metrics_own_point_values():
    per_user = _users()
    found = {lift.metric: lift for lift in evaluation.lifts(per_user, ["m"], ["b"], 50)}
    for j, metric in enumerate(evaluation.METRICS):
        assert found[metric].model_value == pytest.approx(per_user["m"][:, j].mean())
        assert found[metric].baseline_value == pytest.approx(per_user["b"][:, j].mean())


def test_bootstrap_figures_are_seeded_with_the_defaults():
    per_user = _users()
    assert evaluation.metric_intervals(per_user) == evaluation.metric_intervals(per_user, 1000, 0)
    assert evaluation.metric_intervals(per_user) != evaluation.metric_intervals(per_user, 1000, 1)
    assert evaluation.metric_intervals(per_user) != evaluation.metric_intervals(per_user, 1001, 0)
    assert evaluation.lifts(per_user, ["m"], ["b"]) == evaluation.lifts(
        per_user, ["m"], ["b"], 1000, 0
    )
    assert evaluation.lifts(per_user, ["m"], ["b"]) != evaluation.lifts(
        per_user, ["m"], ["b"], 1000, 1
    )
    assert evaluation.lifts(per_user, ["m"], ["b"]) != evaluation.lifts(
        per_user, ["m"], ["b"], 1001, 0
    )
    compared = evaluation.compare(per_user, ["m"], ["b"])
    assert compared == evaluation.compare(per_user, ["m"], ["b"], 1000, 0)
    assert compared != evaluation.compare(per_user, ["m"], ["b"], 1000, 1)
    assert compared != evaluation.compare(per_user, ["m"], ["b"], 1001, 0)


def test_comparing_without_users_gives_nan_figures_quietly():
    empty = {"m": np.zeros((0, 3)), "b": np.zeros((0, 3))}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found, intervals = evaluation.compare(empty, ["m"], ["b"], 20)
    assert len(found) == 3
    assert all(math.isnan(lift.model_value) and math.isnan(lift.diff_low) for lift in found)
    assert all(math.isnan(v) for v in intervals["m"]["mrr"])


def test_a_lift_as_a_document():
    lift = Lift("m", "b", "hit@3", 0.6, 0.5, 0.2, 0.1, 0.3, 0.1, 0.05, 0.15)
    assert lift.to_dict() == {
        "model": "m",
        "baseline": "b",
        "metric": "hit@3",
        "model_value": 0.6,
        "baseline_value": 0.5,
        "lift": 0.2,
        "lift_ci95": [0.1, 0.3],
        "diff": 0.1,
        "diff_ci95": [0.05, 0.15],
    }


def test_ages_may_be_missing_as_none():
    assert evaluation.age_bands([None, 20, 70]).tolist() == ["unknown", "18-24", "65+"]


def test_region_codes_with_more_parts_group_by_their_first():
    assert evaluation.region_groups(np.array(["us-tx-a", "ca-on", "unknown"], object)).tolist() == [
        "us",
        "ca",
        "unknown",
    ]
    one_country = np.array(["us-tx-a", "us-ca-b", "us-tx-a"], object)
    assert evaluation.region_groups(one_country).tolist() == ["us-tx-a", "us-ca-b", "us-tx-a"]


def test_the_eight_most_frequent_regions_are_kept_by_default():
    regions = np.array([r for n, r in enumerate("abcdefghij") for _ in range(20 - n)], object)
    grouped = evaluation.region_groups(regions)
    assert sorted(set(grouped.tolist())) == [*"abcdefgh", "other"]
    assert grouped.tolist().count("other") == 11 + 12  # i and j


def test_segments_are_reported_numbers_first_then_names_then_other_and_unknown():
    n = 8
    per_user = {"m": _per_user([1.0] * n), "r": _per_user([0.0, 1.0] * (n // 2))}
    segments = {
        "plays": np.array(["6+", "unknown", "2", "10", "1", "0", "2", "1"], dtype=object),
        "region": np.array(
            ["west", "unknown", "east", "other", "west", "east", "ca", "ca"], dtype=object
        ),
        "age": np.array(
            ["65+", "<18", "25-34", "unknown", "18-24", "<18", "65+", "25-34"], dtype=object
        ),
    }
    rows = evaluation.segment_table(per_user, segments, "m", "r", n_boot=20)
    order = [(r["dimension"], r["segment"]) for r in rows]
    assert order == [
        ("plays", "0"),
        ("plays", "1"),
        ("plays", "2"),
        ("plays", "6+"),
        ("plays", "10"),
        ("plays", "unknown"),
        ("region", "ca"),
        ("region", "east"),
        ("region", "west"),
        ("region", "other"),
        ("region", "unknown"),
        ("age", "<18"),
        ("age", "18-24"),
        ("age", "25-34"),
        ("age", "65+"),
        ("age", "unknown"),
    ]


def test_segment_lifts_use_the_resamples_asked_for():
    per_user = {"m": _per_user([1.0, 1.0, 0.0, 1.0] * 5), "r": _per_user([1.0, 0.0] * 10)}
    labels = np.array(["x"] * 20, dtype=object)
    [row] = evaluation.segment_table(per_user, {"g": labels}, "m", "r")
    [default] = evaluation.lifts(per_user, ["m"], ["r"], 300, 0, metrics=["hit@3"])
    assert row["lift"] == default.to_dict()
    [row] = evaluation.segment_table(per_user, {"g": labels}, "m", "r", n_boot=40, seed=5)
    [seeded] = evaluation.lifts(per_user, ["m"], ["r"], 40, 5, metrics=["hit@3"])
    assert row["lift"] == seeded.to_dict()
    assert math.isfinite(row["lift"]["lift_ci95"][0])
