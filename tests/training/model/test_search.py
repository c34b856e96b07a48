"""The hyperparameter search: defaults first, bounded, fixed parameters kept, recorded."""

from __future__ import annotations

import numpy as np

from tests.training.model.tiny import build_tiny
from training.model.lgbm import DEFAULT_PARAMS
from training.model.search import SPACE, cv_pairs, search_lgbm, subsample


def test_cv_pairs_cover_every_row_once():
    pairs = cv_pairs(np.arange(10), np.arange(10, 13), 3, seed=1)
    held = np.sort(np.concatenate([v for _, v in pairs]))
    np.testing.assert_array_equal(held, np.arange(13))
    for fit, valid in pairs:
        assert not set(fit) & set(valid)
        assert len(fit) + len(valid) == 13
    single = cv_pairs(np.arange(10), np.arange(10, 13), 0, seed=1)
    assert [len(f) for f, _ in single] == [10]


def test_subsample():
    rows = np.arange(100)
    assert subsample(rows, 0, 1) is rows
    small = subsample(rows, 10, 1)
    assert len(small) == 10
    assert np.all(np.diff(small) > 0)
    np.testing.assert_array_equal(small, subsample(rows, 10, 1))


def _data(tmp_path):
    from training.model.hyperparams import Hyperparameters
    from training.model.stages import encode_users, label_users, read_source, split_users

    root = build_tiny(tmp_path / "d", n_users=400)
    hp = Hyperparameters(min_level_count=1)
    source = read_source(root)
    labels = label_users(root, source, hp, False).labels
    return encode_users(source, labels, split_users(source, labels, hp), hp)


def test_search_starts_from_the_defaults_and_keeps_fixed_parameters(tmp_path):
    data = _data(tmp_path)
    defaults = {**DEFAULT_PARAMS, "num_leaves": 5, "num_threads": 1}
    found = search_lgbm(
        data.spec, data.x, data.y, data.split.train, data.split.valid, data.n_genres,
        defaults, trials=4, seconds=0, fixed=["num_leaves"],
    )  # fmt: skip
    assert found.n_trials == 4
    assert found.stopped_by == "trials"
    assert found.trials[0]["params"]["learning_rate"] == DEFAULT_PARAMS["learning_rate"]
    assert found.default_value == found.trials[0]["value"]
    assert found.best_value == min(t["value"] for t in found.trials)
    assert all("num_leaves" not in t["params"] for t in found.trials)
    assert found.best_params["num_leaves"] == 5
    doc = found.to_dict()
    assert doc["searched"] == sorted(set(SPACE) - {"num_leaves"})
    assert doc["fit_users"] == len(data.split.train)


def test_search_by_cross_validation_and_its_bounds(tmp_path):
    data = _data(tmp_path)
    args = (data.spec, data.x, data.y, data.split.train, data.split.valid, data.n_genres)
    cv = search_lgbm(*args, DEFAULT_PARAMS, trials=2, seconds=0, folds=3)
    assert cv.n_trials == 2
    assert np.isfinite(cv.best_value)
    timed = search_lgbm(*args, DEFAULT_PARAMS, trials=1000, seconds=0.5)
    assert timed.stopped_by == "time"
    assert 1 <= timed.n_trials < 1000
    skipped = search_lgbm(*args, DEFAULT_PARAMS, trials=0)
    assert skipped.stopped_by == "skipped"
    assert skipped.best_params == DEFAULT_PARAMS


def test_a_search_bounded_by_trials_is_reproducible(tmp_path):
    """Same data and seed, same trials and best settings: a scheduled retraining on unchanged
    data must not get another model (the gate compares it with the previous one)."""
    data = _data(tmp_path)
    args = (data.spec, data.x, data.y, data.split.train, data.split.valid, data.n_genres)
    defaults = {**DEFAULT_PARAMS, "num_threads": 1}
    first, again = (search_lgbm(*args, defaults, trials=10, seconds=0, seed=3) for _ in range(2))
    assert [t["params"] for t in first.trials] == [t["params"] for t in again.trials]
    assert [t["value"] for t in first.trials] == [t["value"] for t in again.trials]
    assert first.best_params == again.best_params
    other = search_lgbm(*args, defaults, trials=10, seconds=0, seed=4)
    assert [t["params"] for t in other.trials] != [t["params"] for t in first.trials]
