"""Who is calling, and the rule that a listener acts only for themselves (docs/security.md).

In the ``listener`` access mode API Gateway's Cognito authoriser has checked the caller's token
and passes its claims in ``requestContext.authorizer.claims``; the listener claim names the one
listener the caller may act for. In the ``server`` mode API Gateway has checked a SigV4 signature
(IAM) and the caller, a backend, may act for any listener."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lambdas.api.errors import ApiError
from lambdas.config import AdminSettings, Settings


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: ``listener`` is the only listener it may act for (None: any)."""

    listener: str | None

    def require(self, user_id: str | None, field: str) -> None:
        """403 unless the caller may act for ``user_id`` (named by ``field`` of the request)."""
        if self.listener is not None and user_id != self.listener:
            raise ApiError(
                403, "forbidden", f"{field}: a listener's token acts only for that listener", field
            )


def caller_of(event: dict[str, Any] | None, settings: Settings) -> Caller:
    """The caller of a proxy event under the configured access mode; 403 when the event lacks
    what API Gateway puts there for that mode (a misconfigured stage must not open the API)."""
    context = (event or {}).get("requestContext") or {}
    if settings.access_mode == "server":
        identity = context.get("identity") or {}
        if not (identity.get("userArn") or identity.get("caller")):
            raise ApiError(403, "forbidden", "Authorization: an IAM-signed request is required",
                           "Authorization")  # fmt: skip
        return Caller(None)
    claims = (context.get("authorizer") or {}).get("claims") or {}
    listener = claims.get(settings.listener_claim)
    if not listener:
        raise ApiError(
            403,
            "forbidden",
            f"Authorization: the token names no listener (claim {settings.listener_claim!r})",
            "Authorization",
        )
    return Caller(str(listener))


def require_operator(event: dict[str, Any] | None, issuer: str) -> dict[str, str]:
    """The claims of the operator calling a console route (``operator_auth="token"``): API
    Gateway's authoriser on the operators' pool has checked the ID token and passes its claims;
    403 when they are missing (a misconfigured stage must not open the console's routes) or,
    with ``issuer`` set, name another pool (a listener's token never passes for an operator's)."""
    context = (event or {}).get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    if not claims or claims.get("token_use") != "id":
        raise ApiError(403, "forbidden", "Authorization: an operator's ID token is required",
                       "Authorization")  # fmt: skip
    if issuer and claims.get("iss") != issuer:
        raise ApiError(403, "forbidden", "Authorization: the token is not an operator's",
                       "Authorization")  # fmt: skip
    return {str(k): str(v) for k, v in claims.items()}


def console_operator(event: dict[str, Any] | None) -> dict[str, str]:
    """:func:`require_operator` with the issuer of the function's settings (``OPERATOR_ISSUER``):
    what every console route checks first."""
    return require_operator(event, AdminSettings.from_env().operator_issuer)
