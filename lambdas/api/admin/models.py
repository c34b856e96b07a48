"""``GET /v1/admin/models``: the training runs with their gate verdicts, the model that serves,
the batch versions and the next scheduled run; ``POST /v1/admin/batch/rollback``: make the
previous batch version active again, if the console's view of the active one is current."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict

from lambdas.api.access import console_operator
from lambdas.api.admin.upstream import upstream
from lambdas.api.errors import ApiError
from lambdas.api.models import Id
from lambdas.api.paths import path
from lambdas.config import AdminSettings, Settings
from lambdas.logic import models_view
from lambdas.store.loader import LoadError, VersionConflictError

router = Router()
logger = Logger(service="musicrec")


class RollbackRequest(BaseModel):
    """The active version the console showed: the rollback happens only if it still is."""

    model_config = ConfigDict(extra="forbid")

    expected_active: Id


def operator_name(claims: dict[str, str]) -> str:
    """Who the operator is, for the log: their user name, else their subject."""
    return claims.get("cognito:username") or claims.get("sub") or "unknown"


@router.get(path("GET", "/v1/admin/models"))
def models() -> dict[str, Any]:
    """Training runs with their gate verdicts, the serving model, batch versions, the next run."""
    settings = AdminSettings.from_env()
    console_operator(router.current_event.raw_event)
    now = datetime.now(UTC)
    c = models_view.clients()
    with upstream("S3", f"ListObjectsV2/GetObject of s3://{settings.batch_bucket}/"
                  f"{settings.runs_prefix}"):  # fmt: skip
        recent, truncated = models_view.runs_view(c.s3, settings)
    with upstream("DynamoDB", "GetItem/Query of the state table"):
        batch = models_view.batch_view(c.tables)
    with upstream("EventBridge Scheduler", f"GetSchedule {settings.retrain_schedule}"):
        schedule = models_view.schedule_view(c.scheduler, settings, now)
    model = models_view.model_view(c, Settings.from_env().endpoint_name, recent)
    return {
        "generated_at": models_view.iso(now),
        "model": model,
        "runs": recent,
        "runs_truncated": truncated,
        "batch": batch,
        "schedule": schedule,
    }


@router.post(path("POST", "/v1/admin/batch/rollback"))
def rollback(request: RollbackRequest) -> dict[str, Any]:
    """Make the previous batch version active again."""
    claims = console_operator(router.current_event.raw_event)
    who = operator_name(claims)
    tables = models_view.clients().tables
    try:
        with upstream("DynamoDB", "GetItem/Query/PutItem of the state table"):
            answer = models_view.rollback(tables, request.expected_active)
    except VersionConflictError as exc:
        logger.warning("batch rollback refused", extra={"operator": who,
                       "expected_active": request.expected_active, "why": str(exc)})  # fmt: skip
        raise ApiError(409, "conflict", f"expected_active: {exc}; reload and retry",
                       "expected_active") from exc  # fmt: skip
    except LoadError as exc:
        logger.warning("batch rollback refused", extra={"operator": who,
                       "expected_active": request.expected_active, "why": str(exc)})  # fmt: skip
        raise ApiError(409, "conflict", f"expected_active: {exc}", "expected_active") from exc
    logger.info("batch rolled back", extra={"operator": who, "from": answer["rolled_back_from"],
                "to": answer["active"]})  # fmt: skip
    return answer
