"""Catalogue, stations and regions: the facts the issue asks for."""

from __future__ import annotations

import re

import numpy as np
import pyarrow.compute as pc

from tests.training.data.world.conftest import WorldData
from training.data.contract import RADIO_GENRES
from training.data.world.config import WorldConfig
from training.data.world.regions import COUNTRIES, build_regions


def test_a_few_percent_of_songs_are_unavailable(world: WorldData) -> None:
    available = world.items["available"].to_numpy(zero_copy_only=False)
    assert 0.02 <= 1 - available.mean() <= 0.05


def test_some_songs_have_no_title_and_some_no_album(world: WorldData) -> None:
    untitled = world.items["title"].null_count
    assert 0 < untitled < 0.01 * world.items.num_rows
    assert 0 < world.items["album_id"].null_count < 0.3 * world.items.num_rows


def test_song_plays_follow_a_power_law(world: WorldData) -> None:
    plays = np.sort(np.bincount(world.row_item[world.is_play], minlength=world.items.num_rows))[
        ::-1
    ]
    top_1 = plays[: len(plays) // 100].sum() / plays.sum()
    top_10 = plays[: len(plays) // 10].sum() / plays.sum()
    assert top_1 > 0.12  # 1 % of the songs take more than 12x their share
    assert top_10 > 0.45
    assert (plays > 0).mean() > 0.5  # and yet the long tail is played


def test_songs_have_their_artists_genre(world: WorldData) -> None:
    genre_of = dict(
        zip(world.artists["artist_id"].to_pylist(), world.artists["genre"].to_pylist(), strict=True)
    )
    songs = zip(world.items["artist_id"].to_pylist(), world.items["genre"].to_pylist(), strict=True)
    assert all(genre_of[a] == g for a, g in songs)


def test_every_genre_has_national_and_regional_stations(world: WorldData) -> None:
    genre = np.array(world.stations["genre"].to_pylist())
    national = world.stations["region"].is_null().to_numpy(zero_copy_only=False)
    for g in RADIO_GENRES:
        assert (national & (genre == g)).any(), g
        assert (~national & (genre == g)).any(), g
    regional = set(pc.drop_null(world.stations["region"]).to_pylist())
    assert regional <= set(build_regions(7).codes)
    assert len(regional) >= 120


def test_artists_regions_are_regions_or_countries(world: WorldData) -> None:
    region = world.artists["region"]
    assert region.null_count == 0
    codes = set(build_regions(7).codes)
    countries = {c[0] for c in COUNTRIES}
    values = region.to_pylist()
    assert all(v in codes or v in countries for v in values)
    local = {v for v in values if v in codes}
    assert len(local) == len(codes)  # every region has local acts
    assert sum(v in countries for v in values) > 0.2 * len(values)


def test_regions_many_coded_and_heavy_tailed() -> None:
    regions = build_regions(0)
    assert regions.n >= 120
    assert len(set(regions.codes)) == regions.n
    assert all(re.fullmatch(r"[a-z]{2}-[a-z]{2,3}", code) for code in regions.codes)
    weight = np.sort(regions.weight)[::-1]
    assert abs(weight.sum() - 1) < 1e-9
    assert weight[: regions.n // 10].sum() > 0.4  # the top 10 % of regions hold > 40 % of users
    assert weight[-1] < weight[0] / 500
    # Each region has its own taste: no two regions share a taste vector.
    taste = np.round(regions.taste, 6)
    assert len({tuple(row) for row in taste}) == regions.n


def test_users_come_from_many_regions(world: WorldData) -> None:
    counts = np.bincount(world.region)
    assert len(counts) >= 120
    assert counts.max() > 20 * np.median(counts)


def test_default_catalogue_scales_with_users() -> None:
    assert WorldConfig(users=1_000_000).n_songs == 100_000
    assert WorldConfig(users=1_000_000).n_artists == 10_000
    assert WorldConfig(users=20_000, songs=500, artists=100).n_artists == 100
