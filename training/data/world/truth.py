"""The hidden truth of a world, written apart under ``DIR/truth/``, and the click model.

Files: ``users.parquet`` (true age and gender, region, genre affinity, breadth, activity, when
they went quiet, whether they mistook Hip Hop for R&B), ``items.parquet`` (appeal, popularity,
duration), ``artists.parquet`` (scope, country, popularity, appeal), ``stations.parquet``
(appeal), ``regions.parquet`` (weight, taste deviation) and ``world.json`` (options, genre order,
click model, counts).

:class:`WorldTruth` loads them and gives the probability that a user clicks a recommended genre,
station or song, a logistic model of the user's true affinity for the genre (``log(G *
affinity)``: 0 for a user indifferent among the G genres), the station's or song's appeal and the
regional match. Unavailable songs are never clicked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from training.data.world.genres import GENRE_INDEX, GENRES, N_GENRES

TRUTH_DIR = "truth"
FORMAT = 1

Ids: TypeAlias = Sequence[str] | np.ndarray | pa.Array | pa.ChunkedArray | pd.Series


@dataclass(frozen=True)
class ClickModel:
    """Coefficients of the logistic click model (see the module docstring)."""

    genre_base: float = -1.8
    affinity: float = 1.1
    station_base: float = -2.2
    station_appeal: float = 1.0
    station_home: float = 0.7  # a regional station of the user's own region
    station_away: float = -1.5  # a regional station of another region
    song_base: float = -2.4
    song_appeal: float = 0.8
    song_local: float = 0.6  # a local act of the user's own region
    song_national: float = 0.2  # a national act of the user's country


def fixed_list(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """A (n, k) float matrix as an Arrow fixed-size list<float32> column."""
    values = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).ravel())
    return pa.FixedSizeListArray.from_arrays(values, matrix.shape[1])


def write_truth_table(root: Path, name: str, table: pa.Table) -> Path:
    path = root / TRUTH_DIR / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path


def write_world_json(root: Path, document: dict[str, Any]) -> Path:
    path = root / TRUTH_DIR / "world.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def _logistic(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _strings(values: Ids) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    if isinstance(values, str):
        return np.asarray([values], dtype=object)
    return np.asarray(values, dtype=object)


def _codes(
    column: pa.ChunkedArray, vocabulary: Sequence[str] | pa.Array | pa.ChunkedArray
) -> np.ndarray:
    """Position of each value of ``column`` in ``vocabulary``; -1 where absent or null."""
    value_set = vocabulary if not isinstance(vocabulary, Sequence) else pa.array(list(vocabulary))
    if isinstance(value_set, pa.ChunkedArray):
        value_set = value_set.combine_chunks()
    pos = pc.index_in(column, value_set=value_set)
    out: np.ndarray = pc.fill_null(pos, -1).to_numpy().astype(np.int64)
    return out


class _Lookup:
    """Maps string ids to row positions."""

    def __init__(self, what: str, ids: pa.ChunkedArray | pa.Array) -> None:
        self.what = what
        self.index = pd.Index(ids.to_numpy(zero_copy_only=False), dtype=object)

    def __call__(self, ids: Ids) -> np.ndarray:
        pos = self.index.get_indexer(_strings(ids))
        if (pos < 0).any():
            missing = _strings(ids)[pos < 0][:5].tolist()
            raise KeyError(f"unknown {self.what}: {missing}")
        out: np.ndarray = pos
        return out


class WorldTruth:
    """The hidden truth of a generated world and its click model.

    All probability methods take index-aligned arrays of ids (a single id broadcasts against many).
    """

    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        truth = root if (root / "world.json").is_file() else root / TRUTH_DIR
        if not (truth / "world.json").is_file():
            raise FileNotFoundError(f"no world truth (truth/world.json) under {root}")
        self.path = truth
        self.document: dict[str, Any] = json.loads((truth / "world.json").read_text())
        if tuple(self.document["genres"]) != GENRES:
            raise ValueError("the truth's genre order differs from this code's")
        self.click = ClickModel(**self.document["click_model"])

        users = pq.read_table(truth / "users.parquet", columns=["user_id", "region", "affinity"])
        self.users = _Lookup("user ids", users["user_id"])
        self._affinity = users["affinity"].combine_chunks().values.to_numpy().reshape(-1, N_GENRES)
        regions = pq.read_table(truth / "regions.parquet", columns=["region", "country"])
        countries = pc.unique(regions["country"])
        self._region_country = _codes(regions["country"], countries)
        self._user_region = _codes(users["region"], regions["region"])

        stations = pq.read_table(truth / "stations.parquet")
        self.stations = _Lookup("station ids", stations["station_id"])
        self._station_genre = _codes(stations["genre"], GENRES)
        self._station_region = _codes(stations["region"], regions["region"])
        self._station_appeal = stations["appeal"].to_numpy()

        items = pq.read_table(truth / "items.parquet")
        artists = pq.read_table(truth / "artists.parquet")
        self.items = _Lookup("item ids", items["item_id"])
        artist_pos = _codes(items["artist_id"], artists["artist_id"])
        self._item_genre = _codes(items["genre"], GENRES)
        self._item_appeal = items["appeal"].to_numpy()
        self._item_available = items["available"].to_numpy()
        national = _codes(artists["scope"], ["national"]) == 0
        artist_region = _codes(artists["region"], regions["region"])
        artist_country = _codes(artists["country"], countries)
        self._item_region = np.where(national, -1, artist_region)[artist_pos]
        self._item_country = np.where(national, artist_country, -1)[artist_pos]

    @property
    def genres(self) -> tuple[str, ...]:
        return GENRES

    @property
    def seed(self) -> int:
        return int(self.document["config"]["seed"])

    def affinity(self, user_ids: Ids) -> np.ndarray:
        """True genre affinities (n, G), rows summing to 1, columns in :attr:`genres` order."""
        out: np.ndarray = self._affinity[self.users(user_ids)].astype(np.float64)
        return out

    def _user_genre_logit(self, users: np.ndarray, genres: np.ndarray) -> np.ndarray:
        aff = np.maximum(self._affinity[users, genres].astype(np.float64), 1e-9)
        out: np.ndarray = self.click.affinity * np.log(N_GENRES * aff)
        return out

    def genre_click_probability(self, user_ids: Ids, genres: Ids) -> np.ndarray:
        """P(click) of each user on a recommended genre (by name)."""
        users = self.users(user_ids)
        codes = np.array([GENRE_INDEX[g] for g in _strings(genres)], dtype=np.int64)
        users, codes = np.broadcast_arrays(users, codes)
        return _logistic(self.click.genre_base + self._user_genre_logit(users, codes))

    def station_click_probability(self, user_ids: Ids, station_ids: Ids) -> np.ndarray:
        """P(click) of each user on a recommended station."""
        users, stations = np.broadcast_arrays(self.users(user_ids), self.stations(station_ids))
        region = self._station_region[stations]
        home = self._user_region[users]
        match = np.where(
            region < 0,
            0.0,
            np.where(region == home, self.click.station_home, self.click.station_away),
        )
        logit = (
            self.click.station_base
            + self._user_genre_logit(users, self._station_genre[stations])
            + self.click.station_appeal * self._station_appeal[stations]
            + match
        )
        return _logistic(logit)

    def song_click_probability(self, user_ids: Ids, item_ids: Ids) -> np.ndarray:
        """P(click) of each user on a recommended song; 0 for unavailable songs."""
        users, items = np.broadcast_arrays(self.users(user_ids), self.items(item_ids))
        home = self._user_region[users]
        local = (self._item_region[items] == home) & (self._item_region[items] >= 0)
        national = self._item_country[items] == self._region_country[home]
        logit = (
            self.click.song_base
            + self._user_genre_logit(users, self._item_genre[items])
            + self.click.song_appeal * self._item_appeal[items]
            + np.where(local, self.click.song_local, 0.0)
            + np.where(national, self.click.song_national, 0.0)
        )
        return np.where(self._item_available[items], _logistic(logit), 0.0)


def click_model_json(model: ClickModel | None = None) -> dict[str, float]:
    return asdict(model or ClickModel())
