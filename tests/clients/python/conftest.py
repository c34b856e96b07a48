"""Fixtures of the Python client's tests: a scripted local HTTP server (unit tests), and clients
of the session's local stack (``stack``, tests/local_stack.py) with each kind of credentials.

``MUSICREC_STACK_DIR=DIR`` runs the stack tests against a stack already running from ``DIR``
(``python -m local.up --dir DIR ...``) instead of starting the session's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from musicrec_client import AdminKeyAuth, ListenerAuth, MusicRec, OperatorTokenAuth, RetryPolicy

from local.cognito import listener_token, operator_token
from local.ports import free_port
from local.processes import port_answers
from local.stack import Stack
from tests.clients.python.fake_api import FakeApi, fake_api
from tests.conftest import REPO_ROOT
from tests.local_stack import session_or_running_stack

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
GATEWAY_START_S = 60


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with fake_api() as server:
        yield server


@pytest.fixture
def client(api: FakeApi) -> Iterator[MusicRec]:
    """A client of the scripted server, retrying fast."""
    with MusicRec(api.url, ListenerAuth("key", "token"), timeout=2.0, retry=FAST) as made:
        yield made


@pytest.fixture(scope="session")
def api_stack(request: pytest.FixtureRequest) -> Stack:
    """The local stack the stack tests call (the session's, or ``MUSICREC_STACK_DIR``'s)."""
    return session_or_running_stack(request)


@pytest.fixture(scope="session")
def listener_client(api_stack: Stack) -> Iterator[Callable[[str], MusicRec]]:
    """Clients acting as a listener's app (the app key and that listener's ID token)."""
    made: list[MusicRec] = []

    def make(listener: str) -> MusicRec:
        auth = ListenerAuth(api_stack.api_key, lambda: listener_token(listener, api_stack.aws_url))
        made.append(MusicRec(api_stack.gateway_url, auth))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture(scope="session")
def operator(api_stack: Stack) -> Iterator[MusicRec]:
    """An operator's client of the catalogue's route (the local gateway's admin key)."""
    with MusicRec(api_stack.gateway_url, AdminKeyAuth(api_stack.admin_key)) as made:
        yield made


@pytest.fixture(scope="session")
def console(api_stack: Stack) -> Iterator[MusicRec]:
    """The console's client: the local operator's ID token (the operators' pool), fetched (and
    refreshed) per attempt."""
    auth = OperatorTokenAuth(lambda: operator_token(api_stack.aws_url))
    with MusicRec(api_stack.gateway_url, auth, timeout=30.0) as made:
        yield made


@pytest.fixture(scope="session")
def server_mode(api_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second gateway of the same stack in the ``server`` access mode (SigV4), as ``make
    local ACCESS=server`` serves the app routes, on a port of its own."""
    stack = replace(api_stack, access_mode="server", gateway_port=free_port())
    log = tmp_path_factory.mktemp("server-gateway") / "gateway.log"
    command = [sys.executable, "-m", "tests.clients.python.server_gateway",
               "--dir", str(api_stack.dir), "--port", str(stack.gateway_port)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with log.open("w") as out:
        child = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + GATEWAY_START_S
        while not port_answers("127.0.0.1", stack.gateway_port):
            if child.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server-mode gateway did not start: {_tail(log)}")
            time.sleep(0.2)
        yield stack
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]
