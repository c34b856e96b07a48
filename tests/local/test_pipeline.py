"""`make retrain` without a running stack fails at once, saying what to do."""

from __future__ import annotations

from local import pipeline
from local.ports import free_port
from local.stack import Stack


def test_retrain_without_a_stack_says_to_start_one(tmp_path, capsys):
    assert pipeline.main(["--dir", str(tmp_path)]) == 1
    assert "make local" in capsys.readouterr().err


def test_retrain_against_a_stack_that_died_fails_before_training(tmp_path, capsys):
    Stack(str(tmp_path), model_port=free_port()).save()  # stack.json of a stack killed -9
    assert pipeline.main(["--dir", str(tmp_path)]) == 1
    assert "no local stack answers" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()
