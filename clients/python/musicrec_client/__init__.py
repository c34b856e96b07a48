"""musicrec-client: the Python client of the musicrec API (docs/api.md).

from musicrec_client import ListenerAuth, MusicRec

with MusicRec("http://127.0.0.1:3000", ListenerAuth("local-api-key", token)) as api:
    songs = api.recommendations("u1", limit=10)
    api.events.track("u1", "play", item_id=songs.items[0].id)

with MusicRec("http://127.0.0.1:3000", OperatorTokenAuth(operator_token)) as console:
    print(console.models().batch.active)
"""

from __future__ import annotations

from ._openapi import API_VERSION
from .auth import (
    AdminKeyAuth,
    Auth,
    ListenerAuth,
    OperatorAuth,
    OperatorTokenAuth,
    ServerAuth,
    static_credentials,
)
from .client import MusicRec
from .errors import (
    ApiError,
    AuthError,
    ClientError,
    MusicRecError,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    ValidationError,
)
from .events import BufferFullError, EventBuffer
from .retry import NO_RETRIES, RetryPolicy

__version__ = API_VERSION
__all__ = [
    "API_VERSION",
    "NO_RETRIES",
    "AdminKeyAuth",
    "ApiError",
    "Auth",
    "AuthError",
    "BufferFullError",
    "ClientError",
    "EventBuffer",
    "ListenerAuth",
    "MusicRec",
    "MusicRecError",
    "NotFound",
    "OperatorAuth",
    "OperatorTokenAuth",
    "RateLimited",
    "RetryPolicy",
    "ServerAuth",
    "ServerError",
    "Timeout",
    "TransportError",
    "ValidationError",
    "static_credentials",
]
