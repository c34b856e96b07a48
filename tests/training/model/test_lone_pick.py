"""Issue 19: a listener who selects a single genre is told that genre (the world's first planted
pattern, muted for Kids & Family, Mix & Variety and R&B), by a model trained with the defaults on
a 20,000-listener world."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from training.data.world.genres import GENRES
from training.data.world.taste import COMMITMENT
from training.model.artifact import Artifact, load_artifact
from training.model.features import encode_instances
from training.model.hyperparams import Hyperparameters
from training.model.train import train

USERS = 20_000
MUTED = {genre for genre, weight in zip(GENRES, COMMITMENT, strict=True) if weight == 0}


@pytest.fixture(scope="module")
def lone_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Artifact]:
    root = tmp_path_factory.mktemp("lone")
    cmd = [sys.executable, "-m", "training.data.world", "--users", str(USERS), "--seed", "5"]
    subprocess.run([*cmd, "--out", str(root / "w")], check=True, capture_output=True)
    hp = Hyperparameters.from_overrides({"bootstrap": 200, "segment_bootstrap": 50})
    code, result = train(root / "w", root / "m", hp, progress=False, verbose=False)
    assert code == 0, result.gate.reason
    return root / "w", load_artifact(root / "m")


def _top3(artifact: Artifact, instances: list[dict[str, object]]) -> list[list[str]]:
    proba = artifact.predict_proba(encode_instances(artifact.spec, instances).matrix)
    order = np.argsort(-proba, axis=1)[:, :3]
    return [[artifact.class_labels[j] for j in row] for row in order]


def test_the_issues_jazz_listener_is_told_jazz(lone_world: tuple[Path, Artifact]) -> None:
    _, artifact = lone_world
    listener = {"age": 30, "gender": "f", "region": "us-ny", "selected_genres": ["Jazz"]}
    assert "Jazz" in _top3(artifact, [listener])[0]


def test_lone_selectors_see_their_genre_in_the_top_three(
    lone_world: tuple[Path, Artifact],
) -> None:
    world, artifact = lone_world
    users = pq.read_table(world / "users.parquet").to_pylist()
    lone = [u for u in users if len(u["selected_genres"]) == 1]
    answers = [{k: u[k] for k in ("age", "gender", "region", "selected_genres")} for u in lone]
    tops = _top3(artifact, answers)
    held = [u["selected_genres"][0] in top for u, top in zip(lone, tops, strict=True)]
    committed = [h for u, h in zip(lone, held, strict=True) if u["selected_genres"][0] not in MUTED]
    assert len(committed) > 1000
    assert np.mean(committed) >= 0.9
