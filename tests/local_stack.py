"""The local stack shared by every test package that talks HTTP to the whole system: one
``python -m local.up`` on a 3,000-listener world, started once per session on ports of its own,
stopped at the end (the e2e, fault, fuzz, load and A/B tests call it through its gateway). Tests
that post events see each other's events: count only your own listeners' events."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.config import OPE_LOG_BUDGET_ENV
from local import launch
from local.processes import StartupError, port_answers
from local.stack import Stack

STARTUP_S = 600
# The functions' settings in the shared stack: the console's experiments route reads the bandits'
# logs for 1 s instead of 6 (the fuzz tests send it 25 requests; the budget's own behaviour is
# tested in tests/lambdas/api/admin/test_experiments.py).
STACK_ENV = {OPE_LOG_BUDGET_ENV: "1"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    try:
        launched = launch.start(root, users=3000, seed=11, timeout_s=STARTUP_S, env=STACK_ENV)
    except StartupError as exc:
        pytest.fail(str(exc))
    running = launched.stack
    try:
        yield running
    finally:
        code = launch.stop(launched)
    assert code == 0, launch.log_tail(launched.up.log)
    children = pids(running)  # the last ones (retrain restarts the inference server)
    for port in (running.gateway_port, running.model_port, running.aws_port):  # nothing left
        assert not port_answers("127.0.0.1", port), f"port {port} still answers after stop"
    for name, pid in children.items():
        assert not _running(pid), f"{name} (pid {pid}) still runs after the stack stopped"


def session_or_running_stack(request: pytest.FixtureRequest) -> Stack:
    """The local stack in ``MUSICREC_STACK_DIR`` when set (one already running, to iterate on a
    test package quickly), else the session's :func:`stack`."""
    directory = os.environ.get("MUSICREC_STACK_DIR")
    if directory:
        return Stack.load(directory)
    stack: Stack = request.getfixturevalue("stack")
    return stack


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


def a_listener(stack: Stack, nth: int = 0) -> str:
    """The ``nth`` listener with a personal list in the stack's first batch file (tests that
    post a listener's events pick their own ``nth``: events change what that listener gets)."""
    import gzip
    import json

    path = next((stack.dir / "batch").glob("local-*/personal/*.gz"))
    with gzip.open(path, "rt") as handle:
        for i, line in enumerate(handle):
            if i == nth:
                return str(json.loads(line)["user_id"])
    raise ValueError(f"{path}: fewer than {nth + 1} listeners")


def listener_like_its_first(version: Path) -> str:
    """The first listener by id in batch version ``version``'s first `personal` file whose
    first ten songs hold one similar to their first (what a play of that first song re-ranks;
    which listener has it depends on the factorisation)."""
    import gzip
    import json

    similar: dict[str, set[str]] = {}
    for path in sorted(version.glob("similar-items/*.gz")):
        with gzip.open(path, "rt") as handle:
            for record in map(json.loads, handle):
                similar[record["item_id"]] = set(record["ids"])
    path = sorted(version.glob("personal/*.gz"))[0]
    with gzip.open(path, "rt") as handle:
        lists = sorted((r["user_id"], r["ids"]) for r in map(json.loads, handle))
    for user, ids in lists:
        if set(ids[1:10]) & similar.get(ids[0], set()):
            return str(user)
    raise ValueError(f"{path}: no listener's first ten hold a song like their first")


def a_listener_like_its_first(stack: Stack) -> str:
    """:func:`listener_like_its_first` in the stack's first batch version."""
    return listener_like_its_first(next((stack.dir / "batch").glob("local-*")))


def pids(stack: Stack) -> dict[str, int]:
    import json

    return dict(json.loads((stack.dir / "pids.json").read_text()))


def stack_dir(stack: Stack) -> Path:
    return stack.dir
