"""The next-play evaluation of the similar lists: transitions, hits, the methods' order on a
hand-made matrix, the served lists reproduced, and the bench end to end on the small world."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from bench import similar_items
from bench.report import markers
from training.batch import factors as svd
from training.batch import families
from training.batch import similar_eval as se
from training.batch.listening import LIKE, PLAY, SKIP, Catalogue, Listening
from training.batch.params import BatchParams

MINUTE = 60_000


def _catalogue(artist: list[int], genre: list[int]) -> Catalogue:
    n, n_artists = len(artist), max(artist) + 1
    strings = np.array([f"s{i}" for i in range(n)], dtype=object)
    return Catalogue(
        item_ids=strings,
        item_titles=strings,
        item_artist=np.array(artist),
        item_album=np.full(n, -1),
        album_ids=np.array([], dtype=object),
        item_genre=np.array(genre),
        item_available=np.ones(n, dtype=bool),
        artist_ids=np.array([f"a{i}" for i in range(n_artists)], dtype=object),
        artist_names=np.array([f"A{i}" for i in range(n_artists)], dtype=object),
        artist_genre=np.zeros(n_artists, dtype=np.int64),
        artist_region=np.array(["r"] * n_artists, dtype=object),
        station_ids=np.array([], dtype=object),
        station_names=np.array([], dtype=object),
        station_genre=np.array([], dtype=np.int64),
        station_region=np.array([], dtype=object),
        genres=np.array(["g0", "g1"], dtype=object),
    )


def _listening(events: list[tuple[int, int, int, int]], catalogue: Catalogue) -> Listening:
    """(user, song, minute, kind) rows; users are 0..max."""
    user, item, minute, kind = (np.array(c) for c in zip(*events, strict=True))
    n_users = int(user.max()) + 1
    return Listening(
        user_ids=np.array([f"u{i}" for i in range(n_users)], dtype=object),
        user_region=np.zeros(n_users, dtype=np.int64),
        regions=np.array(["r"], dtype=object),
        catalogue=catalogue,
        event_user=user.astype(np.int32),
        event_item=item.astype(np.int32),
        event_ts=(minute * MINUTE).astype(np.int64),
        event_kind=kind.astype(np.int8),
        follows=sp.csr_matrix((n_users, len(catalogue.artist_ids)), dtype=np.float32),
    )


def test_transitions_are_consecutive_different_plays_within_the_gap():
    catalogue = _catalogue([0, 0, 1, 1], [0, 0, 1, 1])
    events = [
        (0, 0, 0, PLAY), (0, 0, 1, LIKE), (0, 3, 2, SKIP), (0, 1, 4, PLAY),  # 0 -> 1 over a skip
        (0, 1, 8, PLAY),  # a repeat is no transition
        (0, 2, 100, PLAY),  # a new session: no transition from 1
        (1, 2, 5, PLAY), (1, 3, 6, PLAY),  # another listener's 2 -> 3
    ]  # fmt: skip
    listening = _listening(events, catalogue)
    found = se.transitions(listening, None, None, gap_ms=30 * MINUTE)
    assert list(zip(found.listener, found.seed, found.target, strict=True)) == [
        (0, 0, 1),
        (1, 2, 3),
    ]
    anygap = se.transitions(listening, None, None, gap_ms=None)
    assert (0, 1, 2) in set(zip(anygap.listener, anygap.seed, anygap.target, strict=True))
    later = se.transitions(listening, 5 * MINUTE, None, gap_ms=None)
    assert list(zip(later.seed, later.target, strict=True)) == [(1, 2), (2, 3)]
    artists = se.transitions(listening, None, None, None, catalogue.item_artist)
    # listener 0's artists 0 -> 0 -> 0 -> 1 (any gap here): one change; listener 1 stays on 1
    assert list(zip(artists.listener, artists.seed, artists.target, strict=True)) == [(0, 0, 1)]


def test_a_known_next_play_is_a_hit_at_its_rank():
    seeds = np.array([3, 7])
    lists = np.array([[5, 6, *range(10, 28)], [8, -1, *([-1] * 18)]])
    truth = se.Transitions(
        listener=np.array([0, 0, 1, 2]),
        seed=np.array([3, 3, 7, 3]),
        target=np.array([6, 27, 8, 99]),  # rank 2, rank 20, rank 1, absent
    )
    position = se.positions(lists, seeds, truth)
    np.testing.assert_array_equal(position, [1, 19, 0, -1])
    listeners, values = se.per_listener(position, truth)
    np.testing.assert_array_equal(listeners, [0, 1, 2])
    np.testing.assert_allclose(values["hit@10"], [0.5, 1.0, 0.0])
    np.testing.assert_allclose(values["hit@20"], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(values["mrr@20"], [(1 / 2 + 1 / 20) / 2, 1.0, 0.0])


def _planted() -> tuple[Listening, se.Family]:
    """Ten songs: listeners of song 0 also play song 1 (another artist, the other genre) and
    always right after it; songs 2 and 3 share song 0's artist; song 9 is played by everyone."""
    artist = [0, 1, 0, 0, 2, 2, 3, 3, 4, 4]
    genre = [0, 1, 0, 0, 0, 0, 1, 1, 1, 1]
    catalogue = _catalogue(artist, genre)
    rng = np.random.default_rng(3)
    events = []
    for user in range(60):
        minute = user * 1000
        if user < 30:  # fans of 0 -> 1
            events += [(user, 0, minute, PLAY), (user, 1, minute + 4, PLAY)]
        songs = rng.choice([2, 3, 4, 5, 6, 7, 8], size=3, replace=False)
        events += [(user, int(s), minute + 100 + 4 * i, PLAY) for i, s in enumerate(songs)]
        events += [(user, 9, minute + 200, PLAY)]
    listening = _listening(events, catalogue)
    params = BatchParams(min_item_plays=1, max_per_artist=10, factors=3, artist_factors=2)
    return listening, se.family(listening, "similar-items", listening.max_ts + 1, params)


def test_methods_rank_the_planted_neighbour_as_expected():
    _, fam = _planted()
    seeds = np.array([0])
    first = {
        method.name: se.lists_of(method, dict(method.grid[0]), fam, seeds)[0]
        for method in se.methods_for(fam)
    }
    for name in ("item-knn", "sequential", "lift"):
        assert first[name][0] == 1, name  # the co-listened song first
    assert set(first["content"][:2]) == {2, 3}  # the seed's artist first
    assert first["popularity"][0] == 9
    assert first["cooccurrence"][0] in (1, 9)  # raw counts: the everyone-song competes
    for lists in first.values():
        assert 0 not in lists  # never the seed


def test_the_served_lists_are_families_similar_and_svd_cosine_reproduces_them():
    _, fam = _planted()
    seeds = np.arange(fam.n_columns)
    served = se.served(fam, seeds, n=5)
    records = list(
        families.similar(
            "id", np.arange(10), seeds, se.served_similarity(fam), fam.allowed, 5, fam.caps
        )
    )
    for record in records:
        assert served[record["id"]][: len(record["ids"])].tolist() == record["ids"]
    ours = se.ranked(fam, se.METHODS[1].fit(fam, rank=fam.rank), seeds, n=5)
    np.testing.assert_array_equal(ours, served)
    assert isinstance(fam.factors, svd.Factors)


def test_compare_prefers_the_methods_that_know_the_next_play():
    listening, _ = _planted()
    # the same habits again 200,000 minutes later (139 days): those are the held-out days
    early = [
        (int(u), int(i), int(t) // MINUTE, int(k))
        for u, i, t, k in zip(
            listening.event_user, listening.event_item, listening.event_ts,
            listening.event_kind, strict=True,
        )
    ]  # fmt: skip
    late = [(u, i, t + 200_000, k) for u, i, t, k in early]
    both = _listening(early + late, listening.catalogue)
    params = BatchParams(min_item_plays=1, max_per_artist=10, factors=3, artist_factors=2,
                         holdout_days=60)  # fmt: skip
    result = se.compare(both, "similar-items", params, gap_ms=30 * MINUTE, resamples=50).as_dict()
    assert result["transitions"] == len(se.transitions(listening, None, None, 30 * MINUTE))
    methods = result["methods"]
    assert next(iter(methods)) == se.SERVED
    assert methods["sequential"]["mrr@20"] >= methods["popularity"]["mrr@20"]
    assert methods[se.SERVED]["intervals"]["hit@20"]["difference"] == [0.0, 0.0, 0.0]
    for figures in methods.values():
        low, high = figures["intervals"]["hit@20"]["mean"][1:]
        assert low <= figures["hit@20"] <= high
        assert figures["hit@10"] <= figures["hit@20"]


DOC = """# Models

## Batch personalisation

<!-- bench:batch-baselines -->
### Strong baselines
<!-- /bench:batch-baselines -->

### Batch gate

gate
"""


@pytest.mark.slow
def test_the_bench_runs_on_the_small_world_and_writes_its_section(
    small_world: Path, tmp_path: Path
):
    doc, image, out = tmp_path / "model.md", tmp_path / "plot.png", tmp_path / "out.json"
    doc.write_text(DOC)
    code = similar_items.main(
        ["--world", str(small_world), "--no-movielens", "--holdout-days", "28",
         "--resamples", "100", "--json", str(out), "--doc", str(doc), "--plot", str(image),
         "--no-progress"]
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out.read_text())
    (dataset,) = payload["datasets"]
    songs, artists = dataset["families"]
    assert songs["family"] == "similar-items"
    assert artists["family"] == "similar-artists"
    assert songs["transitions"] > 100
    assert "content" in songs["methods"]
    assert "content" not in artists["methods"]
    for result in (songs, artists):
        for figures in result["methods"].values():
            assert 0 <= figures["hit@10"] <= figures["hit@20"] <= 1
            assert 0 <= figures["mrr@20"] <= figures["hit@20"]
    text = doc.read_text()
    start, end = markers(similar_items.SECTION)
    assert text.index("<!-- /bench:batch-baselines -->") < text.index(start)
    assert text.index(end) < text.index("### Batch gate")
    assert "### Similar songs, measured" in text
    assert image.stat().st_size > 10_000
    assert "**Across the data sets.**" in text
    # the same section and plot from the JSON alone
    again = tmp_path / "again.md"
    again.write_text(DOC)
    code = similar_items.main(
        ["--render", str(out), "--doc", str(again), "--plot", str(tmp_path / "again.png")]
    )
    assert code == 0
    assert again.read_text() == text
    # a second run replaces the section rather than adding one
    placed = similar_items.place(text, "### Similar songs, measured\n\nnew")
    assert placed.count(start) == 1
    assert "new" in placed


def test_the_served_similar_artists_are_item_knn_on_log_plays():
    listening, _ = _planted()
    params = BatchParams(min_item_plays=1, max_per_artist=10, factors=3, artist_factors=2)
    fam = se.family(listening, "similar-artists", listening.max_ts + 1, params)
    seeds = np.flatnonzero(fam.seeds)
    knn = next(m for m in se.METHODS if m.name == "item-knn")
    ours = se.ranked(fam, knn.fit(fam, weighting="log"), seeds, n=3)
    np.testing.assert_array_equal(se.served(fam, seeds, n=3), ours)
    svd = next(m for m in se.METHODS if m.name == "svd-cosine")
    assert not np.array_equal(ours, se.ranked(fam, svd.fit(fam, rank=fam.rank), seeds, n=3))
