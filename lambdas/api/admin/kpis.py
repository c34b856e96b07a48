"""``GET /v1/admin/kpis``: the music KPIs over the last days, from what the server counted
(:mod:`lambdas.logic.kpis`), never from what a client claims."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from lambdas.api.access import console_operator
from lambdas.api.admin.upstream import upstream
from lambdas.api.paths import path
from lambdas.logic import kpis, metrics
from lambdas.logic.services import services

router = Router()
Days = Annotated[
    int, Query(ge=1, le=90, description="The window: the last N UTC days, today's included")
]


@router.get(path("GET", "/v1/admin/kpis"))
def music_kpis(days: Days = 7) -> dict[str, Any]:
    """Plays from recommendations, follows from artists for you, follow-through."""
    console_operator(router.current_event.raw_event)
    now = datetime.now(UTC)
    window = kpis.window(now.date(), days)
    with upstream("DynamoDB", "BatchGetItem (KPI counters)"):
        daily = kpis.read_daily(services().store, window)
    return {"generated_at": metrics.iso(now), "days": days,
            **kpis.answer(daily, window)}  # fmt: skip
