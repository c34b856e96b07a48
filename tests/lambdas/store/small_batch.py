"""A batch version of a few records written by hand in the format of docs/batch-format.md, for
loader tests that must be fast (the session's ``batch_root`` is two runs on a 3,000-listener
world)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any


def write_version(root: Path, version: str, files: dict[str, list[list[dict[str, Any]]]]) -> Path:
    """``root/version`` with ``files[family]`` = the records of each of its files, and a
    manifest listing them (counts and checksums); returns the version directory."""
    version_dir = root / version
    families: dict[str, Any] = {}
    for family, contents in files.items():
        entries = []
        for n, records in enumerate(contents):
            path = f"{family}/part-{n:05d}.jsonl.gz"
            data = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
            (version_dir / family).mkdir(parents=True, exist_ok=True)
            (version_dir / path).write_bytes(data)
            entries.append(
                {"path": path, "records": len(records), "sha256": hashlib.sha256(data).hexdigest()}
            )
        families[family] = {"records": sum(len(r) for r in contents), "files": entries}
    manifest = {"schema_version": 1, "version": version, "families": families}
    (version_dir / "manifest.json").write_text(json.dumps(manifest))
    return version_dir


def users(first: int, count: int) -> list[dict[str, Any]]:
    """``personal`` records of users ``u<first>`` ... ``u<first + count - 1>``."""
    return [
        {"user_id": f"u{n}", "ids": [f"s{n}"], "scores": [0.5]} for n in range(first, first + count)
    ]
