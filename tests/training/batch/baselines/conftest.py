"""A tiny world (3,000 listeners, 1,500 songs) for the baselines' tests: EASE and the grids
stay fast on its catalogue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baselines-world") / "w"
    command = [sys.executable, "-m", "training.data.world", "--users", "3000", "--songs", "1500"]
    command += ["--artists", "300", "--seed", "11", "--out", str(out), "--no-progress"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out
