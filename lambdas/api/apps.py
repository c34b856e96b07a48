"""One resolver per function (what each Lambda runs), and one with every route (for OpenAPI)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.api.errors import build_resolver, precheck
from lambdas.tracing import traced

ROUTER_MODULES = ("onboarding", "recommendations", "events", "catalog")


def router(function: str) -> Router:
    """The router of one function, imported on demand (a function imports only its own)."""
    module = importlib.import_module(f"lambdas.api.{function}")
    found: Router = module.router
    return found


def resolver_for(*functions: str) -> APIGatewayRestResolver:
    """A resolver serving the routes of ``functions`` (route-table function names)."""
    app = build_resolver()
    for name in functions or ROUTER_MODULES:
        app.include_router(router(name))
    return app


def handler_for(function: str) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of one function: its resolver with logging, metrics and tracing."""
    logger = Logger(service="musicrec")
    metrics = Metrics(namespace="musicrec", service=function)
    app = resolver_for(function)

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
    @traced("musicrec")
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return precheck(event) or app.resolve(event, context)

    return lambda_handler
