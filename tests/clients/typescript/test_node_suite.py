"""The TypeScript client's own tests (clients/typescript/test, Node's test runner), run by
``make test``: installs the package's pinned dependencies (``npm ci``, when node_modules is
missing or older than package-lock.json), builds it (``npm run build``), then runs every test
file with ``node --test``: the unit tests against a scripted local server, the check that
src/schema.d.ts is regenerated from docs/openapi.json, and the tests against the session's local
stack, whose address and credentials go in the environment (a known listener's token, another
listener's, the admin key, the local operator's ID token for the console's admin routes, and a
second gateway in the server access mode for SigV4).

``MUSICREC_STACK_DIR=DIR`` runs them against a stack already running from ``DIR`` instead."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from local.cognito import listener_token, operator_token
from local.ports import free_port
from local.processes import port_answers
from local.stack import Stack
from tests.conftest import REPO_ROOT
from tests.local_stack import a_listener, session_or_running_stack

pytestmark = pytest.mark.slow
PACKAGE = REPO_ROOT / "clients" / "typescript"
NPM_TIMEOUT_S = 600
SUITE_TIMEOUT_S = 600
GATEWAY_START_S = 60
LOCAL_REGION = "us-east-1"  # local.aws.REGION; the local keys are test/test
SUMMARY = re.compile(r"^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$", re.MULTILINE)


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> str:
    """Run ``command`` in the package; fail the test with its output unless it succeeds."""
    try:
        done = subprocess.run(command, cwd=PACKAGE, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        partial = "".join(_text(part) for part in (exc.stdout, exc.stderr))
        pytest.fail(f"{' '.join(command)}: no end after {timeout} s\n{partial}")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{output}", pytrace=False)
    return output


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _stale(modules: Path) -> bool:
    """node_modules missing, or older than package-lock.json (npm writes its own copy there)."""
    installed = modules / ".package-lock.json"
    lock = PACKAGE / "package-lock.json"
    return not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime


@pytest.fixture(scope="module")
def built() -> Path:
    """The package installed and built (dist/)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the TypeScript client's tests need Node.js 20+ and npm on the PATH")
    if _stale(PACKAGE / "node_modules"):
        _run([npm, "ci", "--no-audit", "--no-fund"], NPM_TIMEOUT_S)  # its `prepare` builds
    else:
        _run([npm, "run", "build"], NPM_TIMEOUT_S)
    return PACKAGE


@pytest.fixture(scope="module")
def node_stack(request: pytest.FixtureRequest) -> Stack:
    """The local stack the tests call (the session's, or ``MUSICREC_STACK_DIR``'s)."""
    return session_or_running_stack(request)


@pytest.fixture(scope="module")
def server_gateway(node_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second gateway of the stack in the ``server`` access mode (SigV4), as ``make local
    ACCESS=server`` serves the app routes, on a port of its own: its URL."""
    stack = replace(node_stack, access_mode="server", gateway_port=free_port())
    log = tmp_path_factory.mktemp("ts-server-gateway") / "gateway.log"
    command = [sys.executable, "-m", "tests.clients.python.server_gateway",
               "--dir", str(node_stack.dir), "--port", str(stack.gateway_port)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with log.open("w") as out:
        child = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + GATEWAY_START_S
        while not port_answers("127.0.0.1", stack.gateway_port):
            if child.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server-mode gateway did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield stack.gateway_url
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)


def test_the_typescript_client_suite(built: Path, node_stack: Stack, server_gateway: str) -> None:
    known = a_listener(node_stack)
    other = f"sdk-ts-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "MUSICREC_URL": node_stack.gateway_url,
        "MUSICREC_API_KEY": node_stack.api_key,
        "MUSICREC_USER": known,
        "MUSICREC_TOKEN": listener_token(known, node_stack.aws_url),
        "MUSICREC_OTHER_USER": other,
        "MUSICREC_OTHER_TOKEN": listener_token(other, node_stack.aws_url),
        "MUSICREC_ADMIN_KEY": node_stack.admin_key,
        "MUSICREC_OPERATOR_TOKEN": operator_token(node_stack.aws_url),
        "MUSICREC_SERVER_URL": server_gateway,
        "MUSICREC_AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    files = sorted(str(path.relative_to(built)) for path in (built / "test").glob("*.test.js"))
    assert "test/stack.test.js" in files
    output = _run([shutil.which("node") or "node", "--test", "--test-reporter=tap", *files],
                  SUITE_TIMEOUT_S, env)  # fmt: skip
    summary = {name: int(count) for name, count in SUMMARY.findall(output)}
    assert summary.get("fail") == 0, output
    assert summary.get("skipped") == 0, f"tests were skipped:\n{output}"
    assert summary.get("pass", 0) > 0, output
    print(f"node --test: {summary}")
