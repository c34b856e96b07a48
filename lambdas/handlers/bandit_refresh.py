"""The ``bandit-refresh`` function's handler: EventBridge invokes it every minute to fold each
bandit's newly logged impressions and clicks into its state (:func:`refresh`, a conditional
write on the state's version; docs/experiments.md): the home screen's and the onboarding
stations'. Locally ``python -m local.up`` runs it on
the same schedule (:mod:`local.schedules`), and ``python -m lambdas.handlers.bandit_refresh``
runs it once against the tables the environment names."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.logic import home, onboarding_bandit
from lambdas.logic.bandit_state import Spec, refresh
from lambdas.logic.services import services

logger = Logger(service="musicrec")
NAMESPACE = "musicrec"
BANDITS: tuple[Spec, ...] = (home.SPEC, onboarding_bandit.SPEC)


def emit(bandit: str, done: dict[str, Any]) -> None:
    """The run's impressions and clicks folded, as EMF metrics of their own (not the metric
    set the API's handlers share)."""
    for name, key in (("BanditImpressions", "impressions"), ("BanditClicks", "clicks")):
        with single_metric(name=name, unit=MetricUnit.Count, value=done[key],
                           namespace=NAMESPACE) as metric:  # fmt: skip
            metric.add_dimension(name="bandit", value=bandit)


def refresh_all() -> dict[str, dict[str, Any]]:
    """One refresh of every bandit, by name."""
    svc = services()
    return {spec.name: refresh(svc, spec).as_dict() for spec in BANDITS}


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One run of the refresh of every bandit; what each did (also logged, and counted as
    metrics)."""
    done = refresh_all()
    for name, what in done.items():
        emit(name, what)
        logger.info("bandit refreshed", extra={"bandit": name, **what})
    return done


if __name__ == "__main__":
    print(json.dumps(refresh_all()))
