"""``python -m lambdas.ops.openapi > docs/openapi.json``: the API's OpenAPI document, from the code.

Powertools describes the routes and their parameters; the rest is ours, so the document is
completed here: the events' cross-field rules, the errors every operation answers (``{"code",
"message", "field"}``; 400 for invalid input, not Powertools' 422), API Gateway's own 403
(``{"message"}``) and the credentials each route needs (``x-api-key`` and a listener's token in
``Authorization`` for listener routes, ``x-admin-key`` for the catalogue's admin route, an
operator's token in ``Authorization`` for the console's admin routes: docs/security.md).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from lambdas.api import catalog, events, onboarding, recommendations
from lambdas.api.admin import experiments, kpis, models, preview, traffic
from lambdas.api.events import NEEDS_ITEM
from lambdas.api.resolver import resolver_for
from lambdas.logic.attribution import COUNTED
from lambdas.routes import ROUTES

# Every function's routers, by its route-table function name.
ROUTERS: dict[str, tuple[Router, ...]] = {
    "onboarding": (onboarding.router,),
    "recommendations": (recommendations.router,),
    "events": (events.router,),
    "catalog": (catalog.router,),
    "admin": (traffic.router, experiments.router, kpis.router, models.router, preview.router),
}


def all_routers() -> list[Router]:
    """Every router of every function."""
    return [router for routers in ROUTERS.values() for router in routers]


TITLE = "musicrec API"
VERSION = "1.0.0"
API_KEY, ADMIN_KEY, LISTENER_TOKEN = "apiKey", "adminKey", "listenerToken"
OPERATOR_TOKEN = "operatorToken"
SECURITY_SCHEMES = {
    API_KEY: {"type": "apiKey", "in": "header", "name": "x-api-key"},
    LISTENER_TOKEN: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "a Cognito ID token whose custom:listener_id claim names the listener "
        "(checked by API Gateway's Cognito authoriser); with api_access=server, a SigV4 "
        "signature instead (docs/security.md)",
    },
    ADMIN_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "x-admin-key",
        "description": "the catalogue's admin route: IAM (SigV4) in AWS, this header locally",
    },
    OPERATOR_TOKEN: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "the console's admin routes: an ID token of the operators' Cognito user "
        "pool (checked by API Gateway's Cognito authoriser on that pool; no API key)",
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "field": {"type": "string"},
    },
    "required": ["code", "message"],
    "title": "Error",
}
GATEWAY_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"message": {"type": "string", "minLength": 1}},
    "required": ["message"],
    "title": "GatewayError",
}
ERRORS = {  # status: description, for every operation
    "400": "invalid_request: a path, query or body value fails validation (names the field)",
    "429": "throttled: retry after Retry-After seconds",
    "503": "not_ready (no batch version loaded) or dependency_unavailable",
}
BODY_ERRORS = {  # for operations with a request body
    "413": "payload_too_large (over 256 KB) or too_many_items",
    "415": "unsupported_media_type: the body is not application/json",
}
NOT_FOUND = "not_found: no list for this song or artist"
UNKNOWN_ITEM = "not_found: no such song in the active batch version"
FORBIDDEN = (
    "API Gateway: a missing or wrong key, or an unknown route; or forbidden: the route names "
    "another listener than the token's (names the field)"
)
UNAUTHORIZED = "API Gateway: a missing, invalid or expired listener token"
OPERATOR_UNAUTHORIZED = "API Gateway: a missing, invalid or expired operator's token"
OPERATOR_FORBIDDEN = "forbidden: the token's claims are not an operator's (names the field)"
CONSOLE_ERRORS = {  # the console's routes: what they read from AWS may fail
    "503": "upstream_unavailable: an AWS service did not answer (names it); retry later",
}
CONFLICT = "conflict: the active batch version is not the expected one, or none precedes it"


def _error(description: str, *schemas: str) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in schemas or ("Error",)]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def event_rules() -> list[dict[str, Any]]:
    """The events' cross-field rules (:func:`lambdas.api.events.check`) in JSON Schema: a play,
    skip or like names its ``item_id``, a follow its ``artist_id``, an impression or click the
    ``recommendation_id`` of the answer it refers to."""

    def needs(types: tuple[str, ...], field: str) -> dict[str, Any]:
        kind = {"properties": {"type": {"enum": list(types)}}, "required": ["type"]}
        present = {"properties": {field: {"type": "string"}}, "required": [field]}
        return {"if": kind, "then": present}

    return [
        needs(NEEDS_ITEM, "item_id"),
        needs(("follow",), "artist_id"),
        needs(tuple(COUNTED), "recommendation_id"),
    ]


def with_error_contract(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (Powertools' document) with our errors and security instead of its 422s."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas["Error"], schemas["GatewayError"] = ERROR_SCHEMA, GATEWAY_ERROR_SCHEMA
    schemas["Event"]["allOf"] = event_rules()
    spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    for route in ROUTES:
        operation = spec["paths"][route.path][route.method.lower()]
        responses = operation["responses"]
        responses.pop("422", None)
        errors = {**ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
        if route.path.endswith("/similar"):
            errors["404"] = NOT_FOUND
        console = route.admin and route.operator_auth == "token"
        if route.admin and not console:
            errors["404"] = UNKNOWN_ITEM
        if console:
            errors.update(CONSOLE_ERRORS)
            errors.pop("429")  # no usage plan on the console's routes
        if route.path.endswith("/rollback"):
            errors["409"] = CONFLICT
        responses.update({status: _error(text) for status, text in errors.items()})
        responses["403"] = _error(FORBIDDEN, "Error", "GatewayError")
        if console:
            responses["401"] = _error(OPERATOR_UNAUTHORIZED, "GatewayError")
            responses["403"] = _error(OPERATOR_FORBIDDEN, "Error", "GatewayError")
            operation["security"] = [{OPERATOR_TOKEN: []}]
        elif route.admin:
            operation["security"] = [{ADMIN_KEY: []}]
        else:
            responses["401"] = _error(UNAUTHORIZED, "GatewayError")
            operation["security"] = [{API_KEY: [], LISTENER_TOKEN: []}]
    return spec


def document() -> str:
    generated = resolver_for(*all_routers()).get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Onboarding, personal lists, similar songs and artists, events; the "
        "console's operator routes.",
    )
    return json.dumps(with_error_contract(json.loads(generated)), indent=2)


if __name__ == "__main__":
    sys.stdout.write(document() + "\n")
