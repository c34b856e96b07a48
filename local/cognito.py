"""The listeners' Cognito user pool on local AWS (moto), as ``infra/access.py`` makes it in AWS, and
ID tokens of its listeners for local tools, tests and benchmarks.

:func:`ensure_pool` creates the pool ``musicrec-local-listeners`` (the immutable custom attribute
``listener_id``, users created by an administrator only) and its app client (no secret; reads
``custom:listener_id``, writes nothing; ``ADMIN_USER_PASSWORD_AUTH`` for local tooling), or finds
them by name. :func:`listener_token` creates a listener's user on first use (username and
``custom:listener_id`` = the listener id, a generated local password) and signs them in with
AdminInitiateAuth: the ID token moto signs (RS256, its JWKS at
``<endpoint>/<pool id>/.well-known/jwks.json``), cached in this process until shortly before it
expires. :func:`listener_headers`: the headers an app sends for a listener.

The operators' pool ``musicrec-local-operators`` (:data:`OPERATORS`, as ``infra/access.py``'s
operator pool in AWS) and its client ``musicrec-local-console`` (USER_PASSWORD_AUTH: the console
signs in from the browser) hold one local operator, :data:`OPERATOR_NAME`, with the password
:func:`operator_password`; :func:`operator_token` and :func:`operator_headers` sign them in for
the console's routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local import aws

if TYPE_CHECKING:
    from local.stack import Stack

POOL_NAME = "musicrec-local-listeners"  # infra/access.py: f"{prefix}-listeners"
CLIENT_NAME = "musicrec-local-app"  # infra/access.py: f"{prefix}-app"
OPERATOR_POOL_NAME = "musicrec-local-operators"  # infra/access.py: f"{prefix}-operators"
OPERATOR_CLIENT_NAME = "musicrec-local-console"  # infra/access.py: f"{prefix}-console"
OPERATOR_NAME = "operator"  # the local stack's one operator
LISTENER_ATTRIBUTE = DEFAULT_LISTENER_CLAIM.removeprefix("custom:")  # "listener_id"
TOKEN_HEADER = "Authorization"  # the authoriser's identity source (infra/access.py)
REFRESH_MARGIN_S = 60  # a cached token is replaced this long before it expires
PAGE = 60  # ListUserPools' largest page
# infra/access.py's password policy (a generated password meets it)
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 3,
}
_PASSWORD_KEY = b"musicrec-local-listener-password"  # local only: moto's users, never AWS


class CognitoError(RuntimeError):
    """Local AWS that does not answer, has no listener pool, or refuses a listener."""


@dataclass(frozen=True)
class PoolKind:
    """Who signs in to a pool: its name and its app client's."""

    pool_name: str
    client_name: str


LISTENERS = PoolKind(POOL_NAME, CLIENT_NAME)
OPERATORS = PoolKind(OPERATOR_POOL_NAME, OPERATOR_CLIENT_NAME)


@dataclass(frozen=True)
class UserPool:
    """A user pool on local AWS (the listeners' or the operators') and its app client."""

    id: str
    client_id: str
    endpoint: str  # the local AWS endpoint serving it
    region: str = aws.REGION

    @property
    def issuer(self) -> str:
        """The ``iss`` of its tokens (Cognito's, which moto writes as well)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}"

    @property
    def jwks_url(self) -> str:
        """Where moto serves the pool's signing keys (Cognito: ``<issuer>/.well-known/...``)."""
        return f"{self.endpoint}/{self.id}/.well-known/jwks.json"


def _client(url: str) -> Any:
    return aws.client("cognito-idp", url)  # aws.CLIENT_CONFIG: 3 s to connect, 30 s to read


def _error(url: str, exc: Exception) -> CognitoError:
    return CognitoError(f"local AWS at {url}: {exc}")


def _find_pool_id(client: Any, kind: PoolKind) -> str | None:
    pages = client.get_paginator("list_user_pools").paginate(MaxResults=PAGE)
    pools = pages.search(f"UserPools[?Name=='{kind.pool_name}'].Id")
    return next((str(pool_id) for pool_id in pools), None)


def _find_client_id(client: Any, pool_id: str, kind: PoolKind) -> str | None:
    pages = client.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, MaxResults=PAGE
    )
    apps = pages.search(f"UserPoolClients[?ClientName=='{kind.client_name}'].ClientId")
    return next((str(client_id) for client_id in apps), None)


def _create_pool(client: Any, kind: PoolKind) -> str:
    listeners = [{
        "Name": LISTENER_ATTRIBUTE,
        "AttributeDataType": "String",
        "Mutable": False,  # set once by AdminCreateUser
        "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "128"},
    }]  # fmt: skip
    schema = {"Schema": listeners} if kind == LISTENERS else {}
    created = client.create_user_pool(
        PoolName=kind.pool_name,
        **schema,
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},  # no self sign-up
        UsernameConfiguration={"CaseSensitive": False},
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "admin_only"}]},
    )
    pool_id = str(created["UserPool"]["Id"])
    # as infra/access.py and infra/operators.py: an authenticator app (TOTP) optional, no SMS
    client.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    return pool_id


def _create_client(client: Any, pool_id: str, kind: PoolKind) -> str:
    if kind == LISTENERS:
        # the app's SRP sign-in and refresh tokens; admin password sign-in for local tooling
        flows = [
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        ]
        readable = [DEFAULT_LISTENER_CLAIM]
    else:  # the console's password sign-in from the browser (InitiateAuth)
        flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
                 "ALLOW_ADMIN_USER_PASSWORD_AUTH"]  # fmt: skip
        readable = []
    created = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=kind.client_name,
        GenerateSecret=False,  # a public client, as the app's and the console's
        ExplicitAuthFlows=flows,
        ReadAttributes=readable,
        WriteAttributes=[],  # above all not custom:listener_id
        PreventUserExistenceErrors="ENABLED",
    )
    return str(created["UserPoolClient"]["ClientId"])


_pools: dict[tuple[str, PoolKind], UserPool] = {}  # (endpoint, kind) -> its pool, once found
_lock = threading.Lock()


def ensure_pool(url: str = aws.URL, kind: PoolKind = LISTENERS) -> UserPool:
    """The pool of ``kind`` (the listeners' by default) and its app client on local AWS at
    ``url``, created unless they exist."""
    try:
        client = _client(url)
        pool_id = _find_pool_id(client, kind) or _create_pool(client, kind)
        client_id = _find_client_id(client, pool_id, kind) or _create_client(client, pool_id, kind)
    except (BotoCoreError, ClientError) as exc:
        raise _error(url, exc) from exc
    pool = UserPool(pool_id, client_id, url)
    with _lock:
        _pools[url, kind] = pool
    return pool


def find_pool(url: str = aws.URL, kind: PoolKind = LISTENERS) -> UserPool:
    """The pool of ``kind`` on local AWS at ``url`` (made by ``make local``); never creates it."""
    with _lock:
        if (url, kind) in _pools:
            return _pools[url, kind]
    try:
        client = _client(url)
        pool_id = _find_pool_id(client, kind)
        client_id = _find_client_id(client, pool_id, kind) if pool_id else None
    except (BotoCoreError, ClientError) as exc:
        raise _error(url, exc) from exc
    if pool_id is None or client_id is None:
        mode = " in the listener access mode" if kind == LISTENERS else ""
        raise CognitoError(
            f"local AWS at {url} has no user pool {kind.pool_name!r} with a client "
            f"{kind.client_name!r}: is a local stack running there{mode} (`make local`)?"
        )
    pool = UserPool(pool_id, client_id, url)
    with _lock:
        _pools[url, kind] = pool
    return pool


def local_password(pool: UserPool, listener_id: str) -> str:
    """The listener's password on the local pool: derived from the pool and the listener, so
    every local process signs them in without sharing state; meets the pool's policy."""
    digest = hmac.new(_PASSWORD_KEY, f"{pool.id}/{listener_id}".encode(), hashlib.sha256)
    return f"Local-{digest.hexdigest()[:24]}-Aa1!"


_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}  # -> (ID token, expires, epoch s)


def listener_token(listener_id: str, url: str = aws.URL, pool: UserPool | None = None) -> str:
    """An ID token of the listener on the local pool at ``url`` (a user created on first use),
    from this process's cache until ``REFRESH_MARGIN_S`` before it expires."""
    pool = pool or find_pool(url)
    return _cached(pool, listener_id, lambda: _sign_in(_client(pool.endpoint), pool, listener_id))


def _cached(pool: UserPool, username: str, sign_in: Callable[[], tuple[str, int]]) -> str:
    """``username``'s ID token on ``pool``: the cached one until ``REFRESH_MARGIN_S`` before it
    expires, else a new one from ``sign_in`` (the token and its lifetime in seconds)."""
    key = (pool.endpoint, pool.id, username)
    with _lock:
        cached = _tokens.get(key)
    if cached and cached[1] - REFRESH_MARGIN_S > time.time():
        return cached[0]
    started = time.time()
    try:
        token, expires_in = sign_in()
    except (BotoCoreError, ClientError) as exc:
        raise _error(pool.endpoint, exc) from exc
    with _lock:
        _tokens[key] = (token, started + expires_in)
    return token


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _sign_in(client: Any, pool: UserPool, listener_id: str) -> tuple[str, int]:
    """The listener's ID token and its lifetime (s): the listener's user created (as the
    streaming service's backend creates one) with the local password, or, when it exists,
    signed in with that password (set again when it is not the local one)."""
    password = local_password(pool, listener_id)
    try:
        client.admin_create_user(
            UserPoolId=pool.id,
            Username=listener_id,
            UserAttributes=[{"Name": DEFAULT_LISTENER_CLAIM, "Value": listener_id}],
            MessageAction="SUPPRESS",  # custom:listener_id set once; no invitation
        )
    except ClientError as exc:
        if _code(exc) != "UsernameExistsException":
            raise
        try:
            return _initiate_auth(client, pool, listener_id, password)
        except ClientError as failed:
            if _code(failed) != "NotAuthorizedException":
                raise
    client.admin_set_user_password(
        UserPoolId=pool.id, Username=listener_id, Password=password, Permanent=True
    )
    return _initiate_auth(client, pool, listener_id, password)


def _initiate_auth(client: Any, pool: UserPool, listener_id: str, password: str) -> tuple[str, int]:
    answer = client.admin_initiate_auth(
        UserPoolId=pool.id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": listener_id, "PASSWORD": password},
    )
    result = answer.get("AuthenticationResult")
    if not result:
        raise CognitoError(
            f"signing in listener {listener_id!r} asked for {answer.get('ChallengeName')!r}"
        )
    token = str(result["IdToken"])
    named = _unverified_claims(token).get(DEFAULT_LISTENER_CLAIM)
    if named != listener_id:  # another user's, whose username differs only in case
        raise CognitoError(
            f"user {listener_id!r} of {pool.id} is listener {named!r} (usernames ignore case)"
        )
    return token, int(result["ExpiresIn"])


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token just received from Cognito (its signature is the gateway's to
    check)."""
    part = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims if isinstance(claims, dict) else {}


def listener_headers(stack: Stack, listener_id: str) -> dict[str, str]:
    """The headers an app sends for a listener in the listener access mode: the app's API key
    and the listener's ID token (the pool on the stack's local AWS)."""
    return {"x-api-key": stack.api_key, TOKEN_HEADER: listener_token(listener_id, stack.aws_url)}


def operator_password(pool: UserPool) -> str:
    """The local operator's password on the local operators' pool (printed by ``make local``)."""
    return local_password(pool, OPERATOR_NAME)


def ensure_operator(url: str = aws.URL) -> UserPool:
    """The operators' pool at ``url`` with the local operator in it (created unless they
    exist; the password set to :func:`operator_password`, permanent)."""
    pool = ensure_pool(url, OPERATORS)
    try:
        client = _client(url)
        try:
            client.admin_create_user(
                UserPoolId=pool.id, Username=OPERATOR_NAME, MessageAction="SUPPRESS"
            )
        except ClientError as exc:
            if _code(exc) != "UsernameExistsException":
                raise
        client.admin_set_user_password(
            UserPoolId=pool.id, Username=OPERATOR_NAME, Password=operator_password(pool),
            Permanent=True,
        )  # fmt: skip
    except (BotoCoreError, ClientError) as exc:
        raise _error(url, exc) from exc
    return pool


def operator_token(url: str = aws.URL) -> str:
    """An ID token of the local operator (the operators' pool at ``url``, made by ``make
    local``), from this process's cache until ``REFRESH_MARGIN_S`` before it expires."""
    pool = find_pool(url, OPERATORS)
    return _cached(pool, OPERATOR_NAME, lambda: _operator_sign_in(pool))


def _operator_sign_in(pool: UserPool) -> tuple[str, int]:
    answer = _client(pool.endpoint).admin_initiate_auth(
        UserPoolId=pool.id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": OPERATOR_NAME, "PASSWORD": operator_password(pool)},
    )
    result = answer.get("AuthenticationResult")
    if not result:
        raise CognitoError(f"signing in the operator asked for {answer.get('ChallengeName')!r}")
    return str(result["IdToken"]), int(result["ExpiresIn"])


def operator_headers(stack: Stack) -> dict[str, str]:
    """The headers the console sends for the local operator: the operator's ID token (the
    console's routes take no API key)."""
    return {TOKEN_HEADER: operator_token(stack.aws_url)}


def forget(url: str | None = None) -> None:
    """Drop the cached pools and tokens (of the endpoint ``url``; None: all), e.g. after local
    AWS restarted on the same port."""
    with _lock:
        for endpoint in [e for e in _pools if url in (None, e[0])]:
            del _pools[endpoint]
        for key in [k for k in _tokens if url in (None, k[0])]:
            del _tokens[key]
