"""Each list family on a catalogue small enough to rank by hand: 6 songs, 3 artists, 3 stations.

Song factors are the identity, so a listener's taste scores are their confidence row scaled to
its largest value: every expected list below follows from the numbers in the test.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from training.batch import cosine, families
from training.batch.content import ContentModel
from training.batch.factors import Factors
from training.batch.listening import Catalogue
from training.batch.params import BatchParams
from training.batch.popularity import RegionalPrior
from training.batch.rank import top_n

#  song  artist album genre  available title
#  s0    a0     b0    Jazz   yes       S0
#  s1    a0     b0    Jazz   yes       S1
#  s2    a0     -     Jazz   yes       S2
#  s3    a1     b1    Rock   yes       S3
#  s4    a1     -     Rock   no        S4
#  s5    a2     -     Jazz   yes       "" (no title)
CATALOGUE = Catalogue(
    item_ids=np.array(["s0", "s1", "s2", "s3", "s4", "s5"], dtype=object),
    item_titles=np.array(["S0", "S1", "S2", "S3", "S4", " "], dtype=object),
    item_artist=np.array([0, 0, 0, 1, 1, 2]),
    item_album=np.array([0, 0, -1, 1, -1, -1]),
    album_ids=np.array(["b0", "b1"], dtype=object),
    item_genre=np.array([0, 0, 0, 1, 1, 0]),
    item_available=np.array([True, True, True, True, False, True]),
    artist_ids=np.array(["a0", "a1", "a2"], dtype=object),
    artist_names=np.array(["Ann", "Bob", "Cy"], dtype=object),
    artist_genre=np.array([0, 1, 0]),
    artist_region=np.array(["north", "south", "south"], dtype=object),
    station_ids=np.array(["st0", "st1", "st2"], dtype=object),
    station_names=np.array(["Jazz FM", "North Rock", "South Jazz"], dtype=object),
    station_genre=np.array([0, 1, 0]),
    station_region=np.array([None, "north", "south"], dtype=object),
    genres=np.array(["Jazz", "Rock"], dtype=object),
)
PARAMS = BatchParams(n=10, max_per_artist=2, max_per_album=1)
IDENTITY = Factors(np.eye(6, dtype=np.float32), np.ones(6, dtype=np.float32))
NO_PRIOR = RegionalPrior(np.zeros((1, 6), dtype=np.float32), np.zeros(3, dtype=np.int64), 0.0)


def _csr(rows: list[list[float]]) -> sp.csr_matrix:
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


# personal ---------------------------------------------------------------------------------------


def test_personal_ranks_by_taste_leaves_out_played_and_ineligible_songs_and_keeps_the_caps():
    confidence = _csr([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]] * 3)
    played = _csr([[0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]])
    user_ids = np.array(["uA", "uB", "uC"], dtype=object)
    records = list(
        families.personal(
            user_ids, np.array([0, 1, 2]), confidence, played, IDENTITY, NO_PRIOR, CATALOGUE, PARAMS
        )
    )
    # uA: s1 played, s4 unavailable, s5 untitled; s0 and s2 are both a0's (two allowed).
    # uB: s1 shares s0's album (one per album). uC played every eligible song: no record.
    assert records == [
        {"user_id": "uA", "ids": ["s0", "s2", "s3"], "scores": [1.0, 0.777778, 0.666667]},
        {"user_id": "uB", "ids": ["s0", "s2", "s3"], "scores": [1.0, 0.777778, 0.666667]},
    ]


def test_personal_caps_per_artist_and_per_album_as_the_params_say():
    confidence = _csr([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])
    nothing = _csr([[0] * 6])
    users = np.array([0])

    def ids(params: BatchParams) -> list[str]:
        [record] = families.personal(
            np.array(["u"], dtype=object),
            users,
            confidence,
            nothing,
            IDENTITY,
            NO_PRIOR,
            CATALOGUE,
            params,
        )
        return record["ids"]

    assert ids(BatchParams(n=10, max_per_artist=1, max_per_album=1)) == ["s0", "s3"]
    assert ids(BatchParams(n=10, max_per_artist=2, max_per_album=2)) == ["s0", "s1", "s3"]
    assert ids(BatchParams(n=10, max_per_artist=3, max_per_album=2)) == ["s0", "s1", "s2", "s3"]
    assert ids(BatchParams(n=2, max_per_artist=3, max_per_album=2)) == ["s0", "s1"]


def test_personal_adds_content_scores_to_the_cold_songs_of_the_listeners_artists():
    # Every listener played s0..s2 (a0): s3 (a1) has no listener, so it is cold. uA played a1's
    # s4 (unavailable now) as much as s0: half their plays are a1's; uB played a0 only.
    everyone = _csr([[1, 1, 1, 0, 0, 0]] * 5)
    params = replace(PARAMS, cold_share=0.0, new_slots=0, content_weight=1.0, content_genre=0.0,
                     content_region=0.0)  # fmt: skip
    model = ContentModel.build(CATALOGUE, np.array(["north"]), everyone, params)
    confidence = _csr([[0.9, 0, 0, 0, 0.9, 0], [0.9, 0, 0, 0, 0, 0]])
    nothing = _csr([[0] * 6] * 2)
    user_ids = np.array(["uA", "uB"], dtype=object)

    def lists(content: ContentModel | None) -> list[dict]:
        return list(families.personal(user_ids, np.array([0, 1]), confidence, nothing, IDENTITY,
                                      NO_PRIOR, CATALOGUE, params, content))  # fmt: skip

    # without content s3 ties with s2 at 0 and comes after it; with it, uA's a1 share (0.5)
    # lifts s3 to second; uB, who never played a1, is unchanged
    assert lists(None)[0] == {"user_id": "uA", "ids": ["s0", "s2", "s3"], "scores": [1.0, 0.0, 0.0]}
    with_content = lists(model)
    assert with_content[0] == {
        "user_id": "uA",
        "ids": ["s0", "s3", "s2"],
        "scores": [1.0, 0.5, 0.0],
    }
    assert with_content[1] == lists(None)[1]


def test_personal_adds_the_regional_prior_and_names_users_by_id():
    confidence = _csr([[0.5, 0.4, 0.3, 0.2, 0.1, 0.05]] * 2)
    nothing = _csr([[0] * 6] * 2)
    table = np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]], dtype=np.float32)
    prior = RegionalPrior(table, np.array([0, 1]), 0.5)
    user_ids = np.array(["north-user", "south-user"], dtype=object)
    records = list(
        families.personal(
            user_ids, np.array([1, 0]), confidence, nothing, IDENTITY, prior, CATALOGUE, PARAMS
        )
    )
    # south-user: s3 = 0.2 / 0.5 + 0.5 x 1 = 0.9 passes s1 (0.8, album of s0 anyway) and s2.
    # Records come grouped by region (a block's prior is then one row), not in ``users`` order.
    assert records == [
        {"user_id": "north-user", "ids": ["s0", "s2", "s3"], "scores": [1.0, 0.6, 0.4]},
        {"user_id": "south-user", "ids": ["s0", "s3", "s2"], "scores": [1.0, 0.9, 0.6]},
    ]


# artists ----------------------------------------------------------------------------------------


def test_artists_for_users_leaves_out_followed_artists_and_has_no_caps():
    factors = Factors(np.eye(3, dtype=np.float32), np.ones(3, dtype=np.float32))
    confidence = _csr([[0.2, 0.8, 0.4], [0.5, 0.25, 1.0], [1.0, 0.0, 0.0]])
    follows = _csr([[0, 1, 0], [0, 0, 0], [1, 1, 1]])
    prior = RegionalPrior(np.zeros((1, 3), dtype=np.float32), np.zeros(3, dtype=np.int64), 0.0)
    records = list(
        families.artists_for_users(
            np.array(["u0", "u1", "u2"], dtype=object),
            np.array([0, 1, 2]),
            confidence,
            follows,
            factors,
            prior,
            CATALOGUE,
            BatchParams(n=2),
        )
    )
    assert records == [
        {"user_id": "u0", "ids": ["a2", "a0"], "scores": [0.5, 0.25]},
        {"user_id": "u1", "ids": ["a2", "a0"], "scores": [1.0, 0.5]},
    ]


# similar ----------------------------------------------------------------------------------------

# s0 (1, 0), s1 (0.8, 0.6), s2 (0, 1), s3 (-0.6, -0.8): cosines are dot products.
PLANE = cosine.of_factors(
    Factors(
        np.array([[1, 0], [0.8, 0.6], [0, 1], [-0.6, -0.8]], dtype=np.float32),
        np.ones(2, dtype=np.float32),
    )
)
FOUR = np.array(["s0", "s1", "s2", "s3"], dtype=object)


def test_similar_ranks_by_cosine_without_the_seed_itself():
    everything = np.ones(4, dtype=bool)
    records = list(families.similar("item_id", FOUR, np.array([0, 2]), PLANE, everything, 10))
    assert records == [
        {"item_id": "s0", "ids": ["s1", "s2", "s3"], "scores": [0.8, 0.0, -0.6]},
        {"item_id": "s2", "ids": ["s1", "s0", "s3"], "scores": [0.6, 0.0, -0.8]},
    ]


def test_similar_keeps_to_allowed_columns_caps_and_n():
    allowed = np.array([True, True, False, True])
    [record] = families.similar("artist_id", FOUR, np.array([0]), PLANE, allowed, 10)
    assert record == {"artist_id": "s0", "ids": ["s1", "s3"], "scores": [0.8, -0.6]}
    group = np.array([0, 0, 1, 1])
    [record] = families.similar(
        "item_id", FOUR, np.array([0]), PLANE, np.ones(4, bool), 10, [(group, 1)]
    )
    assert record["ids"] == ["s1", "s2"]
    [record] = families.similar("item_id", FOUR, np.array([1]), PLANE, np.ones(4, bool), 1)
    assert record == {"item_id": "s1", "ids": ["s0"], "scores": [0.8]}
    nothing = np.zeros(4, dtype=bool)
    assert list(families.similar("item_id", FOUR, np.array([0, 1]), PLANE, nothing, 10)) == []


# regional ---------------------------------------------------------------------------------------


def test_regional_charts_per_region_nationally_and_per_genre():
    # plays in the chart window: u0 (north) s0 x5, s3 x2; u1 (south) s2 x3, s3 x2, s4 x6;
    # u2 (south) s1 x1, s5 x6. Per region (s0..s5): north 5 0 0 2 0 0, south 0 1 3 2 6 6,
    # nationally 5 1 3 4 6 6. Artists (a0 a1 a2): north 5 2 0, south 4 8 6, national 9 10 6.
    # Genre shares (Jazz, Rock): north 5/7 2/7, south 10/18 8/18, national 15/25 10/25.
    counts = _csr([[5, 0, 0, 2, 0, 0], [0, 0, 3, 2, 6, 0], [0, 1, 0, 0, 0, 6]])
    records = list(
        families.regional(
            counts,
            np.array([0, 1, 1]),
            np.array(["north", "south"], dtype=object),
            CATALOGUE,
            PARAMS,
        )
    )

    def chart(ids: list[str], scores: list[float]) -> dict[str, list]:
        return {"ids": ids, "scores": scores}

    empty = chart([], [])
    assert records == [
        {
            "region": "north",
            "genre": None,
            "songs": chart(["s0", "s3"], [5.0, 2.0]),
            "artists": chart(["a0", "a1"], [5.0, 2.0]),
            "stations": chart(["st0", "st1"], [0.714286, 0.428571]),
        },
        # s4 (unavailable) and s5 (untitled) are not charted; s1 is a0's third song
        {
            "region": "south",
            "genre": None,
            "songs": chart(["s2", "s3", "s1"], [3.0, 2.0, 1.0]),
            "artists": chart(["a1", "a2", "a0"], [8.0, 6.0, 4.0]),
            "stations": chart(["st2", "st0"], [0.833333, 0.555556]),
        },
        {
            "region": "*",
            "genre": None,
            "songs": chart(["s0", "s3", "s2"], [5.0, 4.0, 3.0]),
            "artists": chart(["a1", "a0", "a2"], [10.0, 9.0, 6.0]),
            "stations": chart(["st0"], [0.6]),
        },
        {
            "region": "north",
            "genre": "Jazz",
            "songs": chart(["s0"], [5.0]),
            "artists": chart(["a0"], [5.0]),
            "stations": chart(["st0"], [0.714286]),
        },
        {
            "region": "south",
            "genre": "Jazz",
            "songs": chart(["s2", "s1"], [3.0, 1.0]),
            "artists": chart(["a2", "a0"], [6.0, 4.0]),
            "stations": chart(["st2", "st0"], [0.833333, 0.555556]),
        },
        {
            "region": "*",
            "genre": "Jazz",
            "songs": chart(["s0", "s2"], [5.0, 3.0]),
            "artists": chart(["a0", "a2"], [9.0, 6.0]),
            "stations": chart(["st0"], [0.6]),
        },
        {
            "region": "north",
            "genre": "Rock",
            "songs": chart(["s3"], [2.0]),
            "artists": chart(["a1"], [2.0]),
            "stations": chart(["st1"], [0.428571]),
        },
        {
            "region": "south",
            "genre": "Rock",
            "songs": chart(["s3"], [2.0]),
            "artists": chart(["a1"], [8.0]),
            "stations": empty,
        },
        {
            "region": "*",
            "genre": "Rock",
            "songs": chart(["s3"], [4.0]),
            "artists": chart(["a1"], [10.0]),
            "stations": empty,
        },
    ]


def test_a_region_without_plays_has_empty_charts_and_national_stations_only():
    counts = _csr([[0, 0, 1, 0, 0, 0]])
    records = list(
        families.regional(
            counts,
            np.array([0]),
            np.array(["north", "east"], dtype=object),
            CATALOGUE,
            BatchParams(n=10),
        )
    )
    east = records[1]
    assert east["region"] == "east"
    assert east["songs"] == {"ids": [], "scores": []}
    assert east["artists"] == {"ids": [], "scores": []}
    assert east["stations"] == {"ids": ["st0"], "scores": [0.0]}  # a zero share still ranks


def test_a_local_station_is_boosted_over_a_national_one():
    share = np.array([0.5, 0.4])  # Jazz, Rock
    # st0 national Jazz 0.5; st1 north Rock 0.4 x 1.5 = 0.6; st2 is south's only
    assert families._stations(CATALOGUE, "north", share, None, 10) == {
        "ids": ["st1", "st0"],
        "scores": [0.6, 0.5],
    }
    assert families._stations(CATALOGUE, "north", share, None, 1)["ids"] == ["st1"]
    assert families._stations(CATALOGUE, "north", share, 1, 10) == {"ids": ["st1"], "scores": [0.6]}
    assert families.LOCAL_STATION_BOOST == 1.5


# catalog ----------------------------------------------------------------------------------------


def test_catalog_lists_every_song_artist_and_station():
    records = list(families.catalog(CATALOGUE))
    assert len(records) == 6 + 3 + 3
    assert records[0] == {
        "kind": "item",
        "id": "s0",
        "title": "S0",
        "artist_id": "a0",
        "album_id": "b0",
        "genre": "Jazz",
        "available": True,
    }
    assert records[4] == {
        "kind": "item",
        "id": "s4",
        "title": "S4",
        "artist_id": "a1",
        "album_id": None,
        "genre": "Rock",
        "available": False,
    }
    assert records[3]["album_id"] == "b1"
    assert type(records[4]["available"]) is bool
    assert records[6] == {
        "kind": "artist",
        "id": "a0",
        "name": "Ann",
        "genre": "Jazz",
        "region": "north",
    }
    assert records[7]["genre"] == "Rock"
    assert records[9] == {
        "kind": "station",
        "id": "st0",
        "name": "Jazz FM",
        "genre": "Jazz",
        "region": None,
    }
    assert records[11] == {
        "kind": "station",
        "id": "st2",
        "name": "South Jazz",
        "genre": "Jazz",
        "region": "south",
    }


def test_the_vocabulary_names_every_genre_and_every_charted_region_but_the_nation():
    regions = np.array(["south", "north", families.NATIONAL, "south"], dtype=object)
    assert families.vocabulary(CATALOGUE, regions) == {
        "kind": "vocabulary",
        "id": "onboarding",
        "genres": ["Jazz", "Rock"],
        "regions": ["north", "south"],
    }


# blocks -----------------------------------------------------------------------------------------


def test_song_caps_are_the_album_then_the_artist_cap():
    caps = families.song_caps(CATALOGUE, BatchParams(max_per_artist=3, max_per_album=2))
    assert [cap for _, cap in caps] == [2, 3]
    assert caps[0][0] is CATALOGUE.item_album
    assert caps[1][0] is CATALOGUE.item_artist


@pytest.mark.parametrize(
    ("columns", "rows"),
    [(0, 50_000_000), (1, 50_000_000), (3, 16_666_666), (50_000_000, 1), (80_000_000, 1)],
)
def test_a_block_stays_near_fifty_million_scores(columns, rows):
    assert families.block_rows(columns) == rows


def test_blocks_come_back_in_order_each_ranked_once():
    scores = np.array(
        [[3.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 1.0], [1.0, 3.0, 2.0], [3.0, 2.0, 1.0]]
    )
    calls: list[list[int]] = []

    def score(block: np.ndarray) -> np.ndarray:
        calls.append(block.tolist())
        return scores[block]

    rows = np.arange(5)
    # 25,000,001 columns: one row per block, so five blocks on two threads
    out = list(families._blocks(rows, 25_000_001, score, 2))
    assert [block.tolist() for block, _, _ in out] == [[0], [1], [2], [3], [4]]
    assert sorted(calls) == [[0], [1], [2], [3], [4]]
    for row, (_, columns, values) in enumerate(out):
        want_columns, want_values = top_n(scores[[row]], 2)
        assert columns.tolist() == want_columns.tolist()
        assert values.tolist() == want_values.tolist()
    [(block, columns, _)] = list(families._blocks(rows, 3, score, 1))  # all rows in one block
    assert block.tolist() == [0, 1, 2, 3, 4]
    assert columns.tolist() == [[0], [2], [1], [1], [0]]


# excluded candidates sort last ---------------------------------------------------------------

#  s0..s4: one artist each (a0..a4), Jazz, unavailable; s5 (a5, Jazz) and s6 (a6, Rock)
#  available. a7 and Pop have no song. Stations: st0 (Jazz) and st1 (Rock), both national.
WIDE = Catalogue(
    item_ids=np.array([f"s{i}" for i in range(7)], dtype=object),
    item_titles=np.array([f"S{i}" for i in range(7)], dtype=object),
    item_artist=np.arange(7),
    item_album=np.full(7, -1),
    album_ids=np.array([], dtype=object),
    item_genre=np.array([0, 0, 0, 0, 0, 0, 1]),
    item_available=np.array([False] * 5 + [True, True]),
    artist_ids=np.array([f"a{i}" for i in range(8)], dtype=object),
    artist_names=np.array([f"A{i}" for i in range(8)], dtype=object),
    artist_genre=np.array([0, 0, 0, 0, 0, 0, 1, 2]),
    artist_region=np.array(["north"] * 8, dtype=object),
    station_ids=np.array(["st0", "st1"], dtype=object),
    station_names=np.array(["Jazz", "Rock"], dtype=object),
    station_genre=np.array([0, 1]),
    station_region=np.array([None, None], dtype=object),
    genres=np.array(["Jazz", "Rock", "Pop"], dtype=object),
)
ONE = BatchParams(n=1)  # caps: songs are picked from 5 candidates


def test_personal_finds_the_eligible_song_behind_five_ineligible_ones():
    confidence = _csr([[1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.25]])
    prior = RegionalPrior(np.zeros((1, 7), dtype=np.float32), np.zeros(1, dtype=np.int64), 0.0)
    records = list(
        families.personal(
            np.array(["u"], dtype=object),
            np.array([0]),
            confidence,
            _csr([[0] * 7]),
            Factors(np.eye(7, dtype=np.float32), np.ones(7, dtype=np.float32)),
            prior,
            WIDE,
            ONE,
        )
    )
    assert records == [{"user_id": "u", "ids": ["s5"], "scores": [0.5]}]


def test_similar_skips_a_better_column_that_is_not_allowed():
    allowed = np.array([True, False, True, True])  # s1, the nearest to s0, is not allowed
    records = list(families.similar("item_id", FOUR, np.array([0]), PLANE, allowed, 1))
    assert records == [{"item_id": "s0", "ids": ["s2"], "scores": [0.0]}]


def test_artists_for_users_add_the_regional_prior():
    factors = Factors(np.eye(3, dtype=np.float32), np.ones(3, dtype=np.float32))
    prior = RegionalPrior(
        np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32), np.array([1, 0]), 0.5
    )
    records = list(
        families.artists_for_users(
            np.array(["u0", "u1"], dtype=object),
            np.array([1]),  # u1, of region 0
            _csr([[0.0, 0.0, 0.0], [0.2, 0.8, 0.4]]),
            _csr([[0, 0, 0], [0, 1, 0]]),
            factors,
            prior,
            CATALOGUE,
            BatchParams(n=2),
        )
    )
    # a0: 0.2 / 0.8 + 0.5 x 1 = 0.75; a2: 0.4 / 0.8 = 0.5; a1 is followed
    assert records == [{"user_id": "u1", "ids": ["a0", "a2"], "scores": [0.75, 0.5]}]


def test_regional_charts_leave_out_what_was_not_played_or_is_not_eligible():
    # u0 (north) played s5 twice and s6 once; u1 (south) played s5 once
    counts = _csr([[0, 0, 0, 0, 0, 2, 1], [0, 0, 0, 0, 0, 1, 0]])
    records = list(
        families.regional(
            counts, np.array([0, 1]), np.array(["north", "south"], dtype=object), WIDE, ONE
        )
    )

    def chart(ids: list[str], scores: list[float]) -> dict[str, list]:
        return {"ids": ids, "scores": scores}

    empty = chart([], [])
    got = [(r["region"], r["genre"], r["songs"], r["artists"], r["stations"]) for r in records]
    assert got == [
        ("north", None, chart(["s5"], [2.0]), chart(["a5"], [2.0]), chart(["st0"], [0.666667])),
        ("south", None, chart(["s5"], [1.0]), chart(["a5"], [1.0]), chart(["st0"], [1.0])),
        ("*", None, chart(["s5"], [3.0]), chart(["a5"], [3.0]), chart(["st0"], [0.75])),
        ("north", "Jazz", chart(["s5"], [2.0]), chart(["a5"], [2.0]), chart(["st0"], [0.666667])),
        ("south", "Jazz", chart(["s5"], [1.0]), chart(["a5"], [1.0]), chart(["st0"], [1.0])),
        ("*", "Jazz", chart(["s5"], [3.0]), chart(["a5"], [3.0]), chart(["st0"], [0.75])),
        ("north", "Rock", chart(["s6"], [1.0]), chart(["a6"], [1.0]), chart(["st1"], [0.333333])),
        ("south", "Rock", empty, empty, chart(["st1"], [0.0])),
        ("*", "Rock", chart(["s6"], [1.0]), chart(["a6"], [1.0]), chart(["st1"], [0.25])),
        ("north", "Pop", empty, empty, empty),
        ("south", "Pop", empty, empty, empty),
        ("*", "Pop", empty, empty, empty),
    ]


def test_regional_charts_find_the_eligible_song_behind_five_played_ineligible_ones():
    counts = _csr([[5, 4, 3, 2, 2, 1, 0]])  # s0..s4 are unavailable, however often played
    [chart, *_] = families.regional(
        counts, np.array([0]), np.array(["east"], dtype=object), WIDE, ONE
    )
    assert (chart["region"], chart["genre"]) == ("east", None)
    assert chart["songs"] == {"ids": ["s5"], "scores": [1.0]}
    assert chart["artists"] == {"ids": ["a0"], "scores": [5.0]}  # artists count every play
