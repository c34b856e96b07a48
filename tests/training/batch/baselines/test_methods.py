"""Every method recovers a planted taste structure that popularity cannot see."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.training.batch.baselines.planted import planted_split
from training.batch.baselines.compare import measure
from training.batch.baselines.methods import METHODS, SERVED, by_name
from training.batch.evaluate import ALGORITHM, WITH_CONTENT

NO_REGION = np.full(240, -1)
SMALL: dict[str, dict[str, Any]] = {
    "puresvd": {"rank": 8},
    "als": {"factors": 8, "regularization": 0.1, "alpha": 10.0},
    "bpr": {"factors": 8, "learning_rate": 0.05, "regularization": 0.01, "iterations": 50},
    "ease": {"lam": 50.0},
    "item-knn": {"k": 30, "weighting": "binary"},
    SERVED: {"als_factors": 8},  # no catalogue: no content scores
    WITH_CONTENT: {"rank": 8, "regional_blend": 0.5, "content": True},
    ALGORITHM: {"rank": 8, "regional_blend": 0.5},
}


@pytest.fixture(scope="module")
def split():
    return planted_split()


@pytest.fixture(scope="module")
def popularity_recall(split) -> float:
    (method,) = by_name(["popularity"])
    return float(measure(method, {}, split, NO_REGION).recall.mean())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_method_recovers_the_planted_blocks(split, popularity_recall: float, name: str):
    (method,) = by_name([name])
    outcome = measure(method, SMALL[name], split, NO_REGION)
    assert outcome.recall.shape == (len(split.users),)
    # Random ranking within the right block finds 20/28 of the held-out songs; popularity
    # about 20/240 of them.
    assert outcome.recall.mean() > 0.4
    assert outcome.recall.mean() > 3 * popularity_recall


def test_lists_never_hold_a_played_song(split):
    from training.batch.baselines.compare import ranked_lists

    (method,) = by_name(["item-knn"])
    model = method.build(split.data(), {"k": 30, "weighting": "log"})
    ranked = ranked_lists(model, split)
    played = np.asarray(split.train[split.users[:, None], ranked].todense())
    assert ranked.shape == (len(split.users), 20)
    assert not played.any()


def test_every_method_has_a_grid_and_the_served_one_is_fixed():
    names = [m.name for m in METHODS]
    assert len(set(names)) == len(names)
    served = by_name([SERVED])[0]
    assert not served.tuned
    assert SERVED == "als+regional+content"
    assert served.grid == ({},)  # BatchParams' defaults, as run.py serves them
    assert by_name([WITH_CONTENT])[0].grid == (
        {"rank": 64, "regional_blend": 0.5, "content": True},
    )
    assert by_name([ALGORITHM])[0].grid == ({"rank": 64, "regional_blend": 0.5},)
    for name in ("puresvd", "als", "bpr", "ease", "item-knn"):
        assert by_name([name])[0].tuned
    with pytest.raises(KeyError):
        by_name(["nope"])
