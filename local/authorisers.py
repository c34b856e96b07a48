"""API Gateway's authorisers for the local gateway, one per access mode (``lambdas/config.py``,
``infra/access.py``), and the client side of each for local tools and tests.

``listener``: :class:`CognitoAuthoriser`, the Cognito user-pools authoriser on every app route. The
``Authorization`` header holds an ID token of the listener pool (raw, or after ``Bearer ``); its
RS256 signature is checked against the pool's JWKS (fetched once from moto, cached), then ``iss``
(the pool), ``aud`` (the pool's app client), ``token_use`` ("id") and ``exp``. A missing, invalid
or expired token: 401 ``{"message": "Unauthorized"}``. Passed: the token's claims, every value a
string as API Gateway passes them (``exp`` and ``iat`` as dates, e.g. "Sun Dec 17 07:28:12 UTC
2017"), in ``requestContext.authorizer.claims``.

``server``: :class:`SigV4Authoriser`, IAM authorisation: a Signature Version 4 signature (service
``execute-api``, the local region) by the local credentials, recomputed with botocore and
compared; a signature dated more than 5 minutes away from now is refused, as API Gateway refuses
it. Refusals are 403 with API Gateway's messages ("Missing Authentication Token" without an
``Authorization`` header, "The request signature we calculated does not match ..." and so on).
Passed: the caller in ``requestContext.identity`` (``accessKey``, ``accountId``, ``caller``,
``user``, ``userArn``).

Client side: :func:`sign` (SigV4 headers for a request), :func:`server_headers`; the listener's
token: :func:`local.cognito.listener_headers`.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lambdas.config import ACCESS_MODES
from local import aws
from local.cognito import UserPool

if TYPE_CHECKING:
    from local.stack import Stack

ACCOUNT_ID = "000000000000"  # the account local events name (proxy event, Lambda ARNs)
SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 300  # API Gateway: "Signature expired: ... (... - 5 min.)"
JWKS_TIMEOUT_S = 5
JWKS_RETRY_S = 30  # an unknown key id refetches the JWKS at most this often
VERIFIED_CACHE = 10_000  # tokens whose signature was checked (API Gateway caches results too)
Clock = Callable[[], float]


@dataclass(frozen=True)
class Request:
    """What an authoriser sees of a request: the headers as received, repeats included."""

    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (lower-case), whatever case it was sent in."""
        found = [value for key, value in self.headers if key.lower() == name]
        return found[-1] if found else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


@dataclass(frozen=True)
class Grant:
    """A request an authoriser lets through: ``requestContext.authorizer`` (None: none) and the
    fields of ``requestContext.identity`` it fills."""

    authorizer: dict[str, Any] | None = None
    identity: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """API Gateway's answer to a request its authoriser refuses."""

    status: int
    message: str
    kind: str  # x-amzn-ErrorType


UNAUTHORIZED = Refusal(401, "Unauthorized", "UnauthorizedException")
MISSING_TOKEN = Refusal(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
AUTHORISER_FAILED = Refusal(500, "Internal server error", "AuthorizerConfigurationException")


class Authoriser(Protocol):
    """API Gateway's check of a request to an app route in one access mode."""

    mode: str

    def authorise(self, request: Request) -> Grant | Refusal: ...


def for_mode(
    mode: str, user_pool: UserPool | None = None, credentials: Mapping[str, str] | None = None
) -> Authoriser:
    """The authoriser of access mode ``mode``: the pool's Cognito authoriser (``listener``;
    without a pool no token is valid) or SigV4 for ``credentials`` (``server``; access key ->
    secret, by default the local ones)."""
    if mode not in ACCESS_MODES:
        raise ValueError(f"access mode {mode!r}: use one of {ACCESS_MODES}")
    if mode == "listener":
        return CognitoAuthoriser(user_pool)
    return SigV4Authoriser(credentials)


# listener: the Cognito user-pools authoriser -----------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def claim_date(epoch: float) -> str:
    """An epoch time as API Gateway passes ``exp`` and ``iat``: "Sun Dec 17 07:28:12 UTC 2017"."""
    t = time.gmtime(epoch)
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC {t.tm_year}")  # fmt: skip


def event_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """A token's claims as API Gateway passes them to the function: every value a string."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if name in ("exp", "iat") and isinstance(value, int | float):
            out[name] = claim_date(value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            out[name] = json.dumps(value)
        else:
            out[name] = str(value)
    return out


def _key_id(token: str) -> str | None:
    """The ``kid`` of a JWT's header (None: no JWT header)."""
    try:
        part = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def bare_token(header: str) -> str:
    """The token of an ``Authorization`` value: raw, or after ``Bearer `` (both reach the
    Cognito authoriser in AWS)."""
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value


class CognitoAuthoriser:
    """API Gateway's Cognito user-pools authoriser on the listener pool (ID tokens of its app
    client). Thread-safe."""

    mode = "listener"

    def __init__(self, pool: UserPool | None, clock: Clock = time.time) -> None:
        self.pool, self._clock = pool, clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._verified: dict[str, dict[str, Any]] = {}  # token -> its claims (checked)
        self._lock = threading.Lock()

    def authorise(self, request: Request) -> Grant | Refusal:
        header = request.header("authorization")
        if not header or self.pool is None:
            return UNAUTHORIZED
        try:
            claims = self.verify(bare_token(header))
        except OSError as exc:  # the JWKS could not be fetched
            print(f"gateway: the Cognito authoriser cannot read {self.pool.jwks_url}: {exc}",
                  file=sys.stderr)  # fmt: skip
            return AUTHORISER_FAILED
        if claims is None:
            return UNAUTHORIZED
        return Grant(authorizer={"claims": event_claims(claims)})

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid ID token of the pool's app client; None for any other token.
        Raises OSError when the pool's JWKS cannot be fetched."""
        if self.pool is None or not token:
            return None
        now = self._clock()
        with self._lock:
            known = self._verified.get(token)
        if known is not None:
            return known if known["exp"] > now else None
        claims = self._decode(token)
        if claims is None:
            return None
        try:
            self._registry(self.pool, now).validate(claims)
        except (JoseError, ValueError, TypeError):
            return None
        with self._lock:
            if len(self._verified) >= VERIFIED_CACHE:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> dict[str, Any] | None:
        """The token's claims if its RS256 signature is by one of the pool's keys (the JWKS is
        fetched again, at most every ``JWKS_RETRY_S``, for a key id it lacks)."""
        keys = self._key_set(refresh=False)
        if _key_id(token) not in {key.kid for key in keys.keys} and self._may_refresh():
            keys = self._key_set(refresh=True)
        try:
            return dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)
        except (JoseError, ValueError, TypeError, KeyError):  # forged, malformed, not a JWT
            return None

    def _may_refresh(self) -> bool:
        with self._lock:
            return self._clock() - self._fetched_at >= JWKS_RETRY_S

    def _key_set(self, refresh: bool) -> KeySet:
        assert self.pool is not None
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        with urllib.request.urlopen(self.pool.jwks_url, timeout=JWKS_TIMEOUT_S) as answer:
            document = json.loads(answer.read())
        keys = KeySet.import_key_set(document)
        with self._lock:
            self._keys, self._fetched_at = keys, self._clock()
        return keys

    @staticmethod
    def _registry(pool: UserPool, now: float) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            now=int(now),
            iss={"essential": True, "value": pool.issuer},
            aud={"essential": True, "values": [pool.client_id]},
            token_use={"essential": True, "value": "id"},
            exp={"essential": True},
        )


# server: IAM (SigV4) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Whom an access key belongs to, as ``requestContext.identity`` names them."""

    account_id: str
    arn: str
    caller: str

    def identity(self, access_key: str) -> dict[str, str]:
        return {"accessKey": access_key, "accountId": self.account_id, "caller": self.caller,
                "user": self.caller, "userArn": self.arn}  # fmt: skip


# The local credentials (moto's and LocalStack's "test"): the local account's root, as LocalStack
# names them.
LOCAL_CREDENTIALS = {aws.CREDENTIALS["aws_access_key_id"]: aws.CREDENTIALS["aws_secret_access_key"]}
LOCAL_PRINCIPAL = Principal(ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID)


def _incomplete(missing: list[str], header: str) -> Refusal:
    text = " ".join(missing) + f" Authorization={header}"
    return Refusal(403, text, "IncompleteSignatureException")


def _invalid(message: str) -> Refusal:
    return Refusal(403, message, "InvalidSignatureException")


def _basic(moment: datetime.datetime) -> str:
    return moment.strftime(SIGV4_TIMESTAMP)


class _Recomputed(SigV4Auth):
    """botocore's SigV4 over the headers the request says it signed, and the body received."""

    def __init__(self, credentials: Credentials, region: str, request: Request,
                 signed: list[str]) -> None:  # fmt: skip
        super().__init__(credentials, SERVICE, region)
        self._request, self._signed = request, signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            for value in self._request.all(name):
                headers[name] = value
        return headers

    def canonical_request(self, request: AWSRequest) -> str:
        # botocore trusts an X-Amz-Content-SHA256 header; the server hashes the body it received
        text = super().canonical_request(request)
        return text.rpartition("\n")[0] + "\n" + self.payload(request)


class SigV4Authoriser:
    """API Gateway's IAM authorisation: a SigV4 signature of the request by a known access key
    (``credentials``: access key -> secret, by default the local ones)."""

    mode = "server"

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        region: str = aws.REGION,
        clock: Clock = time.time,
        principal: Principal = LOCAL_PRINCIPAL,
    ) -> None:
        self.credentials = dict(credentials or LOCAL_CREDENTIALS)
        self.region, self._clock, self.principal = region, clock, principal

    def authorise(self, request: Request) -> Grant | Refusal:
        header = request.header("authorization")
        if header is None:
            return MISSING_TOKEN
        algorithm, _, rest = header.strip().partition(" ")
        params: dict[str, str] = {}
        if algorithm == ALGORITHM:
            for part in rest.split(","):
                name, sep, value = part.strip().partition("=")
                if sep:
                    params[name] = value
        amz_date, http_date = request.header("x-amz-date"), request.header("date")
        missing = [
            f"Authorization header requires '{name}' parameter."
            for name in ("Credential", "Signature", "SignedHeaders")
            if not params.get(name)
        ]
        if not (amz_date or http_date):
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or"
                           " a 'Date' header.")  # fmt: skip
        if missing:
            return _incomplete(missing, header)
        return self._check(request, params, amz_date, http_date)

    def _check(self, request: Request, params: dict[str, str], amz_date: str | None,
               http_date: str | None) -> Grant | Refusal:  # fmt: skip
        scope = params["Credential"].split("/")
        access_key, scope_date, region, service, terminator = (
            scope if len(scope) == 5 else ["", "", "", "", "/".join(scope[4:])]
        )
        if terminator != "aws4_request":
            return _invalid("Credential should be scoped with a valid terminator: "
                            f"'aws4_request', not '{terminator}'. ")  # fmt: skip
        if service != SERVICE:
            return _invalid(f"Credential should be scoped to correct service: '{SERVICE}'. ")
        if region != self.region:
            return _invalid(f"Credential should be scoped to a valid region, not '{region}'. ")
        secret = self.credentials.get(access_key)
        if secret is None:
            return Refusal(403, "The security token included in the request is invalid.",
                           "UnrecognizedClientException")  # fmt: skip
        signed = [name.strip().lower() for name in params["SignedHeaders"].split(";")]
        if "host" not in signed:
            return _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                            "Authorization.")  # fmt: skip
        moment = _request_time(amz_date, http_date)
        if moment is None:
            sent = amz_date or http_date
            message = (f"Date must be in ISO-8601 'basic format'. Got '{sent}'. See "
                       "http://en.wikipedia.org/wiki/ISO_8601")  # fmt: skip
            return Refusal(403, message, "IncompleteSignatureException")
        timestamp = _basic(moment)
        if scope_date != timestamp[:8]:
            return _invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                            f"version of date from HTTP: '{scope_date}' != '{timestamp[:8]}', "
                            f"from '{timestamp}'.")  # fmt: skip
        skew = self._skew(moment)
        if skew is not None:
            return skew
        signer = _Recomputed(Credentials(access_key, secret), self.region, request, signed)
        aws_request = AWSRequest(method=request.method, url=_url(request), data=request.body or b"")
        aws_request.context["timestamp"] = timestamp
        canonical = signer.canonical_request(aws_request)
        string_to_sign = signer.string_to_sign(aws_request, canonical)
        expected = signer.signature(string_to_sign, aws_request)
        if not hmac.compare_digest(expected, params["Signature"]):
            return _invalid(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details.\n\nThe Canonical String for this request should have "
                f"been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            )
        return Grant(identity=self.principal.identity(access_key))

    def _skew(self, moment: datetime.datetime) -> Refusal | None:
        now = datetime.datetime.fromtimestamp(int(self._clock()), datetime.UTC)
        window = datetime.timedelta(seconds=MAX_SKEW_S)
        minutes = MAX_SKEW_S // 60
        if moment < now - window:
            return _invalid(f"Signature expired: {_basic(moment)} is now earlier than "
                            f"{_basic(now - window)} ({_basic(now)} - {minutes} min.)")  # fmt: skip
        if moment > now + window:
            return _invalid(f"Signature not yet current: {_basic(moment)} is still later than "
                            f"{_basic(now + window)} ({_basic(now)} + {minutes} min.)")  # fmt: skip
        return None


def _request_time(amz_date: str | None, http_date: str | None) -> datetime.datetime | None:
    """When the request was signed: ``X-Amz-Date`` (ISO 8601 basic), else ``Date``."""
    try:
        if amz_date:
            parsed = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP)
            return parsed.replace(tzinfo=datetime.UTC)
        moment = parsedate_to_datetime(http_date or "")
    except (ValueError, TypeError):
        return None
    return moment.astimezone(datetime.UTC) if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _url(request: Request) -> str:
    """The URL the client signed: its ``Host`` and the target as sent."""
    return f"http://{request.header('host') or 'localhost'}{request.target}"


# the client side ---------------------------------------------------------------------------------


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    *,
    access_key: str = aws.CREDENTIALS["aws_access_key_id"],
    secret_key: str = aws.CREDENTIALS["aws_secret_access_key"],
    region: str = aws.REGION,
) -> dict[str, str]:
    """``headers`` and the SigV4 ones (``Authorization``, ``X-Amz-Date``) for a request to
    ``url`` (botocore signs it, as an AWS SDK does; by default with the local credentials)."""
    request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers or {}))
    SigV4Auth(Credentials(access_key, secret_key), SERVICE, region).add_auth(request)
    return dict(request.headers.items())


def server_headers(
    stack: Stack, method: str, path: str, body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """The headers a backend sends in the server access mode for ``method path`` (path and
    query, as sent) of the stack's gateway: the app's API key and a SigV4 signature."""
    wanted = {"x-api-key": stack.api_key, **(headers or {})}
    return sign(method, stack.gateway_url + path, wanted, body)
