"""The dataset as arrays: ids mapped to row numbers, events as parallel arrays, sparse matrices.

Every table is read once; interactions are kept as compact arrays
(user and item row numbers, time in milliseconds, event code), from which the matrices of any
time range are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from tqdm import tqdm

from training.data.dataset_io import has_table, read_table

PLAY, SKIP, LIKE = 0, 1, 2
_EVENT_CODES = {"play": PLAY, "skip": SKIP, "like": LIKE}  # in code order
LIKE_WEIGHT = 2.0  # a like counts as much as two plays; skips count nothing
DAY_MS = 86_400_000


def _codes(values: pa.Array | pa.ChunkedArray, universe: pa.Array) -> np.ndarray:
    """Row numbers of ``values`` in ``universe`` (-1 where absent, or null)."""
    index = pc.index_in(values, value_set=universe)
    return np.asarray(pc.fill_null(index, -1), dtype=np.int32)


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(column.to_pylist(), dtype=object)


@dataclass
class Catalogue:
    """Songs, artists and stations with the attributes business rules and charts need."""

    item_ids: np.ndarray
    item_titles: np.ndarray  # str or None
    item_artist: np.ndarray  # artist row of each song
    item_album: np.ndarray  # album row of each song, -1 without an album
    album_ids: np.ndarray
    item_genre: np.ndarray  # genre row of each song
    item_available: np.ndarray  # bool
    artist_ids: np.ndarray
    artist_names: np.ndarray
    artist_genre: np.ndarray
    artist_region: np.ndarray  # region name
    station_ids: np.ndarray
    station_names: np.ndarray
    station_genre: np.ndarray
    station_region: np.ndarray  # region name or None (national)
    genres: np.ndarray  # genre names, indexed by the genre rows above

    @property
    def item_eligible(self) -> np.ndarray:
        """Songs a list may contain: available and with a non-empty title."""
        titled = np.array([bool(t and str(t).strip()) for t in self.item_titles], dtype=bool)
        return self.item_available & titled


@dataclass
class Listening:
    """Users, the catalogue, and every interaction as parallel arrays."""

    user_ids: np.ndarray
    user_region: np.ndarray  # region row of each user
    regions: np.ndarray  # region names
    catalogue: Catalogue
    event_user: np.ndarray  # int32
    event_item: np.ndarray  # int32
    event_ts: np.ndarray  # int64 milliseconds since the epoch
    event_kind: np.ndarray  # int8: PLAY, SKIP, LIKE
    follows: sp.csr_matrix  # users x artists, 1 where followed

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.catalogue.item_ids)

    @property
    def max_ts(self) -> int:
        return int(self.event_ts.max()) if len(self.event_ts) else 0

    def weights(self, start_ms: int | None = None, end_ms: int | None = None) -> sp.csr_matrix:
        """Users x songs: plays plus :data:`LIKE_WEIGHT` per like, within ``[start, end)``."""
        keep = self.event_kind != SKIP
        if start_ms is not None:
            keep &= self.event_ts >= start_ms
        if end_ms is not None:
            keep &= self.event_ts < end_ms
        values = np.where(self.event_kind[keep] == LIKE, LIKE_WEIGHT, 1.0).astype(np.float32)
        matrix = sp.csr_matrix(
            (values, (self.event_user[keep], self.event_item[keep])),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        matrix.sum_duplicates()
        return matrix

    def last_play_ms(self) -> np.ndarray:
        """Each user's latest event time (0 without any)."""
        last = np.zeros(self.n_users, dtype=np.int64)
        np.maximum.at(last, self.event_user, self.event_ts)
        return last


def _read_catalogue(data: Path) -> Catalogue:
    items = read_table(data, "items")
    artists = read_table(data, "artists")
    stations = read_table(data, "stations")
    genres = pc.unique(
        pa.chunked_array(
            [*items["genre"].chunks, *artists["genre"].chunks, *stations["genre"].chunks]
        )
    ).sort()
    artist_ids = artists["artist_id"].combine_chunks()
    album_ids = pc.unique(pc.drop_null(items["album_id"])).sort()
    return Catalogue(
        item_ids=_strings(items["item_id"]),
        item_titles=_strings(items["title"]),
        item_artist=_codes(items["artist_id"], artist_ids),
        item_album=_codes(items["album_id"], album_ids),
        album_ids=np.asarray(album_ids.to_pylist(), dtype=object),
        item_genre=_codes(items["genre"], genres),
        item_available=np.asarray(items["available"].to_numpy(zero_copy_only=False), dtype=bool),
        artist_ids=np.asarray(artist_ids.to_pylist(), dtype=object),
        artist_names=_strings(artists["name"]),
        artist_genre=_codes(artists["genre"], genres),
        artist_region=_strings(artists["region"]),
        station_ids=_strings(stations["station_id"]),
        station_names=_strings(stations["name"]),
        station_genre=_codes(stations["genre"], genres),
        station_region=_strings(stations["region"]),
        genres=np.asarray(genres.to_pylist(), dtype=object),
    )


def load(data: str | Path, progress: bool = True) -> Listening:
    """Read a dataset directory of the data contract into arrays."""
    data = Path(data)
    catalogue = _read_catalogue(data)
    users = read_table(data, "users", columns=["user_id", "region"])
    user_ids = users["user_id"].combine_chunks()
    regions = pc.unique(users["region"]).sort()
    item_ids = pa.array(catalogue.item_ids.tolist(), type=pa.string())
    columns = ["user_id", "item_id", "ts", "event"]
    with tqdm(total=5, desc="reading interactions", unit=" steps", disable=not progress) as bar:
        table = read_table(data, "interactions", columns=columns)
        bar.update()
        user = _codes(table["user_id"].combine_chunks(), user_ids)
        bar.update()
        item = _codes(table["item_id"].combine_chunks(), item_ids)
        bar.update()
        kind = _codes(table["event"].combine_chunks(), pa.array(list(_EVENT_CODES))).astype(np.int8)
        ts = table["ts"].combine_chunks().cast(pa.int64()).to_numpy()
        del table
        bar.update()
        keep = (user >= 0) & (item >= 0) & (kind >= 0)  # the validator reports the rest
        if not keep.all():
            user, item, ts, kind = user[keep], item[keep], ts[keep], kind[keep]
        bar.update()
    follows = sp.csr_matrix((len(user_ids), len(catalogue.artist_ids)), dtype=np.float32)
    if has_table(data, "follows"):
        table = read_table(data, "follows", columns=["user_id", "artist_id"])
        artist_ids = pa.array(catalogue.artist_ids.tolist(), type=pa.string())
        fu, fa = _codes(table["user_id"], user_ids), _codes(table["artist_id"], artist_ids)
        keep = (fu >= 0) & (fa >= 0)
        follows = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (fu[keep], fa[keep])),
            shape=follows.shape,
        )
    listening = Listening(
        user_ids=np.asarray(user_ids.to_pylist(), dtype=object),
        user_region=_codes(users["region"], regions),
        regions=np.asarray(regions.to_pylist(), dtype=object),
        catalogue=catalogue,
        event_user=user,
        event_item=item,
        event_ts=ts,
        event_kind=kind,
        follows=follows,
    )
    # Arrow's allocator keeps what the tables used for reuse (about 3 GB at a million
    # listeners); nothing else is read with Arrow, so it goes back to the system now.
    pa.default_memory_pool().release_unused()
    return listening
