"""The resolver factory: a Powertools resolver with the error contract and the given routers, and
the Lambda handler around it (logging, metrics, tracing). Each module of :mod:`lambdas.handlers`
passes its own router, imported statically, so a reader can follow a handler to its routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.api.errors import build_resolver, normalised, precheck
from lambdas.api.tracing import traced

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def resolver_for(*routers: Router) -> APIGatewayRestResolver:
    """A resolver serving the routes of ``routers``."""
    app = build_resolver()
    for router in routers:
        app.include_router(router)
    return app


def handler_for(function: str, *routers: Router) -> LambdaHandler:
    """The Lambda handler of one function (a route-table function name) serving ``routers``."""
    logger = Logger(service="musicrec")
    metrics = Metrics(namespace="musicrec", service=function)
    app = resolver_for(*routers)

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
    @traced("musicrec")
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return precheck(event) or app.resolve(normalised(event), context)

    return lambda_handler
