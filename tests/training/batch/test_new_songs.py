"""A song added to the catalogue today is in tomorrow's `personal` lists of listeners who play its
artist, and in no one else's; lists keep their length and their business rules."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from tests.training.batch.conftest import PARAMS, records
from training.batch import content
from training.batch import factors as svd
from training.batch.content import ContentModel, cold_threshold
from training.batch.evaluate import artist_matrix
from training.batch.listening import load
from training.batch.params import BatchParams
from training.batch.run import run

NEW_ARTISTS = 3  # artists with listeners that get a new song each
NOBODY = "a-new-act"  # a new artist nobody plays, with a new song of its own


def _played_artists(world: Path) -> tuple[dict[str, set[str]], list[str]]:
    """Each listener's artists (plays and likes), and artists by how many listeners they have."""
    plays = pq.read_table(world / "interactions.parquet", columns=["user_id", "item_id", "event"])
    plays = plays.filter(pc.not_equal(plays["event"], "skip"))
    items = pq.read_table(world / "items.parquet", columns=["item_id", "artist_id"])
    artist_of = dict(zip(items["item_id"].to_pylist(), items["artist_id"].to_pylist(), strict=True))
    by_user: dict[str, set[str]] = {}
    for user, item in zip(plays["user_id"].to_pylist(), plays["item_id"].to_pylist(), strict=True):
        by_user.setdefault(user, set()).add(artist_of[item])
    listeners = Counter(a for artists in by_user.values() for a in artists)
    return by_user, [a for a, _ in listeners.most_common()]


@pytest.fixture(scope="module")
def tomorrow(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Today's world plus one new song by each of three popular artists and one by a new
    artist, and the batch version computed from it ("tomorrow")."""
    root = tmp_path_factory.mktemp("new-songs")
    world = root / "world"
    shutil.copytree(small_world, world)
    by_user, ranked_artists = _played_artists(world)
    chosen = ranked_artists[::7][:NEW_ARTISTS]  # popular: the favourite artist of some
    artists = pq.read_table(world / "artists.parquet")
    ids, genres = artists["artist_id"].to_pylist(), artists["genre"].to_pylist()
    genre_of = dict(zip(ids, genres, strict=True))
    genre_of[NOBODY] = genre_of[chosen[0]]
    new_artist = pa.table({
        "artist_id": [NOBODY], "name": ["A New Act"], "genre": [genre_of[NOBODY]],
        "region": [artists["region"][0].as_py()],
    }).cast(artists.schema)  # fmt: skip
    pq.write_table(pa.concat_tables([artists, new_artist]), world / "artists.parquet")
    new_items = {f"new-{artist}": artist for artist in [*chosen, NOBODY]}
    items = pq.read_table(world / "items.parquet")
    added = pa.table({
        "item_id": list(new_items), "title": [f"Fresh {i}" for i in range(len(new_items))],
        "artist_id": list(new_items.values()), "album_id": [f"new-album-{a}" for a in new_items],
        "genre": [genre_of[a] for a in new_items.values()], "available": [True] * len(new_items),
    }).cast(items.schema)  # fmt: skip
    pq.write_table(pa.concat_tables([items, added]), world / "items.parquet")
    version = root / "tomorrow"
    version.mkdir()
    run(world, version, PARAMS, progress=False)
    return {
        "world": world,
        "lists": {r["user_id"]: r["ids"] for r in records(version, "personal")},
        "new_items": new_items,
        "by_user": by_user,
    }


def test_new_songs_reach_listeners_of_their_artist_and_nobody_else(tomorrow):
    lists, new_items, by_user = tomorrow["lists"], tomorrow["new_items"], tomorrow["by_user"]
    listing = load(tomorrow["world"], progress=False)
    catalogue = listing.catalogue
    artist_row = {a: i for i, a in enumerate(catalogue.artist_ids)}
    column = {item: i for i, item in enumerate(catalogue.item_ids)}
    unplayed = np.bincount((listing.weights() > 0).indices, minlength=listing.n_items) == 0
    # each listener's favourite artist: the largest share of their (confidence-weighted) plays;
    # the new song is their best cold song, so it takes the slot at the end of their first 20
    shares = artist_matrix(
        svd.confidence(listing.weights()), catalogue.item_artist, len(catalogue.artist_ids)
    )
    favourite = np.asarray(shares.argmax(axis=1)).ravel()
    reached: Counter[str] = Counter()
    for user, ids in lists.items():
        for item in set(ids) & set(new_items):
            assert new_items[item] in by_user.get(user, set()), (user, item)  # affinity only
            reached[item] += 1
    for item, artist in new_items.items():
        if artist == NOBODY:
            assert reached[item] == 0
            continue
        fans = [u for u, i in zip(listing.user_ids, favourite, strict=True)
                if i == artist_row[artist] and u in lists]  # fmt: skip
        assert fans, artist
        got = [u for u in fans if item in lists[u][:20]]
        assert len(got) >= max(1, len(fans) // 2), (item, len(got), len(fans))
        for user in set(fans) - set(got):
            # the slot went to another song nobody played (one of the artist's own)
            assert any(unplayed[column[i]] for i in lists[user][:20]), (user, item)


def test_lists_keep_their_length_and_rules(tomorrow, batch_version):
    today = {r["user_id"]: r["ids"] for r in records(batch_version, "personal")}
    lists = tomorrow["lists"]
    assert lists.keys() == today.keys()
    assert all(len(lists[u]) == len(today[u]) for u in today)
    listing = load(tomorrow["world"], progress=False)
    catalogue = listing.catalogue
    column = {item: i for i, item in enumerate(catalogue.item_ids)}
    played = listing.weights() > 0
    user_row = {u: i for i, u in enumerate(listing.user_ids)}
    for user, ids in lists.items():
        columns = np.array([column[i] for i in ids])
        assert catalogue.item_eligible[columns].all()
        assert not played[user_row[user], columns].toarray().any()
        assert max(Counter(catalogue.item_artist[columns]).values()) <= PARAMS.max_per_artist
        albums = catalogue.item_album[columns]
        assert max(Counter(albums[albums >= 0]).values(), default=0) <= PARAMS.max_per_album


def test_content_scores_only_where_the_listener_plays_the_artist(monkeypatch):
    from tests.training.batch.test_families import CATALOGUE

    monkeypatch.setattr(content, "SLOT_DEPTH", 3)  # slots: the last of the first 3 places

    # s0..s2 (a0) have listeners; s3 (a1) has none: cold (s4 is unavailable, s5 untitled).
    # Listener 0 played a1's s4 (before it became unavailable), listener 1 a0 only, 2 nothing.
    played = sp.csr_matrix(np.array([[1, 1, 1, 0, 0, 0]] * 5, dtype=np.float32))
    params = replace(PARAMS, cold_share=0.0, new_slots=1, content_weight=0.0, content_genre=0.0)
    model = ContentModel.build(CATALOGUE, np.array(["north", "south"]), played, params)
    assert CATALOGUE.item_ids[model.cold].tolist() == ["s3"]
    rows = sp.csr_matrix(np.array([[0, 0, 0, 0, 2, 0], [1, 0, 0, 0, 0, 0], [0] * 6], np.float32))
    region = np.array([1, 1, 0])
    assert model.scores(rows, region).toarray().tolist() == [[1.0], [0.0], [0.0]]
    local = replace(model, region_weight=0.25, genre_weight=1.0)  # a1 is local to "south"
    assert local.scores(rows, region).toarray().tolist() == [[2.25], [0.0], [0.0]]
    taste = np.array([0.9, 0.8, 0.7, 0.0, -np.inf, 0.1], np.float32)
    scores = np.tile(taste, (3, 1))
    model.add_to(scores, rows, region)
    # listener 0: s3 takes the third place (just ahead of s2); the others: unchanged
    assert 0.7 < scores[0, 3] < 0.8
    assert scores[1].tolist() == scores[2].tolist() == taste.tolist()


@pytest.mark.parametrize(
    ("audience", "threshold"),
    [(943, 1), (3_000, 1), (100_000, 20), (1_000_000, 20), (10_000_000, 20)],
)
def test_a_song_is_cold_below_a_share_of_the_listeners_capped_at_20(audience, threshold):
    """A share of the listeners: 20 at 100,000 (where it was tuned), at least 1; capped at 20,
    or a million listeners would make half of a 100,000-song catalogue cold (docs/model.md)."""
    assert cold_threshold(audience, BatchParams()) == threshold
