"""End to end on a small synthetic world from the world CLI (one per session)."""

from __future__ import annotations

import json

from tests.training.model.conftest import FAST_HP
from tests.training.model.test_train_cli import assert_metrics_shape
from training.model.artifact import load_artifact
from training.model.features import encode_instances
from training.model.train import main


def test_train_on_a_small_world(world_dir, tmp_path, capsys):
    model_dir = tmp_path / "model"
    args = ["--data", str(world_dir), "--model-dir", str(model_dir), "--no-progress"]
    args += [a for k, v in FAST_HP.items() for a in ("--hp", f"{k}={v}")]
    code = main([*args, "--report", str(tmp_path / "report")])
    out = capsys.readouterr().out
    doc = json.loads((model_dir / "metrics.json").read_text())
    assert_metrics_shape(doc)
    assert code == (0 if doc["gate"]["passed"] else 1), out
    assert "lightgbm" in out
    assert "global_popular" in out
    artifact = load_artifact(model_dir / "model.tar.gz")
    instance = {"age": 31, "gender": "f", "region": "nowhere", "selected_genres": ["Jazz", "Polka"]}
    encoded = encode_instances(artifact.spec, [instance])
    assert encoded.unknown_genres == [["Polka"]]
    proba = artifact.predict_proba(encoded.matrix)
    assert proba.shape == (1, len(artifact.class_labels))
    assert abs(proba.sum() - 1) < 1e-6
    assert (tmp_path / "report" / "index.html").is_file()
