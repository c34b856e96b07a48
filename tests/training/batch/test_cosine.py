"""The served similar lists' similarities: factor cosine for songs, the cosine of log-weighted
listener columns (item-kNN) for artists, never listing a column without a listener in common."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch import cosine, families
from training.batch.factors import Factors

# listeners x artists plays: a0 and a1 share listeners 0 and 1; a2 is played by listener 2 only
PLAYS = sp.csr_matrix(np.array([[3, 1, 0], [1, 4, 0], [0, 0, 7], [2, 0, 0]], dtype=np.float32))
IDS = np.array(["a0", "a1", "a2"], dtype=object)


def _dense_cosine(matrix: np.ndarray) -> np.ndarray:
    unit = matrix / np.linalg.norm(matrix, axis=0, keepdims=True)
    return unit.T @ unit


def test_artists_are_the_cosine_of_their_log_plays_listener_columns():
    expected = _dense_cosine(np.log1p(PLAYS.toarray()))
    got = cosine.similar_artists(PLAYS)(np.array([0, 1]))
    np.testing.assert_allclose(got[:, :2], expected[:2, :2], rtol=1e-6)
    assert got[0, 1] == got[1, 0] > 0


def test_raw_plays_would_rank_otherwise_so_the_weighting_is_log():
    raw = _dense_cosine(PLAYS.toarray())[0, 1]
    assert not np.isclose(cosine.similar_artists(PLAYS)(np.array([0]))[0, 1], raw)


def test_an_artist_without_a_listener_in_common_is_never_similar():
    scores = cosine.similar_artists(PLAYS)(np.array([0, 2]))
    assert scores[0, 2] == -np.inf  # a0 and a2: no listener in common
    assert scores[1].tolist() == [-np.inf, -np.inf, 1.0]  # a2 is similar to itself only
    similarity = cosine.similar_artists(PLAYS)
    records = list(families.similar("artist_id", IDS, np.array([0, 2]), similarity,
                                    np.ones(3, bool), 10))  # fmt: skip
    assert records == [{"artist_id": "a0", "ids": ["a1"], "scores": [records[0]["scores"][0]]}]


def test_songs_are_the_cosine_of_their_factors():
    factors = Factors(
        np.array([[1, 0], [0.6, 0.8], [0, -1]], dtype=np.float32), np.ones(2, np.float32)
    )
    got = cosine.similar_songs(factors)(np.array([0]))
    np.testing.assert_allclose(got, [[1.0, 0.6, 0.0]], atol=1e-6)


def test_unit_columns_scales_each_played_column_to_length_one():
    unit = cosine.unit_columns(PLAYS)
    norms = np.sqrt(np.asarray(unit.multiply(unit).sum(axis=0)).ravel())
    np.testing.assert_allclose(norms, 1.0, rtol=1e-6)
    empty = cosine.unit_columns(sp.csr_matrix((2, 2), dtype=np.float32))
    assert empty.nnz == 0
