"""The list families of docs/batch-format.md, computed block by block.

Each function yields records (plain dicts, ready for JSON) and applies the business rules:
only eligible songs (available, titled), at most ``max_per_artist`` songs of an artist and
``max_per_album`` of an album per song list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.batch.content import ContentModel
from training.batch.cores import THREADS
from training.batch.factors import Factors
from training.batch.listening import Catalogue
from training.batch.params import BatchParams
from training.batch.popularity import RegionalPrior, by_region
from training.batch.rank import top_n

Record = dict[str, Any]
BLOCK_CELLS = 50_000_000  # scores per block (rows x columns): 200 MB of float32


def block_rows(columns: int) -> int:
    """How many lists to score at once so a block stays near :data:`BLOCK_CELLS`."""
    return max(1, BLOCK_CELLS // max(1, columns))


def song_caps(catalogue: Catalogue, params: BatchParams) -> list[tuple[np.ndarray, int]]:
    return [
        (catalogue.item_album, params.max_per_album),
        (catalogue.item_artist, params.max_per_artist),
    ]


def _ranked(ids: np.ndarray, columns: np.ndarray, scores: np.ndarray) -> dict[str, list[Any]]:
    real = columns >= 0
    return {
        "ids": ids[columns[real]].tolist(),
        "scores": np.round(scores[real].astype(np.float64), 6).tolist(),
    }


def _mask_rows(scores: np.ndarray, exclude: sp.csr_matrix) -> None:
    """Set ``-inf`` where ``exclude`` (a block of the same shape) has an entry."""
    rows, cols = exclude.nonzero()
    scores[rows, cols] = -np.inf


def _blocks(
    rows: np.ndarray,
    columns: int,
    score: Callable[[np.ndarray], np.ndarray],
    n: int,
    caps: Sequence[tuple[np.ndarray, int]] = (),
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(block, chosen columns, their scores)`` for consecutive blocks of ``rows``, in order.

    Blocks are scored and ranked on :data:`THREADS` threads (numpy's matrix products and
    partitions release the GIL), so writing one block's records overlaps with ranking the next.
    """

    def rank(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (block, *top_n(score(block), n, caps))

    step = block_rows(columns)
    blocks = [rows[start : start + step] for start in range(0, len(rows), step)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        pending = [pool.submit(rank, b) for b in blocks[:THREADS]]
        for i in range(len(blocks)):
            done = pending.pop(0)
            if i + THREADS < len(blocks):
                pending.append(pool.submit(rank, blocks[i + THREADS]))
            yield done.result()


def personal(
    user_ids: np.ndarray,
    users: np.ndarray,
    confidence: sp.csr_matrix,
    played: sp.csr_matrix,
    factors: Factors,
    prior: RegionalPrior,
    catalogue: Catalogue,
    params: BatchParams,
    content: ContentModel | None = None,
) -> Iterator[Record]:
    """`personal`: songs for each of ``users``, none they have played, business rules applied;
    with ``content``, cold songs (new ones too) scored by the listener's affinity to their
    artist, genre and region as well (:mod:`training.batch.content`)."""
    offsets = prior.offsets(excluded=~catalogue.item_eligible)  # ineligible songs: -inf

    def score(block: np.ndarray) -> np.ndarray:
        rows = confidence[block]
        scores = factors.scaled(rows)
        prior.add_to(scores, block, offsets)
        _mask_rows(scores, played[block])
        if content is not None:
            content.add_to(scores, rows, prior.user_region[block])
        return scores

    caps = song_caps(catalogue, params)
    ordered = prior.by_region_order(users)  # a block's listeners share a region or two
    for block, columns, values in _blocks(ordered, offsets.shape[1], score, params.n, caps):
        for row, user in enumerate(block):
            ranked = _ranked(catalogue.item_ids, columns[row], values[row])
            if ranked["ids"]:
                yield {"user_id": user_ids[user], **ranked}


def artists_for_users(
    user_ids: np.ndarray,
    users: np.ndarray,
    confidence: sp.csr_matrix,
    follows: sp.csr_matrix,
    factors: Factors,
    prior: RegionalPrior,
    catalogue: Catalogue,
    params: BatchParams,
) -> Iterator[Record]:
    """`artists`: artists for each of ``users``, none they already follow."""

    offsets = prior.offsets()

    def score(block: np.ndarray) -> np.ndarray:
        scores = factors.scaled(confidence[block])
        prior.add_to(scores, block, offsets)
        _mask_rows(scores, follows[block])
        return scores

    ordered = prior.by_region_order(users)
    for block, columns, values in _blocks(ordered, len(catalogue.artist_ids), score, params.n):
        for row, user in enumerate(block):
            ranked = _ranked(catalogue.artist_ids, columns[row], values[row])
            if ranked["ids"]:
                yield {"user_id": user_ids[user], **ranked}


def similar(
    key: str,
    ids: np.ndarray,
    seeds: np.ndarray,
    similarity: Callable[[np.ndarray], np.ndarray],
    allowed: np.ndarray,
    n: int,
    caps: Sequence[tuple[np.ndarray, int]] = (),
) -> Iterator[Record]:
    """`similar-items` / `similar-artists`: the ``allowed`` columns most similar to each seed
    (``similarity``, a scorer of :mod:`training.batch.cosine`; -inf: never listed), never the
    seed itself."""

    def score(block: np.ndarray) -> np.ndarray:
        scores = np.asarray(similarity(block), dtype=np.float32)  # a fresh block: no copy
        scores[:, ~allowed] = -np.inf
        scores[np.arange(len(block)), block] = -np.inf
        return scores

    for block, columns, values in _blocks(seeds, len(ids), score, n, caps):
        for row, seed in enumerate(block):
            ranked = _ranked(ids, columns[row], values[row])
            if ranked["ids"]:
                yield {key: ids[seed], **ranked}


NATIONAL = "*"


def regional(
    chart_counts: sp.csr_matrix,
    user_region: np.ndarray,
    regions: np.ndarray,
    catalogue: Catalogue,
    params: BatchParams,
) -> Iterator[Record]:
    """`regional`: per region (and nationally), overall and per genre, the most played songs and
    artists of the chart window and the stations of the region's favourite genres."""
    song_plays = by_region(chart_counts, user_region, len(regions))
    song_plays = np.vstack([song_plays, song_plays.sum(axis=0, keepdims=True)])  # national last
    names = [*regions.tolist(), NATIONAL]
    n_artists, n_genres = len(catalogue.artist_ids), len(catalogue.genres)
    artist_plays = np.zeros((len(names), n_artists))
    genre_plays = np.zeros((len(names), n_genres))
    for region in range(len(names)):
        artist_plays[region] = np.bincount(
            catalogue.item_artist, weights=song_plays[region], minlength=n_artists
        )
        genre_plays[region] = np.bincount(
            catalogue.item_genre, weights=song_plays[region], minlength=n_genres
        )
    song_scores = np.where(catalogue.item_eligible, song_plays, -np.inf)
    song_scores[song_plays <= 0] = -np.inf
    artist_scores = np.where(artist_plays > 0, artist_plays, -np.inf)
    share = genre_plays / np.maximum(genre_plays.sum(axis=1, keepdims=True), 1.0)
    caps = song_caps(catalogue, params)
    for genre in [None, *range(n_genres)]:
        songs, artists = song_scores.copy(), artist_scores.copy()
        if genre is not None:
            songs[:, catalogue.item_genre != genre] = -np.inf
            artists[:, catalogue.artist_genre != genre] = -np.inf
        song_cols, song_vals = top_n(songs, params.n, caps)
        artist_cols, artist_vals = top_n(artists, params.n)
        for region, name in enumerate(names):
            yield {
                "region": name,
                "genre": None if genre is None else catalogue.genres[genre],
                "songs": _ranked(catalogue.item_ids, song_cols[region], song_vals[region]),
                "artists": _ranked(catalogue.artist_ids, artist_cols[region], artist_vals[region]),
                "stations": _stations(catalogue, name, share[region], genre, params.n),
            }


LOCAL_STATION_BOOST = 1.5  # a station of the listener's own region beats a national one


def _stations(
    catalogue: Catalogue, region: str, share: np.ndarray, genre: int | None, n: int
) -> dict[str, list[Any]]:
    """Stations of the region (and national ones) ranked by their genre's share of its plays."""
    station_region = catalogue.station_region
    national = np.array([r is None for r in station_region], dtype=bool)
    local = station_region == region
    scores = share[catalogue.station_genre] * np.where(local, LOCAL_STATION_BOOST, 1.0)
    scores = np.where(local | national, scores, -np.inf)
    if genre is not None:
        scores = np.where(catalogue.station_genre == genre, scores + 1e-9, -np.inf)
    columns, values = top_n(scores[np.newaxis, :], n)
    return _ranked(catalogue.station_ids, columns[0], values[0])


VOCABULARY_KIND, VOCABULARY_ID = "vocabulary", "onboarding"


def vocabulary(catalogue: Catalogue, regions: np.ndarray) -> Record:
    """The `catalog` family's one `vocabulary` record: the names the API matches onboarding
    answers against, i.e. every genre (each has charts) and every region with a regional chart
    (the national ``*`` is left out: it is no listener's region)."""
    return {
        "kind": VOCABULARY_KIND,
        "id": VOCABULARY_ID,
        "genres": [str(g) for g in catalogue.genres],
        "regions": sorted({str(r) for r in regions if r is not None and r != NATIONAL}),
    }


def catalog(catalogue: Catalogue) -> Iterator[Record]:
    """`catalog`: every song (available or not), artist and station."""
    album_ids = catalogue.album_ids
    for i, item_id in enumerate(catalogue.item_ids):
        album = int(catalogue.item_album[i])
        yield {
            "kind": "item",
            "id": item_id,
            "title": catalogue.item_titles[i],
            "artist_id": catalogue.artist_ids[catalogue.item_artist[i]],
            "album_id": album_ids[album] if album >= 0 else None,
            "genre": catalogue.genres[catalogue.item_genre[i]],
            "available": bool(catalogue.item_available[i]),
        }
    for i, artist_id in enumerate(catalogue.artist_ids):
        yield {
            "kind": "artist",
            "id": artist_id,
            "name": catalogue.artist_names[i],
            "genre": catalogue.genres[catalogue.artist_genre[i]],
            "region": catalogue.artist_region[i],
        }
    for i, station_id in enumerate(catalogue.station_ids):
        yield {
            "kind": "station",
            "id": station_id,
            "name": catalogue.station_names[i],
            "genre": catalogue.genres[catalogue.station_genre[i]],
            "region": catalogue.station_region[i],
        }
