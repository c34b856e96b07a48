"""Headless Chromium for the console's browser tests: Debian's ``chromium`` package (``make
setup`` installs it; Playwright's own browser download is never run: it does not work on our
machines) driven by Playwright for Python through ``executable_path``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ENV = "MUSICREC_CHROMIUM"  # another Chromium or Chrome binary to drive
CANDIDATES = ("chromium", "chromium-browser")
# As root in a container Chromium's sandbox cannot start (Playwright passes --no-sandbox);
# these keep it from reaching out to Google's services, which a closed network refuses.
ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--metrics-recording-only",
)


def find_chromium() -> Path | None:
    """The Chromium to drive: ``$MUSICREC_CHROMIUM``, else ``chromium`` on the PATH."""
    chosen = os.environ.get(CHROMIUM_ENV)
    if chosen:
        return Path(chosen) if Path(chosen).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def missing_reason() -> str:
    """Why the browser tests cannot run, and how to make them run."""
    return (
        "no Chromium: `make setup` installs Debian's chromium package (apt-get install "
        f"chromium), or set {CHROMIUM_ENV} to a Chromium or Chrome binary"
    )
