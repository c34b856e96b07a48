"""API Gateway's authorisers in the local gateway: the Cognito user-pools authoriser of the
listener access mode (ID tokens of the local pool, signed by moto) and IAM (SigV4) of the server
mode, in front of the real handlers."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.utilities.utils import load_resource

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local import aws, cognito
from local.authorisers import (
    CognitoAuthoriser,
    Request,
    SigV4Authoriser,
    claim_date,
    event_claims,
    sign,
)
from local.gateway import Gateway, Invocation, serve

KEY, ADMIN = "k-123", "admin-456"
EVENTS = b'{"events": []}'  # refused by the events handler (400) before any AWS call
UNAUTHORIZED = {"message": "Unauthorized"}


@pytest.fixture
def gateway(user_pool) -> Gateway:
    return Gateway(KEY, ADMIN, user_pool=user_pool)


@pytest.fixture
def token(local_aws) -> str:
    return cognito.listener_token("listener-1", local_aws)


def moto_signed(user_pool, **changes) -> str:
    """An ID token signed with moto's own key (the pool's JWKS), with ``changes`` to its claims
    (None: the claim left out)."""
    now = int(time.time())
    claims = {
        "iss": user_pool.issuer, "sub": "s-1", "aud": user_pool.client_id, "token_use": "id",
        "iat": now, "auth_time": now, "exp": now + 3600, "cognito:username": "listener-1",
        DEFAULT_LISTENER_CLAIM: "listener-1",
    }  # fmt: skip
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)


def app_call(gateway, headers, method="GET", target="/v1/users/listener-1/artists", body=None):
    return gateway.admit(method, target, headers, body)


def test_a_valid_token_reaches_the_function_with_its_claims(gateway, token):
    invocation = app_call(gateway, {"x-api-key": KEY, "Authorization": token})
    assert isinstance(invocation, Invocation)
    context = invocation.event["requestContext"]
    claims = context["authorizer"]["claims"]
    assert claims[DEFAULT_LISTENER_CLAIM] == "listener-1"
    assert claims["token_use"] == "id"
    assert claims["cognito:username"] == "listener-1"
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"].endswith(" UTC " + time.strftime("%Y", time.gmtime(time.time() + 3600)))
    assert claims["auth_time"].isdigit()
    assert context["identity"]["apiKey"] == KEY
    assert context["identity"]["userArn"] is None  # IAM's fields are null here
    assert invocation.event["headers"]["Authorization"] == token  # passed on, as in AWS


def test_bearer_before_the_token_is_accepted_as_in_aws(gateway, token):
    invocation = app_call(gateway, {"x-api-key": KEY, "Authorization": f"Bearer {token}"})
    assert isinstance(invocation, Invocation)


def test_a_token_of_moto_s_key_with_every_claim_right_is_accepted(gateway, user_pool):
    invocation = app_call(gateway, {"x-api-key": KEY, "Authorization": moto_signed(user_pool)})
    assert isinstance(invocation, Invocation)


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 1},  # expired
        {"aud": "another-client"},  # wrong audience
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},  # another pool
        {"token_use": "access"},  # an access token (the authoriser has no scopes: ID tokens)
        {"exp": None},
        {"aud": None},
        {"token_use": None},
    ],
)
def test_a_token_with_a_wrong_claim_is_401(gateway, user_pool, changes):
    headers = {"x-api-key": KEY, "Authorization": moto_signed(user_pool, **changes)}
    status, out, body = app_call(gateway, headers)
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    assert out["x-amzn-ErrorType"] == "UnauthorizedException"


def test_a_token_signed_with_another_key_is_401(gateway, user_pool):
    forger = RSAKey.generate_key(2048, parameters={"kid": "dummy"})  # moto's key id
    now = int(time.time())
    claims = {"iss": user_pool.issuer, "aud": user_pool.client_id, "token_use": "id",
              "iat": now, "exp": now + 3600, DEFAULT_LISTENER_CLAIM: "listener-1"}  # fmt: skip
    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, forger)
    status, _, body = app_call(gateway, {"x-api-key": KEY, "Authorization": forged})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    "value", ["", "Bearer", "Bearer ", "not a token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."]
)
def test_a_missing_or_malformed_token_is_401(gateway, value):
    status, _, body = app_call(gateway, {"x-api-key": KEY, "Authorization": value})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)


def test_a_token_without_its_signature_is_401(gateway, token):
    header, claims, _ = token.split(".")
    status, _, body = app_call(gateway, {"x-api-key": KEY, "Authorization": f"{header}.{claims}."})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)


def test_access_tokens_of_the_pool_are_401(gateway, user_pool, local_aws):
    cognito.listener_token("listener-access", local_aws)  # the user and their password
    answer = aws.client("cognito-idp", local_aws).admin_initiate_auth(
        UserPoolId=user_pool.id, ClientId=user_pool.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "listener-access",
                        "PASSWORD": cognito.local_password(user_pool, "listener-access")},
    )  # fmt: skip
    access = answer["AuthenticationResult"]["AccessToken"]
    status, _, body = app_call(gateway, {"x-api-key": KEY, "Authorization": access})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)


def test_no_token_is_401_before_the_api_key_is_checked(gateway, token):
    status, _, body = app_call(gateway, {})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    status, _, body = app_call(gateway, {"x-api-key": KEY})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    for headers in ({"Authorization": token}, {"Authorization": token, "x-api-key": "wrong"}):
        status, out, body = app_call(gateway, headers)
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
        assert out["x-amzn-ErrorType"] == "ForbiddenException"


def test_every_app_route_needs_the_token_and_the_admin_route_only_its_key(gateway):
    app_routes = [("POST", "/v1/onboarding/recommendations"), ("GET", "/v1/items/s/similar"),
                  ("GET", "/v1/artists/a/similar"), ("POST", "/v1/events")]  # fmt: skip
    for method, target in app_routes:
        status, _, _ = gateway.admit(method, target, {"x-api-key": KEY}, b"{}")
        assert status == 401, target
    invocation = gateway.admit("PUT", "/v1/catalog/items/s/availability",
                               {"x-admin-key": ADMIN}, b"{}")  # fmt: skip
    assert isinstance(invocation, Invocation)
    assert "authorizer" not in invocation.event["requestContext"]


def test_without_a_user_pool_no_token_is_valid(token):
    gateway = Gateway(KEY, ADMIN)  # listener mode, no pool
    status, _, body = app_call(gateway, {"x-api-key": KEY, "Authorization": token})
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)


def test_a_checked_token_is_refused_once_it_expires(user_pool, token):
    now = [time.time()]
    authoriser = CognitoAuthoriser(user_pool, clock=lambda: now[0])
    assert authoriser.verify(token) is not None
    now[0] += 3601  # moto's ID tokens live an hour
    assert authoriser.verify(token) is None


def test_claims_reach_the_function_as_strings_as_api_gateway_passes_them():
    # the example of API Gateway's documentation: exp and iat as dates, the rest as text
    assert claim_date(1513492092) == "Sun Dec 17 06:28:12 UTC 2017"
    claims = event_claims({"iat": 1513492092, "exp": 1513495692, "auth_time": 1513492092,
                           "email_verified": True, "custom:listener_id": "u1"})  # fmt: skip
    assert claims == {"iat": "Sun Dec 17 06:28:12 UTC 2017", "exp": "Sun Dec 17 07:28:12 UTC 2017",
                      "auth_time": "1513492092", "email_verified": "true",
                      "custom:listener_id": "u1"}  # fmt: skip


def test_over_http_a_listener_s_call_reaches_the_handler(gateway, token):
    server = serve(gateway, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        headers = {"x-api-key": KEY, "Authorization": token, "Content-Type": "application/json"}
        connection.request("POST", "/v1/events", EVENTS, headers)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["field"]) == (400, "events")
        connection.request("POST", "/v1/events", EVENTS, {"x-api-key": KEY})
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (401, UNAUTHORIZED)
        assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    finally:
        server.shutdown()
        server.server_close()


# server: IAM (SigV4) ------------------------------------------------------------------------------

HOST = "127.0.0.1:3000"


def signed_request(method, target, body=None, headers=None, **signing):
    """The request a botocore-signed client sends to the gateway at ``HOST``."""
    sent = sign(method, f"http://{HOST}{target}", {"x-api-key": KEY, **(headers or {})}, body,
                **signing)  # fmt: skip
    return [("Host", HOST), *sent.items()]


@pytest.fixture
def server_gateway() -> Gateway:
    return Gateway(KEY, ADMIN, access_mode="server")


def test_a_signed_request_reaches_the_function_with_the_caller(server_gateway):
    headers = signed_request("GET", "/v1/users/u1/artists?limit=5&kind=x")
    invocation = server_gateway.admit("GET", "/v1/users/u1/artists?limit=5&kind=x", headers, None)
    assert isinstance(invocation, Invocation)
    identity = invocation.event["requestContext"]["identity"]
    assert identity["accessKey"] == aws.CREDENTIALS["aws_access_key_id"]
    assert identity["accountId"] == "000000000000"
    assert identity["userArn"] == "arn:aws:iam::000000000000:root"
    assert identity["caller"] == "000000000000"
    assert identity["apiKey"] == KEY
    assert "authorizer" not in invocation.event["requestContext"]


def test_a_signed_request_with_a_body_passes_and_a_changed_body_does_not(server_gateway):
    headers = signed_request("POST", "/v1/events", EVENTS, {"Content-Type": "application/json"})
    assert isinstance(server_gateway.admit("POST", "/v1/events", headers, EVENTS), Invocation)
    status, out, body = server_gateway.admit("POST", "/v1/events", headers, b'{"events": [1]}')
    assert status == 403
    assert json.loads(body)["message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    assert out["x-amzn-ErrorType"] == "InvalidSignatureException"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: [(k, v) for k, v in h if k != "X-Amz-Date"] + [("X-Amz-Date", h_date(h, 1))],
        lambda h: [
            (k, v.replace("Signature=", "Signature=0")[:-1] if k == "Authorization" else v)
            for k, v in h
        ],
        lambda h: [(k, "other" if k == "x-api-key" else v) for k, v in h],
        lambda h: [(k, "127.0.0.1:3001" if k == "Host" else v) for k, v in h],
    ],
    ids=["date", "signature", "signed header", "host"],
)
def test_a_tampered_request_is_refused(server_gateway, tamper):
    headers = tamper(signed_request("GET", "/v1/items/s1/similar"))
    status, _, body = server_gateway.admit("GET", "/v1/items/s1/similar", headers, None)
    assert status == 403
    assert json.loads(body)["message"].startswith("The request signature we calculated")


def h_date(headers, seconds):
    """The request's X-Amz-Date moved by ``seconds``."""
    import datetime

    value = dict(headers)["X-Amz-Date"]
    moment = datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ")
    return (moment + datetime.timedelta(seconds=seconds)).strftime("%Y%m%dT%H%M%SZ")


def test_a_changed_path_or_query_is_refused(server_gateway):
    headers = signed_request("GET", "/v1/users/u1/artists?limit=5")
    for target in ("/v1/users/u2/artists?limit=5", "/v1/users/u1/artists?limit=6"):
        status, _, body = server_gateway.admit("GET", target, headers, None)
        assert status == 403, target
        assert (
            "The Canonical String for this request should have been" in json.loads(body)["message"]
        )


def test_no_signature_is_missing_authentication_token(server_gateway):
    status, out, body = server_gateway.admit(
        "GET", "/v1/items/s1/similar", {"x-api-key": KEY}, None
    )
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert out["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a_listener_token_is_not_a_signature(server_gateway, token):
    headers = {"x-api-key": KEY, "Authorization": token}
    status, out, body = server_gateway.admit("GET", "/v1/items/s1/similar", headers, None)
    message = json.loads(body)["message"]
    assert status == 403
    assert message.startswith("Authorization header requires 'Credential' parameter.")
    assert "requires existence of either a 'X-Amz-Date' or a 'Date' header" in message
    assert out["x-amzn-ErrorType"] == "IncompleteSignatureException"


def test_an_unknown_access_key_is_refused(server_gateway):
    headers = signed_request("GET", "/v1/items/s1/similar", access_key="AKIAOTHER")
    status, _, body = server_gateway.admit("GET", "/v1/items/s1/similar", headers, None)
    assert (status, json.loads(body)) == (
        403, {"message": "The security token included in the request is invalid."}
    )  # fmt: skip


def test_a_wrong_secret_region_or_service_is_refused(server_gateway):
    target = "/v1/items/s1/similar"
    wrong_secret = signed_request("GET", target, secret_key="not-the-secret")
    assert server_gateway.admit("GET", target, wrong_secret, None)[0] == 403
    wrong_region = signed_request("GET", target, region="eu-west-1")
    _, _, body = server_gateway.admit("GET", target, wrong_region, None)
    assert json.loads(body)["message"].startswith("Credential should be scoped to a valid region")


def test_a_signature_older_or_newer_than_five_minutes_is_refused():
    headers = signed_request("GET", "/v1/items/s1/similar")
    request = Request("GET", "/v1/items/s1/similar", headers)
    for offset, words in ((301, "Signature expired:"), (-301, "Signature not yet current:")):
        later = SigV4Authoriser(clock=lambda offset=offset: time.time() + offset)
        refusal = later.authorise(request)
        assert refusal.status == 403
        assert refusal.message.startswith(words)
    assert SigV4Authoriser(clock=lambda: time.time() + 250).authorise(request).identity


def test_a_signed_request_without_the_api_key_is_forbidden(server_gateway):
    sent = sign("GET", f"http://{HOST}/v1/items/s1/similar")
    headers = [("Host", HOST), *sent.items()]
    status, _, body = server_gateway.admit("GET", "/v1/items/s1/similar", headers, None)
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


def test_over_http_a_botocore_signed_call_reaches_the_handler(server_gateway):
    server = serve(server_gateway, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        url = f"http://127.0.0.1:{port}/v1/events"
        headers = sign("POST", url, {"x-api-key": KEY, "Content-Type": "application/json"}, EVENTS)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/v1/events", EVENTS, headers)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["field"]) == (400, "events")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl here")
def test_over_http_curl_s_own_sigv4_passes(server_gateway):
    """Another SigV4 implementation than botocore's (what `make local` prints in server mode)."""
    server = serve(server_gateway, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/events"
        command = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", url,
                   "-H", f"x-api-key: {KEY}", "-H", "Content-Type: application/json",
                   "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "test:test",
                   "-d", EVENTS.decode()]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if "--aws-sigv4" in done.stderr or done.returncode == 2:
            pytest.skip(f"this curl has no --aws-sigv4: {done.stderr.strip()}")
        body, _, status = done.stdout.rpartition("\n")
        assert (status, json.loads(body)["field"]) == ("400", "events"), done.stdout
    finally:
        server.shutdown()
        server.server_close()
