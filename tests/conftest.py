"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


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
        pytest.skip(
            f"MovieLens 100K not found at {path} (set MUSICREC_ML100K to its directory); "
            "CI always has it"
        )
    return path
