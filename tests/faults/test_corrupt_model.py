"""Fault 4: a corrupt model artifact. ``python -m container.serve`` on it never answers 200 on
``/ping``: it exits non-zero (uvicorn's 3, startup failed) with the reason in its log. Deployed
to the local stack, it is rolled back: the previous model keeps serving."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from container.serve import command as serve_command
from local import build, deployment, pipeline, up
from local.deployment import Deployment
from local.pipeline import PipelineError
from local.ports import free_port
from local.processes import Child, StartupError
from local.stack import Stack
from tests.conftest import REPO_ROOT

STARTUP_FAILED = 3  # uvicorn's exit status when the app's startup fails


def truncated_tarball(good: Path, bad: Path) -> str:
    data = (good / "model.tar.gz").read_bytes()
    (bad / "model.tar.gz").write_bytes(data[: len(data) // 2])
    return "not a readable model.tar.gz"


def garbage_model_file(good: Path, bad: Path) -> str:
    shutil.copy(good / "model.json", bad / "model.json")
    (bad / "model.txt").write_text("tree\nnot a LightGBM model at all\n")
    return "model.txt is not a LightGBM model"


def wrong_feature_spec(good: Path, bad: Path) -> str:
    """A spec consistent in itself, but five genres short of what the booster was trained on."""
    shutil.copy(good / "model.txt", bad / "model.txt")
    document = json.loads((good / "model.json").read_text())
    spec = document["feature_spec"]
    block = next(b for b in spec["features"] if b["encoding"] == "multi_hot")
    dropped = {f"{block['source']}={level}" for level in block["levels"][-5:]}
    block["levels"] = block["levels"][:-5]
    spec["columns"] = [c for c in spec["columns"] if c not in dropped]
    (bad / "model.json").write_text(json.dumps(document))
    return "the feature spec has 19 columns, the model 24"


CORRUPTIONS: dict[str, Callable[[Path, Path], str]] = {
    "truncated model.tar.gz": truncated_tarball,
    "garbage model file": garbage_model_file,
    "wrong feature spec": wrong_feature_spec,
}


def _pings(url: str, process: subprocess.Popen[bytes], seen: list[int]) -> None:
    """Record every /ping status until the process exits."""
    while process.poll() is None:
        try:
            with urllib.request.urlopen(url + "/ping", timeout=1) as response:
                seen.append(response.status)
        except OSError:
            pass
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Each corruption served at once (they fail in parallel): exit status, log, pings, and
    the text the log must contain."""
    runs = {}
    for name, corrupt in CORRUPTIONS.items():
        bad = tmp_path_factory.mktemp("bad-model")
        expected = corrupt(trained_model_dir, bad)
        port = free_port()
        process = subprocess.Popen(serve_command(bad, port, workers=1), cwd=REPO_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        pings: list[int] = []
        watcher = threading.Thread(target=_pings, args=(f"http://127.0.0.1:{port}", process, pings))
        watcher.start()
        runs[name] = (process, watcher, pings, expected)
    results = {}
    for name, (process, watcher, pings, expected) in runs.items():
        log, _ = process.communicate(timeout=120)
        watcher.join()
        results[name] = (process.returncode, log.decode(), pings, expected)
    return results


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_model_never_reports_healthy_and_exits(served, corruption):
    status, log, pings, expected = served[corruption]
    print(f"{corruption}: exit {status}, /ping answers {sorted(set(pings))}, "
          f"log: {log.strip().splitlines()[-2:]}")  # fmt: skip
    assert status == STARTUP_FAILED
    assert 200 not in pings
    assert expected in log
    assert "Application startup failed" in log


def test_a_corrupt_deployment_is_rolled_back_and_the_previous_model_keeps_serving(
    trained_model_dir, tmp_path
):
    """The local stack's "update endpoint" (``local.up.redeploy``, what ``make retrain``'s
    deployment triggers): a model that does not start is replaced by the previous one again."""
    stack = Stack(str(tmp_path / "stack"), model_port=free_port())
    bad = tmp_path / "bad-model"
    bad.mkdir()
    truncated_tarball(trained_model_dir, bad)
    server = up.wait_ready(stack, up.launch_model_server(stack, trained_model_dir))
    try:
        version = _ping(stack.model_url)["model_version"]
        server, served = up.redeploy(stack, server, bad, previous=trained_model_dir)
        assert served == trained_model_dir
        assert _ping(stack.model_url)["model_version"] == version
        with pytest.raises(StartupError):  # no previous model to go back to: the stack says so
            server, _ = up.redeploy(stack, server, bad)
        assert not server.alive()
    finally:
        server.stop()


def _ping(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url + "/ping", timeout=5) as response:
        assert response.status == 200
        return dict(json.loads(response.read()))


def test_a_deployment_the_stack_does_not_serve_is_not_left_recorded(tmp_path):
    """``make retrain``'s update-endpoint step: when the stack does not serve the new model in
    time (it rolled a corrupt one back), the previous deployment is recorded again, so the next
    ``make local`` does not start on the rejected model."""
    stack = Stack(str(tmp_path / "stack"), model_port=free_port())  # nothing serves there
    models = [tmp_path / "m1", tmp_path / "m2"]
    for model in models:
        model.mkdir()
    previous, rejected = (Deployment(str(m), "dataset") for m in models)
    deployment.write(stack, previous)
    with pytest.raises(PipelineError, match="previous model keeps serving"):
        pipeline.update_endpoint(stack, rejected, previous, "m2", timeout_s=0.2)
    assert deployment.read(stack) == previous
    deployment.discard(stack)  # nothing deployed before: nothing recorded after
    with pytest.raises(PipelineError):
        pipeline.update_endpoint(stack, rejected, None, "m2", timeout_s=0.2)
    assert deployment.read(stack) is None


def test_a_canary_that_fails_keeps_the_previous_model_serving_and_the_baseline(
    trained_model_dir, small_world, tmp_path, monkeypatch, capsys
):
    """``make retrain`` against a running stack (``local.up``'s supervisor) with a new model
    that cannot start: the stack rolls it back, the run fails at update-endpoint saying so
    (before batch scoring), the previous model keeps serving and stays the baseline (promoted:
    the next run's gate compares against it)."""
    stack = Stack(str(tmp_path / "stack"), model_port=free_port())
    stack.save()
    (stack.dir / "model").mkdir()
    (stack.dir / "model" / "stamp.json").write_text(json.dumps({"data": str(small_world)}))
    previous = Deployment(str(trained_model_dir), build.dataset_fingerprint(small_world))
    deployment.write(stack, previous)
    deployment.promote(stack, previous)
    baselines: list[Path | None] = []

    def train(data, out, rebuild, baseline=None, hyperparameters=()):  # passes the gate
        baselines.append(baseline)
        out.mkdir(parents=True)
        truncated_tarball(trained_model_dir, out)
        metrics = {"model_version": "canary-that-cannot-start", "gate": {"passed": True}}
        (out / "metrics.json").write_text(json.dumps(metrics))
        return True

    monkeypatch.setattr(build, "model", train)
    for key, value in stack.handler_env().items():  # what the run sets, undone afterwards
        monkeypatch.setenv(key, value)
    server = up.wait_ready(stack, up.launch_model_server(stack, trained_model_dir))
    sentinel = Child("sentinel", [sys.executable, "-c", "import time; time.sleep(900)"],
                     stack.dir / "logs" / "sentinel.log")  # fmt: skip
    children = [server, sentinel]  # the supervisor returns once the sentinel is stopped
    supervisor = threading.Thread(
        target=up.supervise, args=(stack, server, trained_model_dir, children), daemon=True
    )
    try:
        version = _ping(stack.model_url)["model_version"]
        supervisor.start()
        assert pipeline.main(["--dir", str(stack.dir)]) == 1
        err = capsys.readouterr().err
        assert "canary failed, model not promoted" in err, err
        assert "rolled model canary-that-cannot-start back" in err, err
        assert f"the previous model keeps serving (model {version})" in err, err
        assert _ping(stack.model_url)["model_version"] == version
        assert baselines == [trained_model_dir]
        assert deployment.read(stack) == previous
        assert deployment.promoted(stack, previous.dataset) == previous
        assert not (stack.dir / "batch").exists()  # the run stopped at update-endpoint
    finally:
        sentinel.stop()
        supervisor.join(timeout=60)
        for child in children:
            child.stop()
