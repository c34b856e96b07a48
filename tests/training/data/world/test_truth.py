"""The hidden truth: its loader and the click model."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from tests.training.data.world.conftest import WorldData
from training.data.world.genres import GENRES
from training.data.world.truth import WorldTruth


@pytest.fixture(scope="module")
def some_users(world: WorldData) -> list[str]:
    return world.users["user_id"].to_pylist()[::97]


def test_loads_from_the_dataset_or_the_truth_directory(world: WorldData) -> None:
    a = WorldTruth(world.path)
    b = WorldTruth(world.path / "truth")
    assert a.seed == b.seed == 7
    assert a.genres == GENRES
    with pytest.raises(FileNotFoundError):
        WorldTruth(world.path / "no-such-dir")


def test_affinity_rows_are_distributions_and_match_the_plays(world: WorldData) -> None:
    affinity = world.truth.affinity(world.users["user_id"])
    assert affinity.shape == (world.n_users, len(GENRES))
    assert np.allclose(affinity.sum(axis=1), 1, atol=1e-4)
    # Over the second month (past the onboarding pull), play shares track the affinity.
    counts = world.second_month
    active = counts.sum(axis=1) >= 20
    shares = counts[active] / counts[active].sum(axis=1, keepdims=True)
    corr = np.corrcoef(shares.ravel(), affinity[active].ravel())[0, 1]
    assert corr > 0.6


def test_genre_clicks_follow_affinity(world: WorldData, some_users: list[str]) -> None:
    affinity = world.truth.affinity(some_users)
    for i, user in enumerate(some_users):
        p = world.truth.genre_click_probability(user, list(GENRES))
        assert p.shape == (len(GENRES),)
        assert ((p >= 0) & (p <= 1)).all()
        assert p[affinity[i].argmax()] > p[affinity[i].argmin()]
        assert (np.argsort(p) == np.argsort(affinity[i])).all()  # monotone in affinity
    top = world.truth.genre_click_probability(
        some_users, [GENRES[a] for a in affinity.argmax(axis=1)]
    )
    assert 0.3 < top.mean() < 0.95


def test_station_clicks_favour_the_home_region(world: WorldData, some_users: list[str]) -> None:
    truth = world.truth
    stations = world.stations
    station_ids = np.array(stations["station_id"].to_pylist())
    station_region = np.array([r or "" for r in stations["region"].to_pylist()])
    user_region = dict(
        zip(world.users["user_id"].to_pylist(), world.users["region"].to_pylist(), strict=True)
    )
    users = np.repeat(some_users, len(station_ids))
    all_stations = np.tile(station_ids, len(some_users))
    p = truth.station_click_probability(users, all_stations)
    assert ((p >= 0) & (p <= 1)).all()
    home = np.array([user_region[u] for u in users]) == np.tile(station_region, len(some_users))
    away = ~home & (np.tile(station_region, len(some_users)) != "")
    assert p[home].mean() > 1.5 * p[away].mean()


def test_song_clicks_zero_for_unavailable_songs(world: WorldData, some_users: list[str]) -> None:
    items = world.items
    unavailable = pc.filter(items["item_id"], pc.invert(items["available"])).to_pylist()
    available = pc.filter(items["item_id"], items["available"]).to_pylist()[:500]
    user = some_users[0]
    assert (world.truth.song_click_probability(user, unavailable) == 0).all()
    p = world.truth.song_click_probability(user, available)
    assert ((p > 0) & (p < 1)).all()


def test_song_clicks_grow_with_genre_affinity(world: WorldData, some_users: list[str]) -> None:
    truth = world.truth
    items = world.items.filter(world.items["available"])
    item_ids = np.array(items["item_id"].to_pylist()[::10])
    genre_code = np.array([GENRES.index(g) for g in items["genre"].to_pylist()[::10]])
    liked, disliked = [], []
    for user in some_users:
        affinity = truth.affinity([user])[0]
        p = truth.song_click_probability(user, item_ids)
        liked.append(p[genre_code == affinity.argmax()].mean())
        disliked.append(p[genre_code == affinity.argmin()].mean())
    assert np.nanmean(liked) > 3 * np.nanmean(disliked)


def test_unknown_ids_raise(world: WorldData) -> None:
    with pytest.raises(KeyError):
        world.truth.affinity(["nobody"])
    with pytest.raises(KeyError):
        world.truth.song_click_probability(world.users["user_id"][0].as_py(), ["no-song"])
    with pytest.raises(KeyError):
        world.truth.genre_click_probability(world.users["user_id"][0].as_py(), ["Polka"])
