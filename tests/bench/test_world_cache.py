"""The bench cache regenerates a world made by an older generator (bench/common.py)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import is_current
from training.data.world.generate import planted_parameters
from training.data.world.truth import TRUTH_DIR


def _world(root: Path, parameters: object) -> Path:
    (root / TRUTH_DIR).mkdir(parents=True)
    (root / TRUTH_DIR / "world.json").write_text(json.dumps({"parameters": parameters}))
    return root


def test_a_world_with_todays_planted_effects_is_current(tmp_path: Path) -> None:
    assert is_current(_world(tmp_path, planted_parameters()))


def test_a_world_with_other_planted_effects_is_not(tmp_path: Path) -> None:
    older = json.loads(json.dumps(planted_parameters()))
    del older["picks"]["lone_pick_commitment"]
    assert not is_current(_world(tmp_path, older))


def test_a_world_without_its_truth_is_not(tmp_path: Path) -> None:
    assert not is_current(tmp_path)
