"""Start a whole local stack (``python -m local.up``) as a child process on free ports, wait until
it serves, stop it: what the tests and the benchmarks that need the whole system share."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local.ports import free_port
from local.processes import Child, StartupError, port_answers
from local.stack import Stack

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 900.0
STOP_GRACE_S = 60.0
TAIL_CHARS = 4000


@dataclass(frozen=True)
class Launched:
    """A stack this process started, and the ``local.up`` process running it."""

    stack: Stack
    up: Child


def running(root: Path) -> Stack | None:
    """The stack running in ``root``: its ``stack.json`` written and its gateway answering."""
    try:
        stack = Stack.load(root)
    except FileNotFoundError:
        return None
    return stack if port_answers("127.0.0.1", stack.gateway_port) else None


def log_tail(path: Path, chars: int = TAIL_CHARS) -> str:
    """The last ``chars`` characters of a log (empty when there is none)."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return ""


def up_command(root: Path, users: int, seed: int) -> list[str]:
    """``python -m local.up`` building in ``root``, on three free ports."""
    return [sys.executable, "-m", "local.up", "--dir", str(root), "--users", str(users),
            "--seed", str(seed), "--gateway-port", str(free_port()),
            "--model-port", str(free_port()), "--aws-port", str(free_port())]  # fmt: skip


def start(
    root: Path, users: int, seed: int, timeout_s: float = STARTUP_S,
    env: Mapping[str, str] | None = None,
) -> Launched:  # fmt: skip
    """Start a stack of a ``users``-listener world in ``root`` and wait until it serves; a
    stack that exits or is not ready within ``timeout_s`` is stopped and a
    :class:`StartupError` shows the tail of its log. ``env``: variables set for the stack (its
    functions' settings) on top of this process's."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "stack.json").unlink(missing_ok=True)  # a stale one would look ready
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO_ROOT)}
    up = Child("local stack", up_command(root, users, seed), root / "up.log", env, cwd=REPO_ROOT)
    try:
        return Launched(_wait_ready(up, root, timeout_s), up)
    except BaseException:  # not ready, or interrupted meanwhile: nothing is left running
        up.stop(grace_s=STOP_GRACE_S)
        raise


def _wait_ready(up: Child, root: Path, timeout_s: float) -> Stack:
    deadline = time.monotonic() + timeout_s
    while (stack := running(root)) is None:
        if not up.alive():
            raise _not_started(up, root, f"exited with {up.process.returncode}")
        if time.monotonic() > deadline:
            raise _not_started(up, root, f"was not ready after {timeout_s:.0f} s")
        time.sleep(1)
    return stack


def _not_started(up: Child, root: Path, why: str) -> StartupError:
    return StartupError(
        f"the local stack in {root} {why}; the end of {up.log}:\n{log_tail(up.log)}"
    )


def stop(launched: Launched, grace_s: float = STOP_GRACE_S) -> int:
    """SIGTERM ``local.up`` (it stops its children and exits), SIGKILL it after ``grace_s``;
    its exit code (0: it stopped cleanly)."""
    launched.up.stop(grace_s=grace_s)
    return int(launched.up.process.returncode)


@contextmanager
def started(root: Path, users: int, seed: int, timeout_s: float = STARTUP_S) -> Iterator[Stack]:
    """A stack started in ``root`` (:func:`start`) for the block, stopped after it."""
    launched = start(root, users, seed, timeout_s)
    try:
        yield launched.stack
    finally:
        stop(launched)
