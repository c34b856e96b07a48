"""The regional prior: each region's plays scaled to its best song, added to a block of listeners
one region's run at a time."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch.popularity import RegionalPrior, by_region

# listeners x songs plays; listeners 0 and 1 live in region 0, 2 in region 1, 3 in region 2
PLAYS = sp.csr_matrix(np.array([[4, 0, 0], [2, 2, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32))
USER_REGION = np.array([0, 0, 1, 2])


def test_by_region_sums_each_regions_listeners():
    assert by_region(PLAYS, USER_REGION, 3).tolist() == [[6, 2, 0], [0, 0, 1], [0, 0, 0]]


def test_the_table_scales_each_region_to_its_best_song_even_a_single_play():
    prior = RegionalPrior.from_counts(PLAYS, USER_REGION, 3, weight=0.5)
    np.testing.assert_allclose(prior.table, [[1.0, 2 / 6, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert prior.table.dtype == np.float32
    np.testing.assert_allclose(prior.offsets(), 0.5 * prior.table)
    excluded = prior.offsets(excluded=np.array([False, True, False]))
    assert np.isneginf(excluded[:, 1]).all()


def test_add_to_gives_every_listener_of_a_block_their_own_regions_row():
    prior = RegionalPrior.from_counts(PLAYS, USER_REGION, 3, weight=1.0)
    users = prior.by_region_order(np.array([2, 0, 3, 1]))
    assert users.tolist() == [0, 1, 2, 3]  # by region, stable within one
    scores = np.zeros((4, 3), dtype=np.float32)
    prior.add_to(scores, users, prior.offsets())
    np.testing.assert_allclose(scores, prior.table[USER_REGION[users]])
    untouched = np.ones((0, 3), dtype=np.float32)
    prior.add_to(untouched, np.array([], dtype=np.int64), prior.offsets())  # no listener: nothing
