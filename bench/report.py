"""Write benchmark results into named sections of docs/benchmarks.md.

Each benchmark owns one section, delimited by ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; :func:`write_section` replaces the text between the markers (or appends
the section) and leaves every other section alone, so benchmarks can be rerun independently.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOC = REPO_ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Measured by the scripts in `bench/` (`python -m bench.NAME`); each writes its own section below,
between `<!-- bench:NAME -->` markers, and leaves the others as they are.
"""
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def repo_relative(path: str | Path) -> str:
    """``path`` relative to the repository when it is inside it (docs name no machine's paths)."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def markers(name: str) -> tuple[str, str]:
    """The opening and closing markers of section ``name``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"bad section name {name!r}: use lower-case letters, digits, - _ .")
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def replace_section(document: str, name: str, body: str) -> str:
    """``document`` with section ``name`` set to ``body`` (appended if it was not there)."""
    start, end = markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    i = document.find(start)
    j = document.find(end, i + len(start)) if i >= 0 else -1
    if i >= 0 and j >= 0:
        return document[:i] + block + document[j + len(end) :]
    return document.rstrip("\n") + "\n\n" + block + "\n"


def read_section(name: str, path: str | Path = DEFAULT_DOC) -> str | None:
    """The body of section ``name`` in ``path``, or None if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    document = path.read_text()
    start, end = markers(name)
    i = document.find(start)
    j = document.find(end, i + len(start)) if i >= 0 else -1
    if i < 0 or j < 0:
        return None
    return document[i + len(start) : j].strip()


def write_section(name: str, body: str, path: str | Path = DEFAULT_DOC) -> Path:
    """Replace (or add) section ``name`` of ``path`` with ``body``; creates the file if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = path.read_text() if path.is_file() else HEADER
    updated = replace_section(document, name, body)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(updated)
    tmp.replace(path)
    return path


def machine() -> dict[str, str]:
    """CPU count and model, memory and Python version of this machine (Linux /proc if there)."""
    cpu_model = platform.processor() or platform.machine()
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu_model,
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
    }
