"""Publish a batch version written to a directory to S3, as SageMaker Processing does with a
job's output in AWS: every file under ``s3://bucket/prefix/``, the manifests last (they mark the
version complete)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def upload(local_dir: Path, s3_uri: str, client: Any) -> None:
    """Copy a written version to ``s3://bucket/prefix/``, manifests last."""
    bucket, _, prefix = s3_uri.removeprefix("s3://").partition("/")
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name.startswith("manifest"))
    for path in files:
        key = "/".join(
            part for part in (prefix.rstrip("/"), path.relative_to(local_dir).as_posix()) if part
        )
        client.upload_file(str(path), bucket, key)
