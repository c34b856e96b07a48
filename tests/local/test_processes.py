"""Supervised children stop with their whole process group."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from local.processes import Child, StartupError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                          text=True).stdout.strip() not in ("", "Z")  # fmt: skip


def test_stop_ends_the_child_and_its_own_children(tmp_path):
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(100)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(100)\n"
    )
    child = Child("sleeper", [sys.executable, "-c", script], tmp_path / "log")
    deadline = time.monotonic() + 10
    while not (tmp_path / "log").read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    grandchild = int((tmp_path / "log").read_text().split()[0])
    assert _alive(grandchild)
    child.stop(grace_s=5)
    time.sleep(0.5)
    assert not child.alive()
    assert not _alive(grandchild)


def test_a_child_that_dies_is_reported(tmp_path):
    child = Child("quitter", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "log")
    with pytest.raises(StartupError, match="exited with 3"):
        child.wait_http("http://127.0.0.1:9/ping", 10)
    child.stop()


def test_children_die_with_a_stack_killed_without_cleanup(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signals are Linux only")
    stack = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from local.processes import Child\n"
        "child = Child('sleeper', [sys.executable, '-c', 'import time; time.sleep(100)'],\n"
        f"              Path({str(tmp_path / 'child.log')!r}))\n"
        "print(child.process.pid, flush=True)\n"
        "time.sleep(100)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", stack], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(parent.stdout.readline())
        assert _alive(child_pid)
    finally:
        parent.kill()  # SIGKILL: no finally, no atexit in the stack
        parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child_pid)
