"""SageMaker's ``train`` on a temp dir laid out like /opt/ml."""

from __future__ import annotations

import json
import shutil

from tests.training.builders import DatasetBuilder
from tests.training.model.conftest import FAST_HP
from training.pipeline.sagemaker_train import main


def _layout(prefix, data, hp=None, baseline=None):
    shutil.copytree(data, prefix / "input" / "data" / "train")
    config = prefix / "input" / "config"
    config.mkdir(parents=True)
    hp = {k: str(v) for k, v in {**FAST_HP, **(hp or {})}.items()}  # SageMaker sends strings
    (config / "hyperparameters.json").write_text(json.dumps(hp))
    if baseline is not None:
        channel = prefix / "input" / "data" / "baseline"
        channel.mkdir(parents=True)
        shutil.copy(baseline, channel / "model.tar.gz")
    return prefix


def test_success(tiny_dir, tmp_path, trained):
    prefix = _layout(tmp_path / "ml", tiny_dir, baseline=trained[0] / "model.tar.gz")
    assert main(["--prefix", str(prefix), "--no-progress"]) == 0
    model = prefix / "model"
    assert {"model.tar.gz", "model.txt", "model.json", "metrics.json"} <= {
        p.name for p in model.iterdir()
    }
    assert not (prefix / "output" / "failure").exists()
    assert (prefix / "output" / "data" / "report" / "index.html").is_file()
    doc = json.loads((model / "model.json").read_text())
    assert doc["hyperparameters"]["bootstrap"] == 200  # "200" arrived as a string
    assert "previous_model" in json.loads((model / "metrics.json").read_text())


def test_bad_data_writes_failure(tmp_path):
    data = DatasetBuilder.valid().set("users", 0, gender="q").write(tmp_path / "bad")
    prefix = _layout(tmp_path / "ml", data)
    assert main(["--prefix", str(prefix), "--no-progress"]) == 2
    failure = (prefix / "output" / "failure").read_text()
    assert "not a valid dataset" in failure
    assert len(failure) <= 1001


def test_missing_channel_writes_failure(tmp_path):
    assert main(["--prefix", str(tmp_path), "--no-progress"]) == 2
    assert "train" in (tmp_path / "output" / "failure").read_text()


def test_bad_hyperparameters_write_failure(tiny_dir, tmp_path):
    prefix = _layout(tmp_path / "ml", tiny_dir, hp={"num_leaves": "many"})
    assert main(["--prefix", str(prefix), "--no-progress"]) == 2
    assert "num_leaves" in (prefix / "output" / "failure").read_text()


def test_gate_failure_writes_failure_and_the_artifact(tiny_dir, tmp_path):
    weak = {"num_boost_round": 1, "learning_rate": 1e-6}
    prefix = _layout(tmp_path / "ml", tiny_dir, hp=weak)
    assert main(["--prefix", str(prefix), "--no-progress"]) == 1
    assert "quality gate rejected" in (prefix / "output" / "failure").read_text()
    assert json.loads((prefix / "model" / "model.json").read_text())["status"] == "rejected"
