"""Train/validation/test splits of the labelled users.

Two ways to pick the test users:

- ``time`` (the default): the latest signups are the test users, everyone who signed up before
  them trains. That is how the model is used (trained on past cohorts, serving new ones), so it
  sees drift in tastes and catalogue, and a previous model trained on an older snapshot can
  never have trained on the new test users, which keeps the gate's comparison fair.
- ``random``: a seeded random share of users; for stationary data, or to compare with results
  that used it.

The validation slice (for early stopping) is a seeded random share of the training users, and
``max_train_users`` caps the training users by a seeded random sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("time", "random")


@dataclass(frozen=True)
class Split:
    """Positions (into the labelled users) of the fitting, validation and test users."""

    kind: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def summary(self) -> dict[str, int | str]:
        return {
            "kind": self.kind,
            "train": len(self.train),
            "valid": len(self.valid),
            "test": len(self.test),
        }


def random_test_split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions: a seeded random ``test_fraction`` of ``0..n-1`` is test."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = _n_test(n, test_fraction)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def time_test_split(signup_ms: np.ndarray, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions: the latest ``test_fraction`` of signups are test (stable order)."""
    order = np.argsort(signup_ms, kind="stable")
    n_test = _n_test(len(signup_ms), test_fraction)
    cut = len(order) - n_test
    return np.sort(order[:cut]), np.sort(order[cut:])


def _n_test(n: int, test_fraction: float) -> int:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction {test_fraction} must be between 0 and 1")
    return min(max(round(n * test_fraction), 1), max(n - 1, 0))


def make_split(
    signup_ms: np.ndarray,
    kind: str = "time",
    test_fraction: float = 0.2,
    valid_fraction: float = 0.1,
    max_train_users: int = 0,
    seed: int = 7,
) -> Split:
    """Split labelled users (given their signup times) into fit/validation/test positions.

    ``max_train_users`` (0 = no cap) caps fitting plus validation users by random sampling.
    """
    n = len(signup_ms)
    if kind == "time":
        train, test = time_test_split(signup_ms, test_fraction)
    elif kind == "random":
        train, test = random_test_split(n, test_fraction, seed)
    else:
        raise ValueError(f"split {kind!r}: expected one of {', '.join(SPLITS)}")
    rng = np.random.default_rng(seed + 1)
    if max_train_users and len(train) > max_train_users:
        train = np.sort(rng.choice(train, size=max_train_users, replace=False))
    n_valid = round(len(train) * valid_fraction) if valid_fraction > 0 else 0
    shuffled = rng.permutation(train)
    valid = np.sort(shuffled[:n_valid])
    fit = np.sort(shuffled[n_valid:])
    return Split(kind=kind, train=fit, valid=valid, test=test)
