"""``GET /v1/admin/experiments``: per experiment, each variant's impressions, clicks, CTR and lift
over the control with its 95 % interval and p-value (the counters in DynamoDB, as ``python -m
lambdas.ops.experiments report`` gives them), the CTR per variant over time (CloudWatch), and
for an experiment a bandit serves, the bandit's off-policy estimates over a window of its log
(as ``python -m lambdas.ops.experiments ope --json`` gives them), read within a time budget."""

from __future__ import annotations

import time
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
from lambdas.logic import metrics, ope_window
from lambdas.logic.experiment_report import counted_experiments, read_totals, report
from lambdas.logic.services import Services, services
from lambdas.store.cloudwatch import cloudwatch_client

router = Router()
MAX_PERIODS = 2016  # points per series: a week of five-minute periods
RESAMPLES = 200  # the bootstrap's resamples for the console (the command line's default: 1000)
MAX_DRAWS = 400_000  # records drawn per estimate: fewer resamples beyond 2,000 decisions


class Period(IntEnum):
    """The seconds of one point of the CTR series."""

    FIVE_MINUTES = 300
    HOUR = 3600
    DAY = 86400


Days = Annotated[int, Query(ge=1, le=90, description="The series' window: the last N days")]
PeriodQuery = Annotated[Period, Query(description="Seconds per point: 300, 3600 or 86400")]
Hours = Annotated[
    int,
    Query(ge=1, le=ope_window.MAX_HOURS,
          description="The off-policy estimates' window: the bandit's log of the last N hours"),
]  # fmt: skip


def off_policy(svc: Services, bandit: str, hours: int, deadline: float) -> dict[str, Any]:
    """A bandit's off-policy estimates over the last ``hours`` of its log, read until
    ``deadline`` (``hours_read`` and ``complete`` say how much of the window was read)."""
    window = ope_window.read_log(svc.store, bandit, hours, deadline=deadline)
    evaluation = ope_window.evaluate_log(svc.store, bandit, window.entries, resamples=RESAMPLES,
                                         max_draws=MAX_DRAWS)  # fmt: skip
    return {"bandit": bandit, "hours": hours, "hours_read": round(window.read / 60, 2),
            "complete": window.complete, **evaluation.as_dict()}  # fmt: skip


@router.get(path("GET", "/v1/admin/experiments"))
def experiments(
    days: Days = 7, period: PeriodQuery = Period.HOUR, hours: Hours = 1
) -> dict[str, Any]:
    """Each experiment's variants: CTR over time, lift with its interval, off-policy estimates."""
    started = time.time()
    console_operator(router.current_event.raw_event)
    period_s = int(period)
    if days * 86400 // period_s > MAX_PERIODS:
        raise ApiError(400, "invalid_request", f"period: {days} days of {period_s} s periods "
                       f"are more than {MAX_PERIODS} points; choose a longer period",
                       "period")  # fmt: skip
    svc = services()
    counted = counted_experiments(svc.experiments)
    now = datetime.now(UTC)
    grid = metrics.Grid.of(now - timedelta(days=days), now, period_s)
    with upstream("DynamoDB", "BatchGetItem (experiment counters)"):
        totals = read_totals(svc.store, counted.values())
    with upstream("CloudWatch", "GetMetricData"):
        series = metrics.ctr_series(cloudwatch_client(), counted, grid.start, grid.end, period_s)
    bandits = [name for name in counted if name in ope_window.BANDITS]
    # The time the log reading may take, shared by the bandits (the route's whole budget is API
    # Gateway's 29 s, and a console wants its panel in seconds; the rest is for the evaluation
    # and the other reads): AdminSettings.ope_log_budget_s, 6 s unless set.
    budget = AdminSettings.from_env().ope_log_budget_s
    estimates: dict[str, dict[str, Any]] = {}
    for i, bandit in enumerate(bandits):  # the budget left, shared by the bandits still to read
        left = started + budget - time.time()
        with upstream("DynamoDB", f"Query/BatchGetItem ({bandit} bandit's log)"):
            estimates[bandit] = off_policy(svc, bandit, hours,
                                           time.time() + left / (len(bandits) - i))  # fmt: skip
    return {
        "generated_at": metrics.iso(now),
        "start": metrics.iso(grid.start),
        "end": metrics.iso(grid.end),
        "period_s": period_s,
        "experiments": [
            {"name": name, "control": spec.control,
             "variants": [row.as_dict() for row in report(spec, totals.get(name, {}))],
             "series": series.get(name, {}), "off_policy": estimates.get(name)}
            for name, spec in counted.items()
        ],
    }  # fmt: skip
