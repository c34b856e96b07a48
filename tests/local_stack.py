"""The local stack shared by every test package that talks HTTP to the whole system: one
``python -m local.up`` on a 3,000-listener world, started once per session on ports of its own,
stopped at the end (the e2e, fault, fuzz, load and A/B tests call it through its gateway). Tests
that post events see each other's events: count only your own listeners' events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.processes import port_answers
from local.stack import Stack
from tests.conftest import REPO_ROOT
from tests.container.conftest import free_port

STARTUP_S = 600


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    ports = [free_port() for _ in range(3)]
    command = [
        sys.executable, "-m", "local.up", "--dir", str(root), "--users", "3000", "--seed", "11",
        "--gateway-port", str(ports[0]), "--model-port", str(ports[1]), "--aws-port", str(ports[2]),
    ]  # fmt: skip
    log = (root / "up.log").open("wb")
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})  # fmt: skip
    deadline = time.monotonic() + STARTUP_S
    while not (root / "stack.json").is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"local stack did not start:\n{(root / 'up.log').read_text()[-4000:]}")
        time.sleep(1)
    running = Stack.load(root)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    assert process.returncode == 0, (root / "up.log").read_text()[-4000:]
    children = pids(running)  # the last ones (retrain restarts the inference server)
    for port in ports:  # nothing left behind
        assert not port_answers("127.0.0.1", port), f"port {port} still answers after stop"
    for name, pid in children.items():
        assert not _running(pid), f"{name} (pid {pid}) still runs after the stack stopped"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not a zombie waiting for its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def a_listener(stack: Stack) -> str:
    import gzip
    import json

    path = next((stack.dir / "batch").glob("local-*/personal/*.gz"))
    with gzip.open(path, "rt") as handle:
        return str(json.loads(handle.readline())["user_id"])


def pids(stack: Stack) -> dict[str, int]:
    import json

    return dict(json.loads((stack.dir / "pids.json").read_text()))


def stack_dir(stack: Stack) -> Path:
    return stack.dir
