"""SageMaker's ``train`` on a temp dir laid out like /opt/ml."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile

from tests.conftest import REPO_ROOT
from tests.training.builders import DatasetBuilder
from tests.training.model.conftest import FAST_HP
from training.model.artifact import load_artifact
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


# The image as SageMaker runs it: `<image> train` as a process (the Dockerfile's ENTRYPOINT is
# `python -m container.entrypoint`), over a root laid out as the state machine's CreateTrainingJob
# makes SageMaker lay out /opt/ml (--prefix stands in for /opt/ml; the image's default).
# The channel names of infra.pipeline_stack's InputDataConfig (tests/infra/test_pipeline_jobs.py
# checks the synthesized definition names exactly these).
TRAIN_CHANNEL, BASELINE_CHANNEL = "train", "baseline"


def _image_train(prefix):
    """``python -m container.entrypoint train --prefix <prefix>``, as the image's ENTRYPOINT."""
    command = ["container.entrypoint", "train", "--prefix", str(prefix), "--no-progress"]
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _sagemaker_tarball(model_dir, out):
    """What SageMaker uploads after a training job: everything in /opt/ml/model, tarred at the
    top level, as <S3OutputPath>/<job>/output/model.tar.gz (the pipeline copies it unchanged to
    models/current/model.tar.gz: the next run's baseline channel)."""
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return out


def _job_layout(prefix, data, baseline=None, hp=None):
    """/opt/ml as CreateTrainingJob (infra.pipeline_stack._training) makes SageMaker mount it:
    the train channel (datasets/current/), the baseline channel (the S3 object
    models/current/model.tar.gz, downloaded as <channel>/model.tar.gz) and hyperparameters.json
    (SageMaker writes every value as a string; the pipeline sets none: {})."""
    shutil.copytree(data, prefix / "input" / "data" / TRAIN_CHANNEL)
    channel = prefix / "input" / "data" / BASELINE_CHANNEL
    channel.mkdir(parents=True)
    if baseline is not None:
        shutil.copy(baseline, channel / "model.tar.gz")
    config = prefix / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(
        json.dumps({k: str(v) for k, v in (hp or {}).items()})
    )
    (prefix / "model").mkdir()  # SageMaker creates the model and output dirs before the job
    (prefix / "output").mkdir()
    return prefix


def test_the_image_trains_twice_the_second_run_gated_against_the_first_as_sagemaker_nests_it(
    tiny_dir, tmp_path, trained
):
    # run 1: the baseline channel holds what docs/deploy.md seeds models/current with (a
    # locally trained model.tar.gz)
    first = _job_layout(tmp_path / "run1", tiny_dir, trained[0] / "model.tar.gz", FAST_HP)
    proc = _image_train(first)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (first / "output" / "failure").exists()
    files = {p.name for p in (first / "model").iterdir()}
    # SageMaker tars /opt/ml/model itself: the files the endpoint and the next run read
    assert {"model.txt", "model.json", "metrics.json"} <= files
    # run 2: the baseline is run 1's artifact as SageMaker uploaded it and the pipeline promoted
    # it: a model.tar.gz of the model dir (holding model.txt, model.json and another tarball)
    promoted = _sagemaker_tarball(first / "model", tmp_path / "model.tar.gz")
    second = _job_layout(tmp_path / "run2", tiny_dir, promoted, FAST_HP)
    proc = _image_train(second)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((second / "model" / "metrics.json").read_text())
    first_version = json.loads((first / "model" / "model.json").read_text())["model_version"]
    assert first_version in json.dumps(metrics["previous_model"])
    # the endpoint serves SageMaker's tarball of the model dir, unpacked into /opt/ml/model
    served = tmp_path / "served"
    with tarfile.open(_sagemaker_tarball(second / "model", tmp_path / "m2.tar.gz")) as tar:
        tar.extractall(served, filter="data")
    assert load_artifact(served).approved


def test_the_image_fails_a_rejected_model_with_a_failure_reason(tiny_dir, tmp_path, trained):
    weak = {**FAST_HP, "num_boost_round": 1, "learning_rate": 1e-6}
    prefix = _job_layout(tmp_path / "ml", tiny_dir, trained[0] / "model.tar.gz", weak)
    proc = _image_train(prefix)
    assert proc.returncode == 1  # non-zero: SageMaker marks the job Failed, the run stops
    reason = (prefix / "output" / "failure").read_text()
    assert "quality gate rejected" in reason  # SageMaker's FailureReason
    assert json.loads((prefix / "model" / "model.json").read_text())["status"] == "rejected"


def test_the_image_with_an_unknown_command_exits_2():
    proc = subprocess.run(
        [sys.executable, "-m", "container.entrypoint", "fit"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "usage" in proc.stderr
