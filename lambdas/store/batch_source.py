"""Reading a batch version (docs/batch-format.md) from a directory or from S3."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class BatchError(ValueError):
    """A batch version that must not be loaded: incomplete, corrupt or inconsistent."""


class BatchSource:
    """One version: ``/path/to/<version>`` or ``s3://bucket/prefix/<version>``."""

    def __init__(self, location: str, s3: Any = None) -> None:
        self.location = location.rstrip("/")
        self.s3 = s3
        if self.is_s3 and s3 is None:
            raise ValueError("an s3:// batch needs an S3 client")

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")

    def read_bytes(self, relative: str) -> bytes:
        if self.is_s3:
            bucket, _, prefix = self.location.removeprefix("s3://").partition("/")
            key = f"{prefix}/{relative}" if prefix else relative
            try:
                return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except self.s3.exceptions.NoSuchKey as exc:
                raise BatchError(f"{self.location}/{relative}: not found") from exc
        path = Path(self.location) / relative
        if not path.is_file():
            raise BatchError(f"{path}: not found")
        return path.read_bytes()

    def manifest(self) -> dict[str, Any]:
        """The version's manifest; a version without one is incomplete and is refused."""
        try:
            document = json.loads(self.read_bytes(MANIFEST))
        except BatchError as exc:
            raise BatchError(
                f"{self.location}: no manifest.json, the version is incomplete"
            ) from exc
        except json.JSONDecodeError as exc:
            raise BatchError(f"{self.location}/manifest.json: not JSON ({exc})") from exc
        for field in ("version", "families"):
            if field not in document:
                raise BatchError(f"{self.location}/manifest.json: no {field!r}")
        return dict(document)

    def records(self, entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The records of one file of the manifest, after checking its checksum."""
        data = self.read_bytes(entry["path"])
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BatchError(f"{entry['path']}: checksum does not match the manifest")
        for line in gzip.decompress(data).splitlines():
            if line.strip():
                yield json.loads(line)
