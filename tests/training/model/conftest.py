"""Session fixtures: a tiny planted dataset, a model trained on it, and a small synthetic world."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.training.model.tiny import build_tiny
from training.model.hyperparams import Hyperparameters
from training.model.stages import Result
from training.model.train import train

#: Fast settings for tests: fewer resamples, one thread, a short hyperparameter search.
FAST_HP: dict[str, Any] = {
    "bootstrap": 200,
    "segment_bootstrap": 50,
    "num_threads": 1,
    "search_trials": 3,
}

WORLD_USERS = 3000


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny") / "data", n_users=1500)


@pytest.fixture(scope="session")
def trained(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A model trained on the tiny dataset: (model dir, pipeline result)."""
    model_dir = tmp_path_factory.mktemp("model")
    hp = Hyperparameters.from_overrides(FAST_HP)
    code, result = train(tiny_dir, model_dir, hp, progress=False, verbose=False)
    assert code == 0, result.gate.reason
    return model_dir, result


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic world from the world CLI (skipped while that CLI does not exist)."""
    if importlib.util.find_spec("training.data.world.__main__") is None:
        pytest.skip("the synthetic world CLI (python -m training.data.world) is not there yet")
    out = tmp_path_factory.mktemp("world") / "w"
    cmd = [sys.executable, "-m", "training.data.world", "--users", str(WORLD_USERS), "--seed", "3"]
    proc = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out
