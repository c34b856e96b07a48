"""``python -m training.model.train`` end to end: metrics.json, artifact, exit codes, bad data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.training.builders import DatasetBuilder
from tests.training.model.conftest import FAST_HP
from tests.training.model.tiny import build_tiny
from training.model.train import main

MODELS = ("lightgbm", "logistic", "rule_selected_popular", "global_popular")


def _hp_args(hp=FAST_HP):
    return [a for k, v in hp.items() for a in ("--hp", f"{k}={v}")]


def assert_metrics_shape(doc):
    assert isinstance(doc["n_test_users"], int)
    assert doc["n_test_users"] > 0
    assert set(doc["models"]) == set(MODELS)
    for name in MODELS:
        assert set(doc["models"][name]) == {"hit@1", "hit@3", "mrr"}
        assert all(isinstance(v, float) for v in doc["models"][name].values())
    assert set(doc["gate"]) == {"passed", "reason"}
    assert isinstance(doc["gate"]["passed"], bool)
    assert isinstance(doc["gate"]["reason"], str)


def test_cli_end_to_end(tiny_dir, tmp_path):
    model_dir, report = tmp_path / "model", tmp_path / "report"
    cmd = [sys.executable, "-m", "training.model.train", "--data", str(tiny_dir)]
    cmd += ["--model-dir", str(model_dir), "--report", str(report), "--no-progress"]
    proc = subprocess.run([*cmd, *_hp_args()], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in MODELS:
        assert name in proc.stdout
    assert "gate: PASSED" in proc.stdout
    doc = json.loads((model_dir / "metrics.json").read_text())
    assert_metrics_shape(doc)
    assert doc["gate"]["passed"] is True
    lightgbm, rule = doc["models"]["lightgbm"], doc["models"]["rule_selected_popular"]
    assert lightgbm["hit@3"] > rule["hit@3"]
    assert {p.name for p in model_dir.iterdir()} == {
        "model.txt",
        "model.json",
        "model.tar.gz",
        "metrics.json",
        "run.json",  # the run record (training.model.run_record)
    }
    page = (report / "index.html").read_text()
    for figure in (
        "listening_by_segment.png",
        "hit_at_k.png",
        "logistic_coefficients.png",
        "lightgbm_importance.png",
    ):
        assert figure in page
        assert (report / figure).stat().st_size > 1000


def test_gate_rejects_a_weak_model_but_writes_it(tiny_dir, tmp_path, capsys):
    model_dir = tmp_path / "weak"
    weak = {**FAST_HP, "num_boost_round": 1, "learning_rate": 1e-6}
    code = main(
        ["--data", str(tiny_dir), "--model-dir", str(model_dir), "--no-progress", *_hp_args(weak)]
    )
    assert code == 1
    doc = json.loads((model_dir / "metrics.json").read_text())
    assert_metrics_shape(doc)
    assert doc["gate"]["passed"] is False
    # one round at a negligible learning rate ranks like global popularity: behind the rule
    assert "hit@1 not worse than the best baseline failed: hit@1" in doc["gate"]["reason"]
    assert json.loads((model_dir / "model.json").read_text())["status"] == "rejected"
    assert (model_dir / "model.tar.gz").is_file()
    assert "rejected" in capsys.readouterr().err


def test_previous_model_in_the_gate(trained, tiny_dir, tmp_path):
    good_dir, _ = trained
    same = tmp_path / "same"
    args = ["--data", str(tiny_dir), "--no-progress", *_hp_args()]
    assert main([*args, "--model-dir", str(same), "--baseline-model", str(good_dir)]) == 0
    doc = json.loads((same / "metrics.json").read_text())
    assert "previous_model" in doc
    assert {c["check"] for c in doc["gate_checks"]} >= {
        "hit@1 not worse than the previous model",
        "hit@3 not worse than the previous model",
    }

    weak = tmp_path / "weak"
    weak_hp = _hp_args({**FAST_HP, "num_boost_round": 1, "learning_rate": 1e-6})
    code = main(
        [
            "--data",
            str(tiny_dir),
            "--no-progress",
            *weak_hp,
            "--model-dir",
            str(weak),
            "--baseline-model",
            str(good_dir / "model.tar.gz"),
        ]
    )
    assert code == 1
    reason = json.loads((weak / "metrics.json").read_text())["gate"]["reason"]
    assert "not worse than the previous model failed" in reason


def _run_bad(args, capsys):
    code = main([*args, "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    return err


def test_invalid_dataset(tmp_path, capsys):
    data = DatasetBuilder.valid().set("users", 0, gender="q").write(tmp_path / "bad")
    err = _run_bad(["--data", str(data), "--model-dir", str(tmp_path / "m")], capsys)
    assert "error:" in err
    assert "not a valid dataset" in err
    assert "gender" in err
    assert not (tmp_path / "m" / "model.tar.gz").exists()


def test_missing_dataset(tmp_path, capsys):
    err = _run_bad(["--data", str(tmp_path / "nope"), "--model-dir", str(tmp_path / "m")], capsys)
    assert "no such dataset directory" in err


def test_window_without_labels(tiny_dir, tmp_path, capsys):
    args = ["--data", str(tiny_dir), "--model-dir", str(tmp_path / "m")]
    err = _run_bad([*args, "--label-window", "200:300"], capsys)
    assert "no labels" in err
    assert "200:300" in err


def test_one_class_only(tmp_path, capsys):
    data = build_tiny(tmp_path / "one", n_users=200, genres=("Rock",))
    err = _run_bad(["--data", str(data), "--model-dir", str(tmp_path / "m")], capsys)
    assert "one class only" in err


@pytest.mark.parametrize(
    ("hp", "message"),
    [("nope=1", "unknown hyperparameter"), ("min_plays=lots", "expected int"), ("x", "key=value")],
)
def test_bad_hyperparameters(tiny_dir, tmp_path, capsys, hp, message):
    args = ["--data", str(tiny_dir), "--model-dir", str(tmp_path / "m"), "--hp", hp]
    assert message in _run_bad(args, capsys)


def test_bad_label_window(tiny_dir, tmp_path, capsys):
    args = ["--data", str(tiny_dir), "--model-dir", str(tmp_path / "m"), "--label-window", "9"]
    assert "START:END" in _run_bad(args, capsys)


def test_random_split_and_hyperparameters_from_the_cli(tiny_dir, tmp_path):
    model_dir = tmp_path / "m"
    args = ["--data", str(tiny_dir), "--model-dir", str(model_dir), "--no-progress"]
    assert main([*args, "--split", "random", "--min-plays", "4", *_hp_args()]) == 0
    doc = json.loads((model_dir / "model.json").read_text())
    assert doc["hyperparameters"]["split"] == "random"
    assert doc["hyperparameters"]["min_plays"] == 4
    assert doc["training_data"]["split"]["kind"] == "random"
