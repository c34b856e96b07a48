"""Every business rule holds in every list the batch writes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tests.training.batch.conftest import PARAMS, records
from training.data.dataset_io import read_table


@pytest.fixture(scope="module")
def items(small_world: Path) -> dict[str, dict]:
    table = read_table(small_world, "items").to_pylist()
    return {row["item_id"]: row for row in table}


def _song_lists(version_dir: Path):
    for record in records(version_dir, "personal"):
        yield "personal", record["ids"]
    for record in records(version_dir, "similar-items"):
        yield "similar-items", record["ids"]
    for record in records(version_dir, "regional"):
        yield "regional", record["songs"]["ids"]


def test_the_world_has_songs_the_rules_must_remove(items):
    assert any(not row["available"] for row in items.values())
    assert any(row["title"] is None for row in items.values())


def test_no_unavailable_or_untitled_song_in_any_list(batch_version, items):
    checked = 0
    for family, ids in _song_lists(batch_version):
        for item_id in ids:
            row = items[item_id]
            assert row["available"], f"{family}: unavailable {item_id}"
            assert (row["title"] or "").strip(), f"{family}: untitled {item_id}"
            checked += 1
    assert checked > 10_000


def test_caps_per_artist_and_album_hold_in_every_song_list(batch_version, items):
    for family, ids in _song_lists(batch_version):
        artists = Counter(items[i]["artist_id"] for i in ids)
        albums = Counter(items[i]["album_id"] for i in ids if items[i]["album_id"] is not None)
        assert max(artists.values(), default=0) <= PARAMS.max_per_artist, family
        assert max(albums.values(), default=0) <= PARAMS.max_per_album, family
        assert len(ids) == len(set(ids)), family


def test_personal_has_nothing_the_listener_played(batch_version, small_world):
    interactions = read_table(small_world, "interactions", columns=["user_id", "item_id", "event"])
    plays = interactions.filter(pc.not_equal(interactions["event"], "skip"))
    played: dict[str, set[str]] = {}
    for user, item in zip(plays["user_id"].to_pylist(), plays["item_id"].to_pylist(), strict=True):
        played.setdefault(user, set()).add(item)
    lists = list(records(batch_version, "personal"))
    assert len(lists) > 100
    for record in lists:
        assert not played.get(record["user_id"], set()) & set(record["ids"]), record["user_id"]
        assert len(record["ids"]) == PARAMS.n
        assert record["scores"] == sorted(record["scores"], reverse=True)


def test_artists_leave_out_followed_ones(batch_version, small_world):
    follows = read_table(small_world, "follows").to_pylist()
    followed: dict[str, set[str]] = {}
    for row in follows:
        followed.setdefault(row["user_id"], set()).add(row["artist_id"])
    lists = list(records(batch_version, "artists"))
    assert any(record["user_id"] in followed for record in lists)
    for record in lists:
        assert not followed.get(record["user_id"], set()) & set(record["ids"])


def test_similar_lists_never_contain_their_seed(batch_version):
    for record in records(batch_version, "similar-items"):
        assert record["item_id"] not in record["ids"]
    for record in records(batch_version, "similar-artists"):
        assert record["artist_id"] not in record["ids"]


def test_regional_charts_cover_every_region_genre_and_the_nation(batch_version, small_world):
    regions = set(read_table(small_world, "users", columns=["region"])["region"].to_pylist())
    charts = {(r["region"], r["genre"]): r for r in records(batch_version, "regional")}
    assert {region for region, genre in charts if genre is None} == regions | {"*"}
    rock = charts[("*", "Rock")]
    assert rock["songs"]["ids"]
    assert rock["stations"]["ids"]
    stations = {row["station_id"]: row for row in read_table(small_world, "stations").to_pylist()}
    for (region, genre), chart in charts.items():
        for station_id in chart["stations"]["ids"]:
            station = stations[station_id]
            assert station["region"] in (None, region) or region == "*"
            assert genre is None or station["genre"] == genre
