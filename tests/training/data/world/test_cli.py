"""The command line writes a complete, valid dataset (the acceptance criterion)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.data.world.conftest import WORLD_USERS, Generated
from training.data.contract import TABLES
from training.data.dataset_io import has_table, read_table
from training.data.validate import validate
from training.data.world import WorldConfig, generate_world
from training.data.world.cli import main


def test_generated_world_is_valid_per_the_contract(generated: Generated) -> None:
    assert generated.process.returncode == 0, generated.process.stderr
    problems = validate(generated.path, progress=False)
    assert problems == []


def test_every_contract_table_is_written_with_rows(generated: Generated) -> None:
    for name in TABLES:
        assert has_table(generated.path, name), name
        assert read_table(generated.path, name).num_rows > 0, name
    assert read_table(generated.path, "users").num_rows == WORLD_USERS


def test_progress_bar_and_summary_go_to_stderr(generated: Generated) -> None:
    assert generated.process.stdout == ""
    assert "world" in generated.process.stderr
    assert "100%" in generated.process.stderr
    summary = json.loads(generated.process.stderr.strip().splitlines()[-1])
    assert summary["users"] == WORLD_USERS
    assert summary["interactions"] == read_table(generated.path, "interactions").num_rows


def test_truth_is_written_apart(generated: Generated) -> None:
    truth = generated.path / "truth"
    for name in ("users", "items", "artists", "stations", "regions"):
        assert (truth / f"{name}.parquet").is_file(), name
    document = json.loads((truth / "world.json").read_text())
    assert document["config"]["seed"] == 7
    assert document["counts"]["users"] == WORLD_USERS
    users = read_table(generated.path, "users")
    assert "affinity" not in users.column_names


@pytest.mark.parametrize(
    "argv",
    [
        ["--users", "0", "--out", "unused"],
        ["--users", "10", "--songs", "5", "--out", "unused"],
        ["--users", "10", "--quiet-share", "2", "--out", "unused"],
    ],
)
def test_bad_options_exit_with_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(
    "config",
    [
        WorldConfig(users=1, seed=1),
        WorldConfig(users=7, seed=2, songs=100, artists=50, days=1, quiet_share=1.0),
        WorldConfig(users=40, seed=3, signup_days=1, stations_per_region=1, block_users=16),
    ],
    ids=["one-user", "tiny-catalogue-one-day", "three-blocks"],
)
def test_small_and_odd_worlds_are_valid(config: WorldConfig, tmp_path: Path) -> None:
    counts = generate_world(config, tmp_path, progress=False)
    assert counts["users"] == config.users
    assert validate(tmp_path, progress=False) == []
