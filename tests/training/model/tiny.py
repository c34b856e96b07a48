"""A tiny dataset with planted structure, built in code (no world generator needed).

Each user's favourite genre depends on age band and gender, and is among their selected genres
two times out of three; their window plays (days 30 to 60) mostly go to the favourite.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from training.data.dataset_io import write_table

GENRES = ("Classical", "Hip Hop", "Jazz", "Pop", "Rock")
REGIONS = ("north", "south", "east", "west")
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY_MS = 86_400_000


def _ms(days: np.ndarray) -> pa.Array:
    base = int(T0.timestamp() * 1000)
    return pa.array(base + (np.asarray(days) * DAY_MS).astype(np.int64), pa.timestamp("ms", "UTC"))


def build_tiny(
    root: Path,
    n_users: int = 600,
    seed: int = 0,
    plays_per_user: int = 8,
    extra: bool = True,
    genres: tuple[str, ...] = GENRES,
) -> Path:
    """Write the tiny dataset into ``root`` and return it."""
    rng = np.random.default_rng(seed)
    g = len(genres)
    age = rng.integers(15, 70, n_users)
    gender = rng.choice(["f", "m", "x"], n_users, p=[0.48, 0.48, 0.04])
    region = rng.choice(REGIONS, n_users)
    # planted: young -> genre 1, old -> genre 0, middle: by gender
    fav = np.where(age < 30, 1 % g, np.where(age >= 50, 0, np.where(gender == "f", 3 % g, 4 % g)))
    noise = rng.random(n_users) < 0.25
    fav = np.where(noise, rng.integers(0, g, n_users), fav)
    selected = []
    for u in range(n_users):
        picks = set(rng.choice(g, size=min(g, int(rng.integers(1, 4))), replace=False).tolist())
        if rng.random() < 0.67:
            picks.add(int(fav[u]))
        selected.append([genres[i] for i in sorted(picks)])
    signup_days = np.sort(rng.uniform(0, 120, n_users))
    user_ids = [f"u{i:05d}" for i in range(n_users)]
    age_col = pa.array([None if i % 17 == 0 else int(a) for i, a in enumerate(age)], pa.int32())
    columns: dict[str, pa.Array] = {
        "user_id": pa.array(user_ids),
        "signup_ts": _ms(signup_days),
        "age": age_col,
        "gender": pa.array([None if i % 23 == 0 else s for i, s in enumerate(gender)]),
        "region": pa.array(region.tolist()),
        "selected_genres": pa.array(selected, pa.list_(pa.string())),
    }
    if extra:
        columns["occupation"] = pa.array(rng.choice(["writer", "student", "other"], n_users))
        columns["hours_per_day"] = pa.array(rng.uniform(0, 5, n_users))
    write_table(root, "users", pa.table(columns))

    items_per_genre = 4
    item_ids = [f"i{k:03d}" for k in range(g * items_per_genre)]
    item_genre = [genres[k // items_per_genre] for k in range(len(item_ids))]
    write_table(
        root,
        "items",
        pa.table(
            {
                "item_id": item_ids,
                "title": [f"Song {k}" for k in range(len(item_ids))],
                "artist_id": [f"a{k // items_per_genre}" for k in range(len(item_ids))],
                "album_id": pa.array([None] * len(item_ids), pa.string()),
                "genre": item_genre,
                "available": [True] * len(item_ids),
            }
        ),
    )
    write_table(
        root,
        "artists",
        pa.table(
            {
                "artist_id": [f"a{k}" for k in range(g)],
                "name": [f"Artist {k}" for k in range(g)],
                "genre": list(genres),
                "region": ["north"] * g,
            }
        ),
    )
    write_table(
        root,
        "stations",
        pa.table(
            {
                "station_id": [f"s{k}" for k in range(g)],
                "name": [f"{x} Radio" for x in genres],
                "genre": list(genres),
                "region": pa.array([None] * g, pa.string()),
            }
        ),
    )
    users_rep = np.repeat(np.arange(n_users), plays_per_user)
    favourite_play = rng.random(len(users_rep)) < 0.7
    play_genre = np.where(favourite_play, fav[users_rep], rng.integers(0, g, len(users_rep)))
    play_item = play_genre * items_per_genre + rng.integers(0, items_per_genre, len(users_rep))
    # most plays in the window (days 30-60), some before it
    offset = np.where(
        rng.random(len(users_rep)) < 0.8,
        rng.uniform(30, 60, len(users_rep)),
        rng.uniform(0, 30, len(users_rep)),
    )
    ts_days = signup_days[users_rep] + offset
    # the data ends 60 days after the last signup... minus a little: the last users are censored
    keep = ts_days <= signup_days.max() + 55
    interactions = pa.table(
        {
            "user_id": pa.array([user_ids[u] for u in users_rep[keep]]),
            "item_id": pa.array([item_ids[i] for i in play_item[keep]]),
            "ts": _ms(ts_days[keep]),
            "event": pa.array(["play"] * int(keep.sum())),
        }
    )
    write_table(root, "interactions", interactions)
    return root
