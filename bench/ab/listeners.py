"""The simulated listeners of an A/B run and the onboarding answers they give.

Two sources, neither of them listeners the served model was trained on:

- ``held-out``: listeners of the stack's own world who signed up after the last training
  listener of the served model (``training_data.train_signups`` of its ``model.json``), drawn with
  a seed;
- ``fresh``: listeners generated anew from the same world: the world is generated again with the
  same seed and more users (the catalogue, artists, stations and regions only depend on the seed,
  which is checked), and the users beyond the stack world's count are taken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from training.data.world import WorldTruth

CONTRACT_COLUMNS = ("user_id", "signup_ts", "age", "gender", "region", "selected_genres")
SAME_WORLD_FILES = ("items.parquet", "artists.parquet", "stations.parquet", "truth/regions.parquet")
SOURCES = ("held-out", "fresh")


class ListenerError(ValueError):
    """Listeners that cannot be drawn as asked."""


@dataclass(frozen=True)
class Listener:
    """A simulated new listener: their id in the world (and its truth), the simulated day they
    arrive on, and their onboarding answers (the request body without ``user_id``)."""

    world_id: str
    day: int
    answers: dict[str, Any]


def training_cutoff(model_dir: Path) -> pd.Timestamp:
    """The signup time of the last listener the model in ``model_dir`` was trained on."""
    document = json.loads((model_dir / "model.json").read_text())
    return pd.Timestamp(document["training_data"]["train_signups"][1])


def onboarding_answers(row: dict[str, Any], limit: int) -> dict[str, Any]:
    """The onboarding body of a world user: age, gender, region, picked genres, any further
    answer columns (blank answers left out, as an app would)."""
    body: dict[str, Any] = {
        "region": row["region"],
        "selected_genres": list(row["selected_genres"] or []),
        "limit": limit,
    }
    for key in ("age", "gender"):
        if row.get(key) is not None:
            body[key] = int(row[key]) if key == "age" else str(row[key])
    answers = {k: v for k, v in row.items() if k not in CONTRACT_COLUMNS and v is not None}
    if answers:
        body["answers"] = answers
    return body


def spread_over_days(users: list[dict[str, Any]], days: int, limit: int) -> list[Listener]:
    """``users`` (rows, in arrival order) as listeners, ``len(users) / days`` a day."""
    if days < 1:
        raise ListenerError("days must be at least 1")
    day_of = np.arange(len(users)) * days // max(len(users), 1)
    return [
        Listener(str(row["user_id"]), int(day), onboarding_answers(row, limit))
        for row, day in zip(users, day_of, strict=True)
    ]


def held_out(
    world: Path, model_dir: Path, n: int, days: int, seed: int, limit: int
) -> list[Listener]:
    """``n`` listeners of ``world`` who signed up after the model's training listeners, drawn
    with ``seed``, in signup order."""
    users = pq.read_table(world / "users.parquet")
    signups = users.column("signup_ts").to_pandas()
    later = np.flatnonzero((signups > training_cutoff(model_dir)).to_numpy())
    if n > len(later):
        raise ListenerError(
            f"--listeners {n}: only {len(later):,} listeners of {world} signed up after the "
            "model's training data; use fewer, a bigger world, or --source fresh"
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(later, size=n, replace=False))
    return spread_over_days(users.take(chosen).to_pylist(), days, limit)


def same_world(a: Path, b: Path) -> bool:
    """Whether two worlds share catalogue, artists, stations and regions, byte for byte."""
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in SAME_WORLD_FILES)


def fresh(world: Path, out: Path, n: int, days: int, limit: int) -> tuple[list[Listener], Path]:
    """``n`` listeners generated anew from ``world`` (into ``out``, reused when there), and the
    world whose truth knows them."""
    from training.data.world import WorldConfig, generate_world

    truth = WorldTruth(world)
    existing = int(truth.document["counts"]["users"])
    total = existing + n
    if not (out / "truth" / "world.json").is_file() or (
        WorldTruth(out).document["counts"]["users"] != total
    ):
        config = truth.document["config"]
        sizes = {"songs": config["songs"], "artists": config["artists"]}
        generate_world(WorldConfig(users=total, seed=truth.seed, **sizes), out, progress=False)
    if not same_world(world, out):
        raise ListenerError(
            f"{world} was not generated with the default options: fresh listeners of seed "
            f"{truth.seed} would live in another world; use --source held-out"
        )
    users = pq.read_table(out / "users.parquet").slice(existing).to_pylist()
    return spread_over_days(users, days, limit), out
