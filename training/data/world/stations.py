"""Radio stations: national ones per genre (``region`` null) and regional ones per region.

Every genre has ``national_stations_per_genre`` national stations. Each region has about
``stations_per_region`` stations (more in populous regions, at least two) in genres drawn from its
taste; a genre left without any regional station gets one where it is liked most. A station's
hidden appeal feeds the click model (national stations a little more appealing on average).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.world.config import WorldConfig
from training.data.world.genres import GENRES, N_GENRES
from training.data.world.regions import Regions
from training.data.world.rng import STATIONS, stream
from training.data.world.taste import BASE

NATIONAL_NAMES = ("Radio", "Hits", "Nation", "Now", "24/7", "Central", "Live", "Channel")


@dataclass(frozen=True)
class Stations:
    """Stations, index-aligned: national ones first (by genre), then regional ones by region."""

    genre: np.ndarray  # int64
    region: np.ndarray  # int64 region index, -1 for national
    appeal: np.ndarray  # float64
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.genre)


def build_stations(config: WorldConfig, regions: Regions) -> Stations:
    """The stations of world ``config.seed``."""
    rng = stream(config.seed, STATIONS)
    per_genre = config.national_stations_per_genre
    genre: list[int] = [gi for gi in range(N_GENRES) for _ in range(per_genre)]
    region: list[int] = [-1] * len(genre)
    names = [
        f"{GENRES[gi]} {NATIONAL_NAMES[j % len(NATIONAL_NAMES)]}"
        for gi in range(N_GENRES)
        for j in range(per_genre)
    ]

    relative = regions.weight / regions.weight.mean()
    counts = np.maximum(2, np.rint(config.stations_per_region * relative**0.3)).astype(int)
    counts = np.minimum(counts, N_GENRES)
    score = BASE[None, :] + regions.taste + rng.gumbel(size=(regions.n, N_GENRES))
    order = np.argsort(-score, axis=1)
    covered = np.zeros(N_GENRES, dtype=bool)
    for r in range(regions.n):
        for gi in order[r, : counts[r]]:
            genre.append(int(gi))
            region.append(r)
            names.append(f"{regions.names[r]} {GENRES[gi]}")
            covered[gi] = True
    for gi in np.flatnonzero(~covered):
        r = int(np.argmax(regions.taste[:, gi]))
        genre.append(int(gi))
        region.append(r)
        names.append(f"{regions.names[r]} {GENRES[gi]}")

    genre_a = np.array(genre, dtype=np.int64)
    region_a = np.array(region, dtype=np.int64)
    appeal = rng.normal(0.0, 0.5, size=len(genre_a)) + np.where(region_a < 0, 0.3, 0.0)
    return Stations(genre=genre_a, region=region_a, appeal=appeal, names=tuple(names))
