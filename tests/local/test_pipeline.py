"""`make retrain` without a running stack fails at once, saying what to do; the update-endpoint
step promotes a model only once it serves and answers a canary request."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from local import deployment, pipeline
from local.deployment import Deployment
from local.pipeline import PipelineError
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
