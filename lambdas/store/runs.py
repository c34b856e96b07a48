"""The training runs' records in the data bucket: ``<runs prefix><run id>.json`` (default
``runs/``), one per run, passed or refused.

The pipeline's record step (the loader function's ``record-run`` action, after the training
job, whatever its outcome) reads the run record training wrote into its model directory
(``run.json``, inside the ``model.tar.gz`` SageMaker uploads) and puts it here with its run id;
when the job left no artifact (it failed before writing one, or SageMaker uploaded nothing for
the failed job) the record says what the pipeline knows: the job's failure reason. The console
(``GET /v1/admin/models``) lists the newest.

A run id is ``<start, YYYYMMDDTHHMMSSZ>-<job name>``: keys sort in the order the runs started,
so the newest are the last keys of a listing.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

RUN_FILE = "run.json"  # what training writes into the model directory (training.model.run_record)
MAX_RUN_BYTES = 1024 * 1024  # a run record is a few kB; a larger member is not one
MAX_REASON_CHARS = 4000
RECENT = 20
MAX_LIST_PAGES = 20  # 20,000 runs: decades of daily runs; beyond, the listing says truncated
READ_WORKERS = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class RunRecordError(ValueError):
    """A record that cannot be made: the event does not say which run, or where its artifact is."""


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise RunRecordError(f"artifact: {uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def stamp(when: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a time (UTC)."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string or an epoch number (seconds, or milliseconds as Step Functions passes
    SageMaker's timestamps) as an aware UTC datetime; None when it is neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_id(started: datetime, job: str) -> str:
    """The run's id: its start and the job's name (characters safe in a key)."""
    return f"{stamp(started)}-{_UNSAFE.sub('-', job).strip('-')[:200]}"


def run_key(prefix: str, rid: str) -> str:
    return f"{prefix}{rid}.json"


def read_artifact_run(s3: Any, uri: str) -> tuple[dict[str, Any] | None, str]:
    """The run record inside a training job's ``model.tar.gz`` (streamed, not downloaded
    whole), or None with why not: no such object, no ``run.json`` at its top level, not JSON.
    Other S3 errors are raised."""
    bucket, key = split_uri(uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except s3.exceptions.NoSuchKey:
        return None, f"{uri}: no such object (the job uploaded no model artifact)"
    try:
        with tarfile.open(fileobj=body, mode="r|gz") as tar:
            for member in tar:
                if member.name.removeprefix("./") != RUN_FILE or not member.isfile():
                    continue
                if member.size > MAX_RUN_BYTES:
                    return None, f"{uri}: {RUN_FILE} is {member.size} bytes, not a run record"
                handle = tar.extractfile(member)
                document = json.loads(handle.read()) if handle else None
                if not isinstance(document, dict):
                    return None, f"{uri}: {RUN_FILE} is not a JSON object"
                return document, ""
    except (tarfile.TarError, OSError, EOFError) as exc:
        return None, f"{uri}: not a readable model.tar.gz ({exc})"
    except ValueError as exc:
        return None, f"{uri}: {RUN_FILE} is not JSON ({exc})"
    finally:
        body.close()
    return None, f"{uri}: no {RUN_FILE} in the artifact (trained by an older image?)"


def failure_of(error: dict[str, Any] | None) -> dict[str, Any]:
    """What a caught Step Functions error says about the training job: the failure reason and
    its times (the Cause of a failed ``.sync`` job is DescribeTrainingJob's answer, as JSON)."""
    if not error:
        return {}
    cause: Any = error.get("Cause")
    try:
        described = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        described = None
    if not isinstance(described, dict):
        described = {}
    reason = described.get("FailureReason") or cause or error.get("Error") or ""
    return {
        "reason": str(reason)[:MAX_REASON_CHARS],
        "error": error.get("Error"),
        "started": parse_time(described.get("TrainingStartTime") or described.get("CreationTime")),
        "finished": parse_time(described.get("TrainingEndTime")),
    }


def make_record(
    job: str,
    artifact: str,
    found: dict[str, Any] | None,
    why_not: str,
    error: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The record to store: training's own record with its run id, or (none found) the job's
    failure as the pipeline saw it."""
    if found is not None:
        started = parse_time(found.get("started_at")) or now
        return {
            **found,
            "run_id": run_id(started, job),
            "job": job,
            "artifact": artifact,
            "complete": True,
            "recorded_at": now.isoformat(timespec="seconds"),
        }
    failure = failure_of(error)
    started = failure.get("started") or now
    finished = failure.get("finished") or now
    reason = failure.get("reason") or "the training job left no run record"
    return {
        "run_id": run_id(started, job),
        "job": job,
        "artifact": artifact,
        "complete": False,
        "note": why_not,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "passed": False,
        "reason": reason,
        "error": failure.get("error"),
        "checks": [],
        "metrics": {},
        "model_version": None,
        "dataset": None,
        "recorded_at": now.isoformat(timespec="seconds"),
    }


def record_run(
    s3: Any,
    bucket: str,
    prefix: str,
    job: str,
    artifact: str,
    error: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store the record of the run of training job ``job`` whose artifact is ``artifact``;
    return what the state machine (or the local pipeline) needs: id, key, verdict."""
    if not job:
        raise RunRecordError("job: the training job's name is required")
    found, why_not = read_artifact_run(s3, artifact)
    record = make_record(job, artifact, found, why_not, error, now or datetime.now(UTC))
    key = run_key(prefix, record["run_id"])
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(record, separators=(",", ":")).encode(),
        ContentType="application/json",
    )
    return {
        "run_id": record["run_id"],
        "key": key,
        "passed": bool(record.get("passed")),
        "reason": str(record.get("reason") or "")[:1000],
        "model_version": record.get("model_version"),
        "complete": record["complete"],
    }


def newest_keys(
    s3: Any,
    bucket: str,
    prefix: str,
    limit: int = RECENT,
    max_pages: int = MAX_LIST_PAGES,
    page_size: int = 1000,
) -> tuple[list[str], bool]:
    """The keys of the newest ``limit`` records, newest first, and whether the listing stopped
    at ``max_pages`` pages of ``page_size`` keys (then the newest keys were not seen)."""
    newest: deque[str] = deque(maxlen=limit)
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
    for _ in range(max_pages):
        page = s3.list_objects_v2(**kwargs)
        newest.extend(
            item["Key"]
            for item in page.get("Contents", [])
            if item["Key"].endswith(".json") and "/" not in item["Key"][len(prefix) :]
        )
        if not page.get("IsTruncated"):
            return list(reversed(newest)), False
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    return list(reversed(newest)), True


def read_record(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    """One stored record; a record that is not a JSON object is reported as unreadable rather
    than hiding the others."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_RUN_BYTES + 1)
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or len(body) > MAX_RUN_BYTES:
        rid = key.rsplit("/", 1)[-1].removesuffix(".json")
        return {"run_id": rid, "unreadable": True, "note": f"{key} is not a run record"}
    return document


def recent_runs(
    s3: Any, bucket: str, prefix: str, limit: int = RECENT
) -> tuple[list[dict[str, Any]], bool]:
    """The newest ``limit`` run records, newest first, and whether the listing was truncated.
    S3 errors are raised (the caller answers with the upstream named)."""
    keys, truncated = newest_keys(s3, bucket, prefix, limit)
    if not keys:
        return [], truncated
    with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(keys))) as pool:
        records = list(pool.map(lambda key: read_record(s3, bucket, key), keys))
    return records, truncated
