"""The split is evaluate.py's: the served method and the baselines score exactly the figures the
batch job writes into its manifest; the validation slice ends where the test days begin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.batch.baselines.compare import measure
from training.batch.baselines.methods import SERVED, by_name
from training.batch.baselines.metrics import item_home_region
from training.batch.baselines.split import evaluation_split, validation_split
from training.batch.evaluate import ALGORITHM, compare
from training.batch.listening import DAY_MS, load
from training.batch.params import BatchParams

PARAMS = BatchParams(holdout_days=28, eval_users=600, eval_fit_users=1500)


@pytest.fixture(scope="module")
def listening(tiny_world: Path):
    return load(tiny_world, progress=False)


def test_figures_equal_the_manifest_evaluation(listening):
    split = evaluation_split(listening, PARAMS)
    holdout = listening.weights(start_ms=split.cutoff_ms)
    songs = (listening.catalogue, listening.regions)
    expected = compare(
        split.train, holdout, listening.user_region, split.chart, PARAMS.factors, PARAMS, songs
    )
    assert expected["algorithm"] == SERVED
    assert expected["users"] == len(split.users) > 100
    assert len(split.fitted) == 1500  # the evaluated listeners and a sample of the others
    home = item_home_region(listening.catalogue, listening.regions)
    (served_method,) = by_name([SERVED])
    served = measure(served_method, served_method.grid[0], split, home)
    assert served.recall.mean() == pytest.approx(expected["recall@20"], abs=1e-6)
    assert served.ndcg.mean() == pytest.approx(expected["ndcg@20"], abs=1e-6)
    blend = measure(by_name([ALGORITHM])[0], {"rank": 64, "regional_blend": 0.5}, split, home)
    assert blend.recall.mean() == pytest.approx(
        expected["candidates"][ALGORITHM]["recall@20"], abs=1e-6
    )
    for name in ("popularity", "regional-popularity"):
        outcome = measure(by_name([name])[0], {}, split, home)
        assert outcome.recall.mean() == pytest.approx(
            expected["baselines"][name]["recall@20"], abs=1e-9
        )
    plain = measure(by_name(["puresvd"])[0], {"rank": 64}, split, home)
    assert plain.recall.mean() == pytest.approx(
        expected["candidates"]["puresvd"]["recall@20"], abs=1e-6
    )


def test_validation_lies_before_the_test_days(listening):
    test = evaluation_split(listening, PARAMS)
    validation = validation_split(listening, PARAMS)
    assert validation.cutoff_ms == test.cutoff_ms - PARAMS.holdout_days * DAY_MS
    before = listening.weights(end_ms=test.cutoff_ms)
    # every validation truth was played before the test cutoff, and never in its training days
    rows, cols = validation.relevant.nonzero()
    assert len(rows) > 0
    assert np.all(np.asarray(before[rows, cols]).ravel() > 0)
    assert np.all(np.asarray(validation.train[rows, cols]).ravel() == 0)
    assert validation.train.nnz < test.train.nnz
