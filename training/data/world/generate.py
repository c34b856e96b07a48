"""Generate a whole world into a dataset directory: contract tables plus ``truth/``.

The static parts (regions, catalogue, stations) are built once; users are then generated block by
block (see :data:`training.data.world.config.BLOCK_USERS`), each block from its own random streams,
and streamed to Parquet. With ``workers > 1`` blocks are computed in worker processes and written in
order by the parent; the output is the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from training.data.dataset_io import TableWriter, write_table
from training.data.world import listening as listening_model
from training.data.world import taste as taste_model
from training.data.world.catalogue import Catalogue, build_catalogue
from training.data.world.config import WorldConfig
from training.data.world.genres import GENRES
from training.data.world.listening import ArtistChooser, simulate_listening
from training.data.world.population import draw_population
from training.data.world.regions import Regions, build_regions
from training.data.world.rng import LISTENING, NAMES, USERS, stream
from training.data.world.sampling import GroupedSampler
from training.data.world.stations import Stations, build_stations
from training.data.world.tables import (
    Vocabulary,
    artists_table,
    follows_table,
    interactions_table,
    items_table,
    stations_table,
    truth_artists_table,
    truth_items_table,
    truth_regions_table,
    truth_stations_table,
    truth_users_table,
    users_table,
)
from training.data.world.truth import (
    TRUTH_DIR,
    click_model_json,
    write_truth_table,
    write_world_json,
)

FORMAT = 1


@dataclass(frozen=True)
class BlockTables:
    users: pa.Table
    interactions: pa.Table
    follows: pa.Table
    truth_users: pa.Table


class World:
    """The static parts of a world and the machinery to generate its users block by block."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self.regions: Regions = build_regions(config.seed)
        self.catalogue: Catalogue = build_catalogue(config, self.regions)
        self.stations: Stations = build_stations(config, self.regions)
        self.vocab = Vocabulary.build(self.catalogue, self.regions, self.stations, config.users)
        self.artists = ArtistChooser(self.catalogue, self.regions)
        self.songs = GroupedSampler.build(
            self.catalogue.song_artist, self.catalogue.song_weight, self.catalogue.n_artists
        )

    def block(self, block: int) -> BlockTables:
        """The users of block ``block`` and everything they did."""
        config = self.config
        lo, hi = config.block_range(block)
        rng = stream(config.seed, USERS, block)
        pop = draw_population(config, self.regions, lo, hi, rng)
        taste = taste_model.draw_taste(pop, self.regions, rng)
        listened = simulate_listening(
            pop,
            taste,
            self.catalogue,
            self.artists,
            self.songs,
            stream(config.seed, LISTENING, block),
        )
        user_ids = self.vocab.user_ids(lo, hi)
        return BlockTables(
            users=users_table(pop, taste, user_ids, self.vocab),
            interactions=interactions_table(listened, user_ids, self.vocab),
            follows=follows_table(listened, user_ids, self.vocab),
            truth_users=truth_users_table(pop, taste, user_ids, self.vocab),
        )

    def write_static(self, out: Path) -> dict[str, int]:
        """Items, artists, stations and their truth; returns row counts."""
        rng = stream(self.config.seed, NAMES)
        items = items_table(self.catalogue, self.vocab, rng)
        artists = artists_table(self.catalogue, self.vocab, rng)
        stations = stations_table(self.stations, self.vocab)
        write_table(out, "items", items)
        write_table(out, "artists", artists)
        write_table(out, "stations", stations)
        write_truth_table(out, "items", truth_items_table(self.catalogue, self.vocab))
        write_truth_table(out, "artists", truth_artists_table(self.catalogue, self.vocab))
        write_truth_table(out, "stations", truth_stations_table(self.stations, self.vocab))
        write_truth_table(out, "regions", truth_regions_table(self.regions, self.vocab))
        return {"items": items.num_rows, "artists": artists.num_rows, "stations": stations.num_rows}


_WORKER_WORLD: World | None = None


def _init_worker(config: WorldConfig) -> None:
    global _WORKER_WORLD
    _WORKER_WORLD = World(config)


def _worker_block(block: int) -> BlockTables:
    assert _WORKER_WORLD is not None
    return _WORKER_WORLD.block(block)


def _blocks(world: World, workers: int) -> Iterator[BlockTables]:
    """The blocks in order, computed here or in ``workers`` processes (a few blocks ahead)."""
    n = world.config.n_blocks
    if workers <= 1 or n <= 1:
        for b in range(n):
            yield world.block(b)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(world.config,)
    ) as pool:
        pending = [pool.submit(_worker_block, b) for b in range(min(n, workers + 1))]
        next_block = len(pending)
        while pending:
            result = pending.pop(0).result()
            if next_block < n:
                pending.append(pool.submit(_worker_block, next_block))
                next_block += 1
            yield result


def planted_parameters() -> dict[str, Any]:
    """The planted effects, for world.json (genre vectors as {genre: value})."""

    def by_genre(vector: Any) -> dict[str, float]:
        return {g: round(float(v), 4) for g, v in zip(GENRES, vector, strict=True) if v != 0}

    return {
        "taste": {
            "base": by_genre(taste_model.BASE),
            "age_slope_per_15_years": by_genre(taste_model.AGE_SLOPE),
            "kids_bump": list(taste_model.KIDS_BUMP),
            "male_minus_female": by_genre(taste_model.MALE),
            "nonbinary": by_genre(taste_model.NONBINARY),
            "factors": taste_model.FACTORS,
            "idiosyncratic_sd": taste_model.IDIOSYNCRATIC,
            "breadth_sigma": taste_model.BREADTH_SIGMA,
        },
        "picks": {
            "count_pmf": taste_model.PICKS_PMF.tolist(),
            "bias": by_genre(taste_model.PICK_BIAS),
            "age_bias_per_15_years": by_genre(taste_model.PICK_AGE_BIAS),
            "broad_picks": by_genre(taste_model.BROAD_PICKS),
            "one_genre": [taste_model.ONE_GENRE_THRESHOLD, taste_model.ONE_GENRE_SHARE],
            "rnb_confusion_logit_and_age": [
                taste_model.RNB_CONFUSION_LOGIT,
                taste_model.RNB_CONFUSION_AGE,
            ],
            "lone_pick_commitment": {
                "margin_mean_and_sd": [taste_model.COMMITMENT_MARGIN, taste_model.COMMITMENT_SD],
                "weight_where_not_1": {
                    g: float(w)
                    for g, w in zip(GENRES, taste_model.COMMITMENT, strict=True)
                    if w != 1
                },
            },
        },
        "listening": {
            "session_songs": listening_model.SESSION_SONGS,
            "same_artist": listening_model.SAME_ARTIST,
            "local_boost": listening_model.LOCAL_BOOST,
            "elsewhere": listening_model.ELSEWHERE,
            "national_boost": listening_model.NATIONAL_BOOST,
            "onboarding_pull": [listening_model.ONBOARDING_PULL, listening_model.ONBOARDING_DAYS],
            "skip": [
                listening_model.SKIP_BASE,
                listening_model.SKIP_AFFINITY,
                listening_model.SKIP_APPEAL,
            ],
            "like": [
                listening_model.LIKE_BASE,
                listening_model.LIKE_AFFINITY,
                listening_model.LIKE_APPEAL,
            ],
            "follow_per_like": listening_model.FOLLOW_PER_LIKE,
        },
    }


def generate_world(
    config: WorldConfig, out: str | Path, *, workers: int = 1, progress: bool = True
) -> dict[str, int]:
    """Write world ``config`` into ``out``; returns the row count of every table."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    world = World(config)
    counts = world.write_static(out)
    truth_users_path = out / TRUTH_DIR / "users.parquet"
    truth_writer: pq.ParquetWriter | None = None
    bar = tqdm(total=config.users, unit="user", unit_scale=True, desc="world", disable=not progress)
    try:
        with (
            TableWriter(out, "users") as users,
            TableWriter(out, "interactions") as interactions,
            TableWriter(out, "follows") as follows,
        ):
            for tables in _blocks(world, workers):
                users.write(tables.users)
                interactions.write(tables.interactions)
                follows.write(tables.follows)
                if truth_writer is None:
                    truth_writer = pq.ParquetWriter(
                        truth_users_path, tables.truth_users.schema, compression="zstd"
                    )
                truth_writer.write_table(tables.truth_users)
                bar.update(tables.users.num_rows)
            counts |= {
                "users": users.rows,
                "interactions": interactions.rows,
                "follows": follows.rows,
            }
    finally:
        bar.close()
        if truth_writer is not None:
            truth_writer.close()
    write_world_json(
        out,
        {
            "format": FORMAT,
            "generator": "training.data.world",
            "config": config.as_json(),
            "genres": list(GENRES),
            "regions": len(world.regions.codes),
            "counts": counts,
            "click_model": click_model_json(),
            "parameters": planted_parameters(),
        },
    )
    return counts
