"""Writing a batch version: gzip JSON Lines files, at most 50,000 records each, their checksums,
the per-shard manifests and ``manifest.json`` (docs/batch-format.md). Files only: publishing to
S3 is the job of whoever runs this (SageMaker Processing in AWS, :mod:`local.publish` locally)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SCHEMA_VERSION = 1
RECORDS_PER_FILE = 50_000
PER_USER_FAMILIES = ("personal", "artists")
FAMILIES = ("personal", "artists", "similar-items", "similar-artists", "regional", "catalog")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z._-]{1,64}$")
MANIFEST = "manifest.json"


class OutputError(ValueError):
    """A batch directory that cannot be written or merged."""


def default_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def shard_manifest_name(shard: int, shards: int) -> str:
    return f"manifest-shard-{shard}-of-{shards}.json"


def file_name(family: str, chunk: int, shard: int, shards: int) -> str:
    if family in PER_USER_FAMILIES:
        return f"{family}/part-{shard:05d}-of-{shards:05d}-{chunk:05d}.jsonl.gz"
    return f"{family}/part-{chunk:05d}.jsonl.gz"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FamilyFiles:
    """What one family wrote: its files with their record counts and checksums."""

    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f["records"] for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "files": self.files}


def write_family(
    root: Path, family: str, records: Iterable[dict[str, Any]], shard: int = 0, shards: int = 1
) -> FamilyFiles:
    """Write ``records`` as numbered gzip JSON Lines files of at most 50,000 records."""
    written = FamilyFiles()
    for chunk, lines in enumerate(_chunks(records)):
        relative = file_name(family, chunk, shard, shards)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb", compresslevel=3) as handle:
            handle.write(b"".join(lines))
        written.files.append({"path": relative, "records": len(lines), "sha256": sha256(path)})
    return written


def _chunks(records: Iterable[dict[str, Any]]) -> Iterator[list[bytes]]:
    lines: list[bytes] = []
    for record in records:
        lines.append(orjson.dumps(record) + b"\n")
        if len(lines) == RECORDS_PER_FILE:
            yield lines
            lines = []
    if lines:
        yield lines


def manifest(
    version: str,
    families: dict[str, FamilyFiles],
    *,
    data: dict[str, Any],
    params: dict[str, Any],
    shards: int,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "version": version,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": data,
        "params": params,
        "shards": shards,
        "families": {name: families[name].as_dict() for name in FAMILIES if name in families},
        "metrics": metrics,
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def merge(version_dir: Path, out_dir: Path | None = None) -> dict[str, Any]:
    """Combine every shard's manifest in ``version_dir`` into ``manifest.json`` in ``out_dir``
    (default: ``version_dir`` itself); refuse while one is missing, or when the batch gate
    refused the version (shard 0's manifest says so). Only ``manifest.json`` is
    written, so a SageMaker merge job can read the shards' manifests from its input path and
    upload its output path alone."""
    shard_files = sorted(version_dir.glob("manifest-shard-*-of-*.json"))
    if not shard_files:
        raise OutputError(f"{version_dir}: no manifest-shard-*.json to merge")
    shards_docs = [json.loads(p.read_text()) for p in shard_files]
    shards = shards_docs[0]["shards"]
    present = {int(re.findall(r"shard-(\d+)-of", p.name)[0]) for p in shard_files}
    missing = sorted(set(range(shards)) - present)
    if missing or any(doc["shards"] != shards for doc in shards_docs):
        raise OutputError(f"{version_dir}: shards {missing} of {shards} have no manifest yet")
    first = next(doc for doc in shards_docs if doc.get("shard") == 0)
    verdict = first["metrics"].get("gate", {"passed": True})
    if not verdict["passed"]:
        raise OutputError(f"{version_dir}: the batch gate refused the version: {verdict['reason']}")
    families: dict[str, FamilyFiles] = {}
    for doc in sorted(shards_docs, key=lambda d: int(d["shard"])):
        for name, family in doc["families"].items():
            families.setdefault(name, FamilyFiles()).files.extend(family["files"])
    merged = manifest(
        first["version"],
        families,
        data=first["data"],
        params=first["params"],
        shards=shards,
        metrics=first["metrics"],
    )
    target = version_dir if out_dir is None else out_dir
    target.mkdir(parents=True, exist_ok=True)
    write_json(target / MANIFEST, merged)
    return merged
