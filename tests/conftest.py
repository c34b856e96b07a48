"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The session-wide local stack (`stack` fixture), for every package that needs the whole system;
# the record of the AWS calls the functions and the pipeline's steps make (tests/iam/recording.py).
pytest_plugins = ["tests.local_stack", "tests.iam.recording"]


def _ml100k_dir() -> Path:
    override = os.environ.get("MUSICREC_ML100K")
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "data" / "ml-100k"


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    """The raw MovieLens 100K directory (read in place, never copied into the project)."""
    path = _ml100k_dir()
    if not (path / "u.data").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"MovieLens 100K not found at {path}: CI must run the real-data tests")
        pytest.skip(
            f"MovieLens 100K not found at {path} (set MUSICREC_ML100K to its directory); "
            "CI always has it"
        )
    return path


def _run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic world of 3,000 listeners, generated once per test session."""
    out = tmp_path_factory.mktemp("world") / "w3k"
    result = _run_module(
        "training.data.world", "--users", "3000", "--seed", "11", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def trained_model_dir(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An onboarding model trained on :func:`small_world` (the artifact, whatever the gate said),
    with 4 trials of the hyperparameter search instead of 20: the tests using it serve a model,
    and the search itself is tested in tests/training/model/test_search.py."""
    out = tmp_path_factory.mktemp("model")
    result = _run_module(
        "training.model.train", "--data", str(small_world), "--model-dir", str(out),
        "--hp", "search_trials=4",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # 1: trained, but the gate rejected it
    return out
