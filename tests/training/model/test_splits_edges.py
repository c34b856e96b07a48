"""Splits at their edges: tiny user counts, fractions at their bounds, ties in signup time, a cap
that is not exceeded, and the defaults."""

from __future__ import annotations

import numpy as np
import pytest

from training.model.splits import make_split, time_test_split


def _signups(n=1000, seed=0):
    return np.random.default_rng(seed).integers(0, 10**9, n)


@pytest.mark.parametrize(
    ("n", "fraction", "n_test"),
    [(1, 0.5, 0), (2, 0.5, 1), (2, 0.9, 1), (3, 0.01, 1), (10, 0.99, 9)],
)
def test_at_least_one_test_user_and_one_left_to_train(n, fraction, n_test):
    train, test = time_test_split(np.arange(n), fraction)
    assert len(test) == n_test
    assert len(train) == n - n_test


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_the_test_fraction_is_strictly_between_zero_and_one(fraction):
    with pytest.raises(ValueError, match=f"^test_fraction {fraction} must be between 0 and 1$"):
        make_split(_signups(), test_fraction=fraction)


def test_an_unknown_kind_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match=r"^split 'weekly': expected one of time, random$"):
        make_split(_signups(), kind="weekly")


def test_tied_signups_keep_their_order_so_the_last_ones_are_tested():
    signups = np.arange(1000) % 2  # two signup times, taking turns
    train, test = time_test_split(signups, 0.2)
    # the 500 later signups are the odd positions; the last 200 of them are tested
    assert test.tolist() == list(range(601, 1000, 2))
    assert len(train) == 800


def test_the_defaults():
    signups = _signups()
    split = make_split(signups)
    assert split.kind == "time"
    assert (len(split.train), len(split.valid), len(split.test)) == (720, 80, 200)
    assert split.summary() == {"kind": "time", "train": 720, "valid": 80, "test": 200}
    random = make_split(signups, kind="random")
    seven = make_split(signups, kind="random", seed=7)
    assert random.kind == "random"
    assert np.array_equal(random.test, seven.test)
    assert np.array_equal(random.valid, seven.valid)
    assert not np.array_equal(random.test, make_split(signups, kind="random", seed=8).test)


def test_a_cap_that_is_not_exceeded_changes_nothing():
    signups = _signups()
    capped = make_split(signups, max_train_users=800)  # exactly the 800 training users
    uncapped = make_split(signups)
    for part in ("train", "valid", "test"):
        assert np.array_equal(getattr(capped, part), getattr(uncapped, part)), part


def test_a_cap_samples_distinct_users():
    split = make_split(_signups(), max_train_users=700, valid_fraction=0.0)
    assert len(split.train) == len(np.unique(split.train)) == 700
    assert len(split.valid) == 0


def test_no_validation_slice_at_or_below_zero():
    for fraction in (0.0, -0.5):
        split = make_split(_signups(), valid_fraction=fraction)
        assert (len(split.train), len(split.valid)) == (800, 0)
