"""The local stack an A/B run talks to: the one already running in a directory, else one started
there with ``python -m local.up`` on free ports and stopped afterwards (the directory keeps the
world, model and lists, so the next start only reloads the lists into the fresh local AWS)."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.processes import Child, port_answers
from local.stack import Stack

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 900
STOP_GRACE_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running(root: Path) -> Stack | None:
    """The stack running in ``root``, if its gateway answers."""
    try:
        stack = Stack.load(root)
    except FileNotFoundError:
        return None
    return stack if port_answers("127.0.0.1", stack.gateway_port) else None


@contextmanager
def local_stack(root: Path, users: int, seed: int) -> Iterator[tuple[Stack, bool]]:
    """The stack in ``root`` and whether this call started it."""
    found = running(root)
    if found is not None:
        yield found, False
        return
    root.mkdir(parents=True, exist_ok=True)
    (root / "stack.json").unlink(missing_ok=True)
    command = [sys.executable, "-m", "local.up", "--dir", str(root), "--users", str(users),
               "--seed", str(seed), "--gateway-port", str(free_port()),
               "--model-port", str(free_port()), "--aws-port", str(free_port())]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    up = Child("local stack", command, root / "up.log", env, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + STARTUP_S
        while (stack := running(root)) is None:
            if not up.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"local stack did not start: see {up.log}")
            time.sleep(1)
        yield stack, True
    finally:
        up.stop(grace_s=STOP_GRACE_S)  # SIGTERM: local.up stops its children and exits
