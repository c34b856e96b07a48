"""``GET /v1/admin/traffic``: each route's requests, 4xx and 5xx answers and latency p50/p99 per
period, and the fallback rates, from CloudWatch (API Gateway's detailed metrics and the
functions' EMF metrics; locally moto's CloudWatch, which the local gateway feeds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from lambdas.api.access import console_operator
from lambdas.api.admin.upstream import upstream
from lambdas.api.errors import ApiError
from lambdas.api.paths import path
from lambdas.config import AdminSettings
from lambdas.logic import metrics
from lambdas.routes import ROUTES
from lambdas.store.cloudwatch import cloudwatch_client

router = Router()
MAX_PERIODS = 1440  # points per series: a day of minutes (72 h of them would be 7 MB of JSON)


class Period(IntEnum):
    """The seconds of one point of the series."""

    MINUTE = 60
    FIVE_MINUTES = 300
    HOUR = 3600


Hours = Annotated[int, Query(ge=1, le=72, description="The window: the last N hours")]
PeriodQuery = Annotated[Period, Query(description="Seconds per point: 60, 300 or 3600")]


@router.get(path("GET", "/v1/admin/traffic"))
def traffic(hours: Hours = 3, period: PeriodQuery = Period.MINUTE) -> dict[str, Any]:
    """Requests, errors, latency percentiles and fallback rate per route over time."""
    settings = AdminSettings.from_env()
    console_operator(router.current_event.raw_event)
    period_s = int(period)
    if hours * 3600 // period_s > MAX_PERIODS:
        raise ApiError(400, "invalid_request", f"period: {hours} hours of {period_s} s periods "
                       f"are more than {MAX_PERIODS} points; choose a longer period",
                       "period")  # fmt: skip
    now = datetime.now(UTC)
    grid = metrics.Grid.of(now - timedelta(hours=hours), now, period_s)
    client = cloudwatch_client()
    with upstream("CloudWatch", "GetMetricData"):
        routes = metrics.traffic(client, settings.api_name, settings.api_stage, ROUTES,
                                 grid.start, grid.end, period_s)  # fmt: skip
        fallback = metrics.fallback_series(client, grid.start, grid.end, period_s)
    return {
        "generated_at": metrics.iso(now),
        "start": metrics.iso(grid.start),
        "end": metrics.iso(grid.end),
        "period_s": period_s,
        "routes": routes,
        "fallback_rate": fallback,
    }
