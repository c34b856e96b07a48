"""Route paths come from the route table, so a router cannot serve a path the CDK stacks and the
local gateway do not know."""

from __future__ import annotations

from lambdas.routes import ROUTES


def path(method: str, template: str) -> str:
    """The Powertools form (``/users/<userId>``) of a route-table path (``/users/{userId}``)."""
    if not any(r.method == method and r.path == template for r in ROUTES):
        raise LookupError(f"{method} {template} is not in lambdas.routes.ROUTES")
    return template.replace("{", "<").replace("}", ">")
