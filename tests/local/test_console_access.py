"""The console's side of the local stack: the operators' user pool and the local operator, the
Cognito authoriser on the console's admin routes (operators' tokens only, no API key), and the
console's page served under ``/console/`` with its generated ``config.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import aws, cognito
from local.authorisers import CognitoAuthoriser
from local.console import ConsoleSite, config
from local.gateway import Gateway, Invocation

KEY, ADMIN = "app-key", "admin-key"
CONSOLE_ROUTE = "/v1/admin/models"


@pytest.fixture(scope="module")
def operators(local_aws: str) -> cognito.UserPool:
    return cognito.ensure_operator(local_aws)


@pytest.fixture(scope="module")
def gateway(local_aws: str, user_pool: cognito.UserPool, operators: cognito.UserPool) -> Gateway:
    return Gateway(KEY, ADMIN, user_pool=user_pool, operator_pool=operators)


def test_the_operators_pool_is_not_the_listeners_and_signs_in_with_passwords(
    local_aws, user_pool, operators
):
    assert operators.id != user_pool.id
    assert cognito.ensure_operator(local_aws) == operators  # found, not made again
    idp = aws.client("cognito-idp", local_aws)
    described = idp.describe_user_pool(UserPoolId=operators.id)["UserPool"]
    assert described["Name"] == cognito.OPERATOR_POOL_NAME
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    for pool in (operators, user_pool):  # as infra/operators.py and infra/access.py
        mfa = idp.get_user_pool_mfa_config(UserPoolId=pool.id)
        assert mfa["MfaConfiguration"] == "OPTIONAL"
        assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}  # TOTP, no SMS
    app = idp.describe_user_pool_client(UserPoolId=operators.id, ClientId=operators.client_id)
    app = app["UserPoolClient"]
    assert "ClientSecret" not in app
    assert "ALLOW_USER_PASSWORD_AUTH" in app["ExplicitAuthFlows"]  # the browser's sign-in
    # the console's own sign-in call, as the page makes it
    answer = idp.initiate_auth(
        ClientId=operators.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": cognito.OPERATOR_NAME,
            "PASSWORD": cognito.operator_password(operators),
        },
    )
    claims = CognitoAuthoriser(operators).verify(answer["AuthenticationResult"]["IdToken"])
    assert claims is not None
    assert claims["iss"] == operators.issuer


def test_an_operators_token_opens_a_console_route_without_an_api_key(gateway, local_aws):
    headers = {"Authorization": cognito.operator_token(local_aws)}
    invocation = gateway.admit("GET", CONSOLE_ROUTE, headers, None)
    assert isinstance(invocation, Invocation)
    assert invocation.function == "admin"
    claims = invocation.event["requestContext"]["authorizer"]["claims"]
    assert claims["token_use"] == "id"
    assert claims["cognito:username"] == cognito.OPERATOR_NAME


@pytest.mark.parametrize("credential", ["listener", "none", "admin-key", "forged"])
def test_a_console_route_refuses_anything_but_an_operators_token(gateway, local_aws, credential):
    operator = cognito.operator_token(local_aws)
    headers = {
        "listener": {"x-api-key": KEY, "Authorization": cognito.listener_token("l1", local_aws)},
        "none": {"x-api-key": KEY},
        "admin-key": {"x-admin-key": ADMIN},
        "forged": {"Authorization": operator[:-4] + ("AAAA" if operator[-4:] != "AAAA" else "BB")},
    }[credential]
    status, _, body = gateway.admit("GET", CONSOLE_ROUTE, headers, None)
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})


def test_an_operators_token_does_not_open_the_catalogue_route_or_app_routes(gateway, local_aws):
    token = {"Authorization": cognito.operator_token(local_aws)}
    status, _, _ = gateway.admit("PUT", "/v1/catalog/items/s1/availability", token, b"{}")
    assert status == 403  # IAM in AWS: the admin key locally
    status, _, _ = gateway.admit("GET", "/v1/users/u1/home", {**token, "x-api-key": KEY}, None)
    assert status == 401  # the listeners' authoriser: not one of its tokens


@pytest.fixture
def site(tmp_path: Path, operators: cognito.UserPool) -> ConsoleSite:
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "app.js").write_text("export {};")
    (tmp_path.parent / "secret.txt").write_text("not served")
    return ConsoleSite(config(operators), root=tmp_path)


def test_the_console_is_served_with_its_config_and_security_headers(site, operators):
    gateway = Gateway(KEY, ADMIN, console=site)
    status, headers, _ = gateway.handle("GET", "/console", {}, None)
    assert (status, headers["Location"]) == (301, "/console/")
    status, headers, body = gateway.handle("GET", "/console/", {}, None)
    assert (status, headers["Content-Type"]) == (200, "text/html")
    assert b"<title>console</title>" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert operators.endpoint in headers["Content-Security-Policy"]  # the sign-in calls
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = gateway.handle("GET", "/console/app.js", {}, None)
    assert (status, headers["Content-Type"]) == (200, "text/javascript")
    status, _, body = gateway.handle("GET", "/console/config.json", {}, None)
    assert json.loads(body) == {
        "region": "us-east-1",
        "stage": "local",
        "cognito": {
            "endpoint": operators.endpoint + "/",
            "userPoolId": operators.id,
            "clientId": operators.client_id,
        },
    }
    assert gateway.handle("HEAD", "/console/app.js", {}, None)[2] == b""


@pytest.mark.parametrize(
    "path", ["/console/missing.js", "/console/../secret.txt", "/console/%2e%2e/secret.txt"]
)
def test_nothing_outside_the_consoles_files_is_served(site, path):
    status, _, body = Gateway(KEY, ADMIN, console=site).handle("GET", path, {}, None)
    assert status == 404
    assert b"not served" not in body


def test_the_console_only_answers_reads(site):
    status, headers, _ = Gateway(KEY, ADMIN, console=site).handle("POST", "/console/", {}, b"x")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")


def test_without_a_site_console_paths_are_api_gateways_missing_token(local_aws):
    status, _, body = Gateway(KEY, ADMIN).handle("GET", "/console/", {}, None)
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
