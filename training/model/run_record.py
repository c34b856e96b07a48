"""The run record: what one training run decided and why, for operators (``run.json``).

Training writes it into the model directory next to ``metrics.json``, passed or refused, so it
travels with the artifact (SageMaker's ``model.tar.gz``). The pipeline's record step (the loader
function's ``record-run`` action, the same code locally and in AWS) copies it to
``runs/<run id>.json`` in the data bucket, where the console reads it. The document is flat
JSON; its fields are a file contract like the batch files (docs/model.md, "Run records")::

    schema, started_at, finished_at (ISO-8601 UTC), dataset {path, fingerprint, files, bytes,
    signups, data_end, interactions, labels}, passed, reason, checks (the gate's), model_version,
    status, n_test_users, baseline_model (the previous model's version or null),
    metrics {model: {metric: {value, low, high}}} for the new model and every baseline
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.model.evaluation import METRICS

if TYPE_CHECKING:
    from training.model.stages import Result

RUN_FILE = "run.json"
RUN_SCHEMA_VERSION = 1


def iso(epoch_s: float) -> str:
    """An epoch time as ISO-8601 UTC to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def dataset_identity(data: str | Path) -> dict[str, Any]:
    """What identifies a dataset directory cheaply: its files' relative names and sizes, hashed
    (the same files give the same fingerprint wherever they were downloaded to)."""
    root = Path(data)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    sha = hashlib.sha256()
    total = 0
    for path in files:
        size = path.stat().st_size
        total += size
        sha.update(f"{path.relative_to(root).as_posix()}\0{size}\n".encode())
    return {
        "path": str(root),
        "fingerprint": sha.hexdigest()[:16],
        "files": len(files),
        "bytes": total,
    }


def model_metrics(
    metrics: Mapping[str, Mapping[str, float]], intervals: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each model's metrics with their 95 % intervals: ``{model: {metric: {value, low, high}}}``."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, values in metrics.items():
        bounds = intervals.get(name, {})
        out[name] = {}
        for metric in METRICS:
            if metric not in values:
                continue
            low, high = [*(bounds.get(metric) or []), None, None][:2]
            out[name][metric] = {
                "value": float(values[metric]),
                "low": None if low is None else float(low),
                "high": None if high is None else float(high),
            }
    return out


def run_document(
    result: Result,
    document: Mapping[str, Any],
    data: str | Path,
    started_s: float,
    finished_s: float,
) -> dict[str, Any]:
    """The run record of a finished run (``document`` is model.json's)."""
    evaluated, training_data = result.evaluation, result.data.training_data
    previous = evaluated.previous or {}
    return {
        "schema": RUN_SCHEMA_VERSION,
        "started_at": iso(started_s),
        "finished_at": iso(finished_s),
        "dataset": {
            **dataset_identity(data),
            "signups": {
                "train": training_data.get("train_signups"),
                "test": training_data.get("test_signups"),
            },
            "data_end": training_data.get("data_end"),
            "interactions": training_data.get("interactions"),
            "labels": training_data.get("labels"),
        },
        "passed": bool(result.gate.passed),
        "reason": result.gate.reason,
        "checks": result.gate.checks,
        "model_version": document.get("model_version"),
        "status": document.get("status"),
        "n_test_users": int(result.n_test),
        "baseline_model": previous.get("model_version"),
        "metrics": model_metrics(evaluated.metrics, evaluated.intervals),
    }
