"""The credentials a call carries (docs/security.md), applied to each attempt of a request:

- :class:`ListenerAuth`: a listener's app: the app's API key (``x-api-key``) and the listener's
  Cognito ID token, raw in ``Authorization``; it acts only for that listener.
- :class:`ServerAuth`: a backend (``api_access=server``): the API key and a SigV4 signature
  (service ``execute-api``) by AWS credentials allowed ``execute-api:Invoke``; any listener.
- :class:`OperatorTokenAuth`: the console's admin routes (``/v1/admin/...``): an ID token of
  the operators' Cognito user pool, raw in ``Authorization``, no API key (AWS and local alike).
- :class:`OperatorAuth`: the catalogue's operator route in AWS: a SigV4 signature, no API key.
- :class:`AdminKeyAuth`: the catalogue's operator route of the local gateway (``make local``),
  which takes an ``x-admin-key`` header instead of IAM.

SigV4 needs botocore: ``pip install 'musicrec-client[sigv4]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

SERVICE = "execute-api"
API_KEY_HEADER = "x-api-key"
ADMIN_KEY_HEADER = "x-admin-key"
TOKEN_HEADER = "Authorization"
# what a signature covers besides Host and X-Amz-Date: headers a proxy leaves alone
SIGNED_HEADERS = ("content-type", API_KEY_HEADER)


class Auth(Protocol):
    """Credentials: sets the headers of one attempt of a request (a signature is per attempt)."""

    def apply(self, request: httpx.Request) -> None: ...


@dataclass(frozen=True)
class ListenerAuth:
    """The app's API key and a listener's ID token; ``id_token`` may be a function returning
    the current token (called for each attempt: let it cache and refresh)."""

    api_key: str
    id_token: str | Callable[[], str] = field(repr=False)

    def apply(self, request: httpx.Request) -> None:
        token = self.id_token() if callable(self.id_token) else self.id_token
        request.headers[API_KEY_HEADER] = self.api_key
        request.headers[TOKEN_HEADER] = token


@dataclass(frozen=True)
class OperatorTokenAuth:
    """An operator's ID token (of the operators' user pool, not the listeners') for the
    console's admin routes; ``id_token`` may be a function returning the current token (called
    for each attempt: let it cache and refresh). No API key: these routes take none."""

    id_token: str | Callable[[], str] = field(repr=False)

    def apply(self, request: httpx.Request) -> None:
        request.headers[TOKEN_HEADER] = (
            self.id_token() if callable(self.id_token) else self.id_token
        )


@dataclass(frozen=True)
class AdminKeyAuth:
    """The local gateway's operator key (``make local``: ``local-admin-key``), for the
    catalogue's route."""

    admin_key: str = field(repr=False)

    def apply(self, request: httpx.Request) -> None:
        request.headers[ADMIN_KEY_HEADER] = self.admin_key


class SigV4Signer:
    """Signs requests with botocore's SigV4 for ``execute-api`` in ``region``. ``credentials``:
    botocore credentials (refreshed before each signature when they are refreshable), by
    default those of botocore's default chain (environment, profile, role), found on first use."""

    def __init__(self, region: str | None = None, credentials: Any = None) -> None:
        try:
            import botocore.session
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("SigV4 needs botocore: pip install 'musicrec-client[sigv4]'") from exc
        self._auth_class, self._request_class = SigV4Auth, AWSRequest
        self._session = (
            botocore.session.get_session() if credentials is None or not region else None
        )
        self.region = region or (self._session and self._session.get_config_variable("region"))
        if not self.region:
            raise ValueError("region: none given and none configured (AWS_REGION)")
        self._credentials = credentials

    def credentials(self) -> Any:
        if self._credentials is None and self._session is not None:
            self._credentials = self._session.get_credentials()
        if self._credentials is None:
            raise ValueError("no AWS credentials found for SigV4 (botocore's default chain)")
        frozen = getattr(self._credentials, "get_frozen_credentials", None)
        return frozen() if frozen else self._credentials

    def sign(self, request: httpx.Request) -> None:
        """Add ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) for exactly the
        URL and body that will be sent."""
        headers = {
            name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers
        }
        signed = self._request_class(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        self._auth_class(self.credentials(), SERVICE, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]


def static_credentials(access_key: str, secret_key: str, token: str | None = None) -> Any:
    """Fixed AWS credentials for :class:`ServerAuth` or :class:`OperatorAuth`."""
    from botocore.credentials import Credentials

    return Credentials(access_key, secret_key, token)


class ServerAuth:
    """A backend's calls (``api_access=server``): the API key, SigV4-signed."""

    def __init__(self, api_key: str, region: str | None = None, credentials: Any = None) -> None:
        self.api_key = api_key
        self.signer = SigV4Signer(region, credentials)

    def apply(self, request: httpx.Request) -> None:
        request.headers[API_KEY_HEADER] = self.api_key
        self.signer.sign(request)

    def __repr__(self) -> str:
        return f"ServerAuth(region={self.signer.region!r})"


class OperatorAuth:
    """An operator's calls to the catalogue's route in AWS: SigV4-signed (IAM), no API key."""

    def __init__(self, region: str | None = None, credentials: Any = None) -> None:
        self.signer = SigV4Signer(region, credentials)

    def apply(self, request: httpx.Request) -> None:
        self.signer.sign(request)

    def __repr__(self) -> str:
        return f"OperatorAuth(region={self.signer.region!r})"
