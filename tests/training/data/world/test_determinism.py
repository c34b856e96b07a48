"""Same seed, same world (whatever the number of worker processes); another seed, another world."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data.contract import TABLES
from training.data.dataset_io import read_table
from training.data.world import WorldConfig, generate_world

FILES = [f"{name}.parquet" for name in TABLES] + [
    f"truth/{name}.parquet" for name in ("users", "items", "artists", "stations", "regions")
]


@pytest.fixture(scope="module")
def small_worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("small-worlds")
    runs = {"a": (11, 1), "b": (11, 2), "other": (12, 1)}
    for name, (seed, workers) in runs.items():
        config = WorldConfig(users=3_000, seed=seed, songs=600, artists=120, block_users=1_000)
        generate_world(config, root / name, workers=workers, progress=False)
    return {name: root / name for name in runs}


def test_same_seed_gives_byte_identical_files(small_worlds: dict[str, Path]) -> None:
    # "b" computed its three blocks in two worker processes, "a" in one process.
    for name in FILES:
        a = (small_worlds["a"] / name).read_bytes()
        b = (small_worlds["b"] / name).read_bytes()
        assert a == b, name
    assert (small_worlds["a"] / "truth/world.json").read_text() == (
        small_worlds["b"] / "truth/world.json"
    ).read_text()


def test_same_seed_gives_equal_tables(small_worlds: dict[str, Path]) -> None:
    for name in TABLES:
        assert read_table(small_worlds["a"], name).equals(read_table(small_worlds["b"], name))


def test_another_seed_gives_another_world(small_worlds: dict[str, Path]) -> None:
    for name in ("users", "items", "artists", "interactions", "follows"):
        a = read_table(small_worlds["a"], name)
        other = read_table(small_worlds["other"], name)
        assert not a.equals(other), name
