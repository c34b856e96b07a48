"""Child processes of the local stack: each in its own process group, stopped with SIGTERM, then
SIGKILL after a grace period, so Ctrl-C leaves nothing behind. On Linux a child also gets SIGTERM
when the stack itself dies without cleaning up (``kill -9``), so even then nothing is left."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class StartupError(RuntimeError):
    """A child that did not become ready."""


def port_answers(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return preexec


class Child:
    """One supervised process, its output appended to ``log``."""

    def __init__(
        self, name: str, command: Sequence[str], log: Path, env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            list(command), stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
            start_new_session=True, preexec_fn=_die_with_parent(),
        )  # fmt: skip

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_http(self, url: str, timeout_s: float) -> None:
        """Wait until ``url`` answers 200, the process dies, or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise StartupError(
                    f"{self.name} exited with {self.process.returncode} (its log: {self.log})"
                )
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise StartupError(
            f"{self.name} not ready after {timeout_s:.0f} s ({url}; its log: {self.log})"
        )

    def stop(self, grace_s: float = 10) -> None:
        """SIGTERM the whole group, SIGKILL it if the leader is still there after ``grace_s``;
        then SIGKILL whatever of the group outlived its leader."""
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=grace_s)
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()
