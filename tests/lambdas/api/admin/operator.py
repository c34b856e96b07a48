"""Calling a console route as API Gateway does after its Cognito authoriser on the operators'
pool: the ID token's claims in ``requestContext.authorizer.claims``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from lambdas.api.resolver import resolver_for
from tests.lambdas.events import FakeContext, api_event

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_operators"
OPERATOR = {"token_use": "id", "iss": ISSUER, "sub": "op-1", "email": "op@example.com"}


def get(
    router: Router, path: str, query: str = "", claims: dict[str, str] | None = OPERATOR
) -> tuple[int, dict[str, Any]]:
    """``GET path?query`` through ``router`` with ``claims`` (None: none), status and body."""
    event = api_event("GET", path, query=query, listener=None)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    context: Any = FakeContext()  # the local gateway's, as the Lambda runtime's
    response = resolver_for(router).resolve(event, context)
    return response["statusCode"], json.loads(response["body"])
