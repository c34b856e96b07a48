"""Start the inference server as a real process, as the image would run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from container.serve import command as serve_command
from local.ports import free_port
from tests.conftest import REPO_ROOT


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = "application/json",
        timeout: float = 10,
    ) -> Response:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if content_type is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers), err.read())

    def post_json(self, path: str, doc: Any) -> Response:
        return self.request("POST", path, json.dumps(doc).encode())


@contextmanager
def running_server(
    model_dir: Path,
    workers: int = 1,
    python: str = sys.executable,
    cwd: Path = REPO_ROOT,
    startup_s: float = 90,
) -> Iterator[Server]:
    """Run ``python -m container.serve`` (from ``cwd``) until the block ends, then SIGTERM it."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    process = subprocess.Popen(
        serve_command(model_dir, port, workers, python),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_ready(server, startup_s)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _, err = server.process.communicate()
            raise RuntimeError(f"server exited with {server.process.returncode}: {err.decode()}")
        try:
            if server.request("GET", "/ping", content_type=None, timeout=1).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready within {timeout_s} s")


@pytest.fixture(scope="module")
def server(trained_model_dir: Path) -> Iterator[Server]:
    with running_server(trained_model_dir, workers=2) as srv:
        yield srv
