"""The loader's Lambda handler, called by the pipeline's state machine.

``{"action": "load-file", "batch": "s3://bucket/batch/V", "key": "batch/V/personal/part-..."}``
loads one file: the Distributed Map runs one per object under the version's prefix, and objects
that are not batch files of the manifest (the manifests themselves) are skipped; ``"path"``
(relative to the version) may stand for ``"key"``. ``{"action": "switch", "batch": ...}``
verifies the counts and switches the active version. ``{"action": "record-run", "job": J,
"artifact": "s3://bucket/models/J/output/model.tar.gz", "error": {...}}`` stores the run record
of training job J (passed, refused or failed: ``error`` is the caught failure) under the runs
prefix (``"runs": "s3://bucket/runs/"``, default BATCH_BUCKET and RUNS_PREFIX) and returns its
id and verdict (lambdas.store.runs).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.config import AdminSettings, Settings
from lambdas.store.batch_source import BatchSource
from lambdas.store.loader import Tables, load_file, switch
from lambdas.store.runs import record_run, split_uri

logger = Logger(service="musicrec")


@cache
def _clients() -> tuple[Any, Tables]:
    import boto3
    from botocore.config import Config

    settings = Settings.from_env()
    config = Config(
        connect_timeout=5, read_timeout=30, retries={"max_attempts": 5, "mode": "adaptive"}
    )
    dynamodb = boto3.resource("dynamodb", config=config)
    tables = Tables(
        dynamodb.Table(settings.tables["lists"]), dynamodb.Table(settings.tables["state"])
    )
    return boto3.client("s3", config=config), tables


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s3, tables = _clients()
    if event.get("action") == "record-run":
        return record(s3, event)
    source = BatchSource(str(event["batch"]), s3)
    manifest = source.manifest()
    if event.get("action") == "switch":
        pointer = switch(manifest, tables)
        return {"version": pointer["version"], "previous": pointer.get("previous")}
    if event.get("action") != "load-file":
        raise ValueError(f"action: expected load-file or switch, got {event.get('action')!r}")
    path = relative_path(event)
    for family, listing in manifest["families"].items():
        for entry in listing["files"]:
            if entry["path"] == path:
                records = load_file(source, family, entry, manifest["version"], tables)
                return {"path": path, "records": records}
    logger.info("not a batch file of the manifest, skipped", extra={"path": path})
    return {"path": path, "skipped": True}


def record(s3: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Store a training run's record; its id and verdict."""
    settings = AdminSettings.from_env()
    bucket, prefix = settings.batch_bucket, settings.runs_prefix
    if event.get("runs"):
        bucket, prefix = split_uri(str(event["runs"]))
    error = event.get("error") if isinstance(event.get("error"), dict) else None
    answer = record_run(s3, bucket, prefix, str(event.get("job") or ""),
                        str(event.get("artifact") or ""), error)  # fmt: skip
    logger.info("run recorded", extra=answer)
    return answer


def relative_path(event: dict[str, Any]) -> str:
    """The file's path within the version, from ``path`` or from the S3 ``key``."""
    if event.get("path"):
        return str(event["path"])
    prefix = str(event["batch"]).removeprefix("s3://").partition("/")[2].rstrip("/") + "/"
    key = str(event.get("key", ""))
    if not key.startswith(prefix):
        raise ValueError(f"key: {key!r} is not under the version's prefix {prefix!r}")
    return key[len(prefix) :]
