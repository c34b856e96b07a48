"""The ``bandit-refresh`` function's handler: EventBridge invokes it every minute to fold the
home bandit's newly logged impressions and clicks into its state (:func:`refresh`, a conditional
write on the state's version; docs/experiments.md). Locally ``python -m local.up`` runs it on
the same schedule (:mod:`local.schedules`), and ``python -m lambdas.handlers.bandit_refresh``
runs it once against the tables the environment names."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.logic.home_state import refresh
from lambdas.logic.services import services

logger = Logger(service="musicrec")
NAMESPACE = "musicrec"


def emit(done: dict[str, Any]) -> None:
    """The run's impressions and clicks folded, as EMF metrics of their own (not the metric
    set the API's handlers share)."""
    for name, key in (("BanditImpressions", "impressions"), ("BanditClicks", "clicks")):
        with single_metric(name=name, unit=MetricUnit.Count, value=done[key],
                           namespace=NAMESPACE) as metric:  # fmt: skip
            metric.add_dimension(name="bandit", value="home")


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One run of the refresh; what it did (also logged, and counted as metrics)."""
    done = refresh(services()).as_dict()
    emit(done)
    logger.info("home bandit refreshed", extra=done)
    return done


if __name__ == "__main__":
    print(json.dumps(refresh(services()).as_dict()))
