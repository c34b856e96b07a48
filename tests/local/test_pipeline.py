"""`make retrain` without a running stack fails at once, saying what to do; the update-endpoint
step promotes a model only once it serves and answers a canary request."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from lambdas.handlers import loader as loader_handler
from local import aws, deployment, pipeline
from local.deployment import Deployment
from local.pipeline import PipelineError
from local.ports import free_port
from local.stack import Stack
from tests.training.batch.conftest import PARAMS, world_before
from training.batch.run import run as batch_run


def test_retrain_without_a_stack_says_to_start_one(tmp_path, capsys):
    assert pipeline.main(["--dir", str(tmp_path)]) == 1
    assert "make local" in capsys.readouterr().err


def test_retrain_against_a_stack_that_died_fails_before_training(tmp_path, capsys):
    Stack(str(tmp_path), model_port=free_port()).save()  # stack.json of a stack killed -9
    assert pipeline.main(["--dir", str(tmp_path)]) == 1
    assert "no local stack answers" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


class _Model(http.server.BaseHTTPRequestHandler):
    """An inference server serving model ``new``: /ping, and /invocations with ``status``."""

    status = 200

    def do_GET(self) -> None:
        self._answer(200, {"status": "ok", "model_version": "new"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(self.status, {"genres": [], "model_version": "new"})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("status", [200, 500])
def test_a_served_model_is_promoted_only_when_it_answers_the_canary(tmp_path, status):
    """A model the stack serves but that answers wrongly (the local alarms' case) is not
    promoted; the previous deployment is recorded again, so the stack goes back to it."""
    handler = type("Model", (_Model,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack = Stack(str(tmp_path / "stack"), model_port=server.server_address[1])
    models = [tmp_path / "m1", tmp_path / "m2"]
    for model in models:
        model.mkdir()
    previous, new = (Deployment(str(m), "dataset") for m in models)
    deployment.write(stack, previous)
    deployment.promote(stack, previous)
    try:
        if status == 200:
            pipeline.update_endpoint(stack, new, previous, "new", timeout_s=5)
            assert deployment.promoted(stack, "dataset") == new
            assert deployment.read(stack) == new
        else:
            with pytest.raises(PipelineError, match="answered a canary request with 500"):
                pipeline.update_endpoint(stack, new, previous, "new", timeout_s=5)
            assert deployment.promoted(stack, "dataset") == previous
            assert deployment.read(stack) == previous
    finally:
        server.shutdown()
        server.server_close()


def test_the_train_step_records_the_run_passed_or_refused(tmp_path, local_aws, monkeypatch):
    """The local record step: the model directory uploaded as SageMaker uploads a job's
    model.tar.gz, and the loader's record-run on it; a refused run is recorded too."""
    stack = Stack(str(tmp_path / "stack"), aws_port=int(local_aws.rsplit(":", 1)[1]))
    for name, value in stack.handler_env().items():
        monkeypatch.setenv(name, value)
    loader_handler._clients.cache_clear()
    s3 = aws.client("s3", stack.aws_url)
    s3.create_bucket(Bucket=stack.bucket)
    for passed, stamp in ((True, "20261214T030000Z"), (False, "20261215T030000Z")):
        model_dir = tmp_path / stamp
        model_dir.mkdir()
        (model_dir / "model.txt").write_text("tree")
        run = {"started_at": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T03:00:00Z",
               "passed": passed, "reason": "passed: ..." if passed else "rejected: ...",
               "checks": [], "metrics": {}, "model_version": f"onboarding-{stamp}"}  # fmt: skip
        (model_dir / "run.json").write_text(json.dumps(run))

        recorded = pipeline.record_run(stack, model_dir, f"local-{stamp}")

        assert recorded is not None
        assert recorded["passed"] is passed
        assert recorded["run_id"] == f"{stamp}-local-{stamp}"
        stored = json.loads(s3.get_object(Bucket=stack.bucket, Key=recorded["key"])["Body"].read())
        assert stored["model_version"] == f"onboarding-{stamp}"
        assert recorded["key"] == f"runs/{stamp}-local-{stamp}.json"
        artifact = f"models/local-{stamp}/output/model.tar.gz"  # where SageMaker puts it
        assert s3.head_object(Bucket=stack.bucket, Key=artifact)["ContentLength"] > 0
    loader_handler._clients.cache_clear()


def test_a_run_that_cannot_be_recorded_is_said_and_does_not_stop_the_run(tmp_path, capsys):
    stack = Stack(str(tmp_path / "stack"), aws_port=free_port())  # no local AWS answers
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "run.json").write_text("{}")
    assert pipeline.record_run(stack, model_dir, "local-x") is None
    assert "the run was not recorded: uploading the model artifact" in capsys.readouterr().err


def test_a_refused_batch_version_stops_the_run_and_the_active_one_keeps_serving(
    small_world, tmp_path, monkeypatch
):
    """The batch-score step applies the batch gate against the loader's active version: a
    worse version (popularity only) fails the run naming the metric and its interval, and
    nothing is merged, published, loaded, switched or recorded as deployed."""
    stack = Stack(str(tmp_path / "stack"), model_port=free_port())
    active = stack.dir / "batch" / "active"  # the loader's pointer names it (below)
    active.mkdir(parents=True)
    batch_run(world_before(small_world, tmp_path / "older", 28), active, PARAMS, progress=False)
    monkeypatch.setattr(pipeline, "active_pointer", lambda tables: {"version": "active"})
    monkeypatch.setattr(pipeline.build, "tables", lambda stack: None)
    monkeypatch.setattr(Stack, "handler_env", lambda self: {})

    def trained(data, model_dir, *args):  # the train step: a model that passed its gate
        model_dir.mkdir(parents=True)
        gate = {"passed": True, "reason": "passed"}
        (model_dir / "metrics.json").write_text(json.dumps({"model_version": "m2", "gate": gate}))
        return True

    monkeypatch.setattr(pipeline.build, "model", trained)
    monkeypatch.setattr(pipeline, "record_run", lambda *args: None, raising=False)
    monkeypatch.setattr(pipeline, "update_endpoint", lambda *args, **kwargs: None)
    calls = []
    monkeypatch.setattr(pipeline, "upload", lambda *args: calls.append("publish"))
    monkeypatch.setattr(pipeline, "invoke_loader", lambda event: calls.append(event["action"]))
    monkeypatch.setattr(pipeline.deployment, "write", lambda *args: calls.append("deploy"))
    monkeypatch.setattr(pipeline, "BATCH_ARGS", (
        "--no-progress", "--n", str(PARAMS.n), "--holdout-days", str(PARAMS.holdout_days),
        "--eval-users", str(PARAMS.eval_users), "--regional-blend", "100",
    ))  # fmt: skip
    refused = r"batch gate: refused: .*@20 .*\(95% CI -[0-9.]+ to -[0-9.]+\)"
    with pytest.raises(PipelineError, match=refused) as failed:
        pipeline.run(stack, small_world, [])
    assert "the active version active serves" in str(failed.value)
    assert calls == []  # not published, loaded, switched, nor recorded as deployed
    (version,) = (p for p in (stack.dir / "batch").iterdir() if p.name != "active")
    assert not (version / "manifest.json").exists()
    assert json.loads((version / "gate.json").read_text())["passed"] is False
