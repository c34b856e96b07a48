"""Splits: disjoint, complete, time-ordered, seeded, capped."""

from __future__ import annotations

import numpy as np
import pytest

from training.model.splits import make_split


def _signups(n=1000, seed=0):
    return np.random.default_rng(seed).integers(0, 10**9, n)


@pytest.mark.parametrize("kind", ["time", "random"])
def test_disjoint_and_complete(kind):
    split = make_split(_signups(), kind=kind, test_fraction=0.2, valid_fraction=0.1, seed=1)
    parts = [split.train, split.valid, split.test]
    everything = np.concatenate(parts)
    assert len(everything) == len(np.unique(everything)) == 1000
    assert len(split.test) == 200
    assert len(split.valid) == 80
    for a in parts:
        for b in parts:
            if a is not b:
                assert not np.intersect1d(a, b).size


def test_time_split_tests_on_later_signups():
    signups = _signups()
    split = make_split(signups, kind="time", test_fraction=0.25)
    train = np.concatenate([split.train, split.valid])
    assert signups[train].max() <= signups[split.test].min()


def test_time_split_with_tied_signups_is_exact_and_stable():
    signups = np.array([5, 5, 5, 5, 1, 1, 9, 9, 9, 9])
    a = make_split(signups, kind="time", test_fraction=0.3, valid_fraction=0)
    b = make_split(signups, kind="time", test_fraction=0.3, valid_fraction=0)
    assert len(a.test) == 3
    np.testing.assert_array_equal(a.test, b.test)
    assert set(signups[a.test]) == {9}


def test_random_split_is_seeded():
    signups = _signups()
    a = make_split(signups, kind="random", seed=3)
    b = make_split(signups, kind="random", seed=3)
    c = make_split(signups, kind="random", seed=4)
    np.testing.assert_array_equal(a.test, b.test)
    np.testing.assert_array_equal(a.train, b.train)
    assert not np.array_equal(a.test, c.test)


def test_max_train_users_caps_fit_plus_valid():
    split = make_split(_signups(), kind="time", max_train_users=300, valid_fraction=0.1)
    assert len(split.train) + len(split.valid) == 300
    assert len(split.test) == 200


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        make_split(_signups(), kind="by-zodiac")
    with pytest.raises(ValueError, match="test_fraction"):
        make_split(_signups(), test_fraction=1.5)
