"""The console's view of models and batch versions (``GET /v1/admin/models``) and the batch
rollback, over the admin function's clients (created once per container, every attempt bounded,
forgotten after a SnapStart restore).

Each part reads one upstream; a failed read raises (botocore's errors) for the route to answer
with the upstream named, except the model's: what serves is probed (the endpoint's answer to a
request without answers, and in AWS DescribeEndpoint), and a model that does not answer is
reported in the view rather than hiding the runs and the batch versions, which are what an
operator needs most when the model is in trouble.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.config import AdminSettings
from lambdas.logic.schedule import ScheduleError, next_run
from lambdas.snapstart import after_restore
from lambdas.store import loader, operations, runs
from lambdas.store.cloudwatch import bounded_config
from lambdas.store.loader import Tables

MANUAL = "runs start by hand: make retrain"
# What a run looks like in the view (the stored record has more: the artifact, the job).
RUN_FIELDS = ("run_id", "started_at", "finished_at", "passed", "reason", "checks", "metrics",
              "model_version", "baseline_model", "n_test_users", "dataset", "complete", "note",
              "unreadable")  # fmt: skip


@dataclass(frozen=True)
class Clients:
    """The admin function's clients for the view."""

    s3: Any
    scheduler: Any
    sagemaker: Any
    runtime: Any
    tables: Tables


@cache
def clients() -> Clients:
    """The container's clients (``clients.cache_clear()`` starts afresh)."""
    import boto3

    from lambdas.config import Settings

    config, once = bounded_config(), bounded_config(attempts=1)  # the probe: no retry
    names = Settings.from_env().tables
    dynamodb = boto3.resource("dynamodb", config=config)
    return Clients(
        s3=boto3.client("s3", config=config),
        scheduler=boto3.client("scheduler", config=config),
        sagemaker=boto3.client("sagemaker", config=config),
        runtime=boto3.client("sagemaker-runtime", config=once),
        tables=Tables(dynamodb.Table(names["lists"]), dynamodb.Table(names["state"])),
    )


after_restore(clients.cache_clear)


def iso(when: datetime | None) -> str | None:
    """ISO-8601 UTC to the second, with Z."""
    return None if when is None else when.isoformat(timespec="seconds").replace("+00:00", "Z")


def run_view(record: dict[str, Any]) -> dict[str, Any]:
    """A stored run record as the view shows it."""
    return {name: record.get(name) for name in RUN_FIELDS if name in record}


def runs_view(s3: Any, settings: AdminSettings) -> tuple[list[dict[str, Any]], bool]:
    """The newest runs, newest first, and whether the listing was truncated."""
    records, truncated = runs.recent_runs(s3, settings.batch_bucket, settings.runs_prefix)
    return [run_view(r) for r in records], truncated


def schedule_view(scheduler: Any, settings: AdminSettings, now: datetime) -> dict[str, Any]:
    """The retraining schedule: its expression and zone, and when it fires next."""
    view: dict[str, Any] = {
        "name": settings.retrain_schedule or None,
        "group": settings.schedule_group if settings.retrain_schedule else None,
        "expression": None,
        "timezone": None,
        "state": None,
        "next_run": None,
        "note": None,
    }
    if not settings.retrain_schedule:
        return {**view, "note": MANUAL}
    found = operations.get_schedule(scheduler, settings.retrain_schedule, settings.schedule_group)
    if found is None:
        note = f"no schedule {settings.retrain_schedule} in group {settings.schedule_group}"
        return {**view, "note": note}
    view.update(
        expression=found.get("ScheduleExpression"),
        timezone=found.get("ScheduleExpressionTimezone") or "UTC",
        state=found.get("State"),
    )
    if found.get("State") == "DISABLED":
        return {**view, "note": "the schedule is disabled: runs start by hand"}
    try:
        when = next_run(
            str(found.get("ScheduleExpression") or ""),
            found.get("ScheduleExpressionTimezone"),
            now,
            start=found.get("StartDate"),
            end=found.get("EndDate"),
            anchor=found.get("CreationDate"),
        )
    except ScheduleError as exc:
        return {**view, "note": f"next run not computed: {exc}"}
    return {**view, "next_run": iso(when), "note": None if when else "no further run scheduled"}


def batch_view(tables: Tables) -> dict[str, Any]:
    """The active batch version and the previous one (the rollback's target), from the state
    table's pointer; whether the previous one is still completely loaded."""
    pointer = loader.active(tables) or {}
    active, previous = pointer.get("version"), pointer.get("previous")
    versions: list[dict[str, Any]] = []
    if active:
        versions.append(
            {"version": active, "role": "active", "switched_at": pointer.get("switched_at")}
        )
    loaded = bool(previous) and bool(loader.loaded(tables, str(previous)))
    if previous:
        versions.append({"version": previous, "role": "previous", "loaded": loaded})
    return {
        "active": active,
        "previous": previous,
        "switched_at": pointer.get("switched_at"),
        "rollback_possible": loaded,
        "versions": versions,
    }


def model_view(c: Clients, endpoint_name: str, recent: list[dict[str, Any]]) -> dict[str, Any]:
    """Which model serves: the version in the endpoint's answer (AWS and the local stack alike),
    the endpoint's configuration where SageMaker describes one (AWS), and the run that trained
    the serving model when it is among ``recent``."""
    notes: list[str] = []
    serving: str | None = None
    try:
        serving = operations.answering_model_version(c.runtime, endpoint_name)
    except (BotoCoreError, ClientError, ValueError) as exc:
        notes.append(f"the endpoint {endpoint_name} did not answer: {_short(exc)}")
    endpoint: dict[str, Any] | None = None
    try:
        endpoint = operations.describe_endpoint(c.sagemaker, endpoint_name)
        if endpoint is None:
            notes.append(
                f"SageMaker describes no endpoint {endpoint_name} here (the local stack's model"
                " is its inference server): the version is the one that answers"
            )
    except (BotoCoreError, ClientError) as exc:
        notes.append(f"DescribeEndpoint {endpoint_name} failed: {_short(exc)}")
    run = next((r.get("run_id") for r in recent if serving and r.get("model_version") == serving),
               None)  # fmt: skip
    return {
        "serving": serving,
        "serving_run_id": run,
        "endpoint": endpoint,
        "note": "; ".join(notes) or None,
    }


def _short(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}"[:300]
    return str(exc)[:300]


def rollback(tables: Tables, expected_active: str) -> dict[str, Any]:
    """Make the previous batch version active again, only if ``expected_active`` is still the
    active one (lambdas.store.loader.rollback: atomic). Raises loader.VersionConflictError when
    it is not, loader.LoadError when there is no loaded previous version."""
    pointer = loader.rollback(tables, expected_active=expected_active)
    return {
        "active": pointer["version"],
        "previous": pointer["previous"],
        "rolled_back_from": pointer["previous"],
        "switched_at": pointer["switched_at"],
    }
