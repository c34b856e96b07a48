"""The image's dependency list, proven without Docker: a fresh virtualenv built from
container/requirements.txt alone (``--no-deps``, as the Dockerfile installs it) serves a model
and trains one, from a copy of exactly what the Dockerfile copies into the image."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.container.conftest import running_server

pytestmark = pytest.mark.slow


def _image_python() -> str:
    """Python 3.12 like the image's base when this machine has it, else the current one."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = sorted(glob.glob(str(pyenv_root / "versions/3.12*/bin/python")))
    for candidate in [*candidates, shutil.which("python3.12")]:
        if (
            candidate
            and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0
        ):
            return candidate
    return sys.executable


@pytest.fixture(scope="module")
def image_root(tmp_path_factory) -> Path:
    """/opt/program as the Dockerfile builds it: a venv from requirements.txt, the code copied."""
    root = tmp_path_factory.mktemp("opt-program")
    subprocess.run([_image_python(), "-m", "venv", str(root / "venv")], check=True)
    pip = [
        str(root / "venv/bin/python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run(
        [*pip, "--no-deps", "-r", str(REPO_ROOT / "container/requirements.txt")],
        check=True,
        timeout=900,
    )
    shutil.copytree(
        REPO_ROOT / "training", root / "training", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "container").mkdir()
    for source in (REPO_ROOT / "container").glob("*.py"):
        shutil.copy(source, root / "container" / source.name)
    return root


def test_requirements_are_pinned_and_complete():
    lines = [
        line.strip()
        for line in (REPO_ROOT / "container/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    assert all("==" in line for line in lines), "every package pinned"


def test_pip_check_finds_nothing_missing(image_root: Path):
    result = subprocess.run(
        [str(image_root / "venv/bin/python"), "-m", "pip", "check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_environment_serves_a_trained_model(image_root: Path, trained_model_dir):
    python = str(image_root / "venv/bin/python")
    with running_server(trained_model_dir, workers=1, python=python, cwd=image_root) as server:
        response = server.post_json("/invocations", {"age": 30, "selected_genres": []})
        assert response.status == 200
        assert len(response.json()["genres"]) == 3


def test_the_image_environment_trains_on_the_sagemaker_layout(
    image_root: Path, small_world: Path, tmp_path: Path
):
    prefix = tmp_path / "opt/ml"
    shutil.copytree(
        small_world, prefix / "input/data/train", ignore=shutil.ignore_patterns("truth")
    )
    (prefix / "input/config").mkdir(parents=True)
    # SageMaker passes hyperparameters as strings; 2 search trials keep the test short
    (prefix / "input/config/hyperparameters.json").write_text(json.dumps({"search_trials": "2"}))
    result = subprocess.run(
        [
            str(image_root / "venv/bin/python"),
            "-m",
            "container.entrypoint",
            "train",
            "--prefix",
            str(prefix),
        ],
        cwd=image_root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(image_root)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (prefix / "model/model.tar.gz").is_file(), result.stderr[-2000:]
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: trained, gate rejected


def test_the_image_environment_scores_the_batch_lists(
    image_root: Path, small_world: Path, tmp_path: Path
):
    """Batch scoring runs in the same image (a SageMaker processing job): its ALS song factors
    need ``implicit`` from requirements.txt."""
    result = subprocess.run(
        [str(image_root / "venv/bin/python"), "-m", "training.batch", "--data", str(small_world),
         "--out", str(tmp_path), "--version", "image", "--no-progress", "--eval-users", "500"],
        cwd=image_root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(image_root)},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "image/manifest.json").read_text())
    assert manifest["params"]["song_model"] == "als"
    assert manifest["metrics"]["personal"]["algorithm"] == "als+regional+content"
