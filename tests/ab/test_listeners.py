"""Simulated listeners: held out from the model's training data or generated anew from the same
world, spread over the days, answering onboarding like the world's users."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.ab import listeners as sources


def test_answers_leave_blanks_out_and_keep_further_columns() -> None:
    row = {"user_id": "u1", "signup_ts": None, "age": None, "gender": "f", "region": "us-tx",
           "selected_genres": ["Jazz"], "occupation": "student", "pets": None}  # fmt: skip
    assert sources.onboarding_answers(row, 5) == {
        "region": "us-tx", "selected_genres": ["Jazz"], "limit": 5, "gender": "f",
        "answers": {"occupation": "student"},
    }  # fmt: skip


def test_listeners_spread_evenly_over_the_days_in_order() -> None:
    rows = [{"user_id": f"u{i}", "region": "us-tx", "selected_genres": []} for i in range(25)]
    listeners = sources.spread_over_days(rows, 10, 5)
    days = [listener.day for listener in listeners]
    assert days == sorted(days)
    assert set(days) == set(range(10))
    assert max(days.count(d) for d in range(10)) - min(days.count(d) for d in range(10)) <= 1
    with pytest.raises(sources.ListenerError):
        sources.spread_over_days(rows, 0, 5)


def _model_dir(tmp_path: Path, cutoff: str) -> Path:
    (tmp_path / "model.json").write_text(
        json.dumps({"training_data": {"train_signups": ["2025-01-01T00:00:00Z", cutoff]}})
    )
    return tmp_path


def test_held_out_listeners_signed_up_after_the_training_data(
    small_world: Path, tmp_path: Path
) -> None:
    model_dir = _model_dir(tmp_path, "2025-11-01T00:00:00Z")
    chosen = sources.held_out(small_world, model_dir, 100, 2, seed=3, limit=5)
    users = pq.read_table(small_world / "users.parquet").to_pandas().set_index("user_id")
    signups = users.loc[[listener.world_id for listener in chosen], "signup_ts"]
    assert len(set(signups.index)) == 100
    assert (signups > sources.training_cutoff(model_dir)).all()
    assert chosen == sources.held_out(small_world, model_dir, 100, 2, seed=3, limit=5)
    later = int((users["signup_ts"] > sources.training_cutoff(model_dir)).sum())
    with pytest.raises(sources.ListenerError, match="signed up after"):
        sources.held_out(small_world, model_dir, later + 1, 2, seed=3, limit=5)


def test_fresh_listeners_live_in_the_same_world_but_are_new(
    small_world: Path, tmp_path: Path
) -> None:
    chosen, world = sources.fresh(small_world, tmp_path / "fresh", 40, 4, limit=5)
    assert len(chosen) == 40
    assert {listener.day for listener in chosen} == {0, 1, 2, 3}
    assert sources.same_world(small_world, world)
    known = set(pq.read_table(small_world / "users.parquet").column("user_id").to_pylist())
    assert not known & {listener.world_id for listener in chosen}
