"""The listeners' user pool on local AWS (moto) and listeners' ID tokens, as `make local`,
`python -m local.token` and the tests' helpers get them."""

from __future__ import annotations

import base64
import json

import pytest

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local import aws, cognito
from local.authorisers import CognitoAuthoriser
from local.ports import free_port
from local.stack import Stack


def payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_pool_is_made_once_as_infra_makes_it_and_found_by_name(local_aws, user_pool):
    assert cognito.ensure_pool(local_aws) == user_pool  # found, not made again
    cognito.forget(local_aws)
    assert cognito.find_pool(local_aws) == user_pool
    idp = aws.client("cognito-idp", local_aws)
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Id"] for p in pools if p["Name"] == cognito.POOL_NAME] == [user_pool.id]
    described = idp.describe_user_pool(UserPoolId=user_pool.id)["UserPool"]
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    attribute = next(
        a for a in described["SchemaAttributes"] if a["Name"] == DEFAULT_LISTENER_CLAIM
    )
    assert attribute["Mutable"] is False
    app = idp.describe_user_pool_client(UserPoolId=user_pool.id, ClientId=user_pool.client_id)
    app = app["UserPoolClient"]
    assert app["ClientName"] == cognito.CLIENT_NAME
    assert "ClientSecret" not in app
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in app["ExplicitAuthFlows"]
    assert app["ReadAttributes"] == [DEFAULT_LISTENER_CLAIM]
    assert app["WriteAttributes"] == []
    assert user_pool.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{user_pool.id}"


def test_a_listener_is_created_on_first_use_and_their_token_names_them(local_aws, user_pool):
    token = cognito.listener_token("first-use@x", local_aws)
    claims = CognitoAuthoriser(user_pool).verify(token)
    assert claims is not None
    assert claims[DEFAULT_LISTENER_CLAIM] == "first-use@x"
    assert claims["token_use"] == "id"
    assert claims["aud"] == user_pool.client_id
    user = aws.client("cognito-idp", local_aws).admin_get_user(
        UserPoolId=user_pool.id, Username="first-use@x"
    )
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes[DEFAULT_LISTENER_CLAIM] == "first-use@x"
    assert user["UserStatus"] == "CONFIRMED"  # a permanent password: no challenge


def test_tokens_are_cached_until_shortly_before_they_expire(local_aws, user_pool):
    first = cognito.listener_token("cached", local_aws)
    assert cognito.listener_token("cached", local_aws) == first
    claims = payload(first)
    assert claims["exp"] - claims["iat"] > cognito.REFRESH_MARGIN_S
    cognito.forget(local_aws)  # as another process: signs in again, the user exists already
    second = cognito.listener_token("cached", local_aws)
    assert second != first
    assert payload(second)[DEFAULT_LISTENER_CLAIM] == "cached"


def test_a_listener_whose_password_changed_still_gets_a_token(local_aws, user_pool):
    cognito.listener_token("reset", local_aws)
    aws.client("cognito-idp", local_aws).admin_set_user_password(
        UserPoolId=user_pool.id, Username="reset", Password="Another-pass-1!", Permanent=True
    )
    cognito.forget(local_aws)
    assert payload(cognito.listener_token("reset", local_aws))[DEFAULT_LISTENER_CLAIM] == "reset"


def test_listener_headers_carry_the_api_key_and_the_token(local_aws, user_pool):
    port = int(local_aws.rsplit(":", 1)[1])
    headers = cognito.listener_headers(Stack(api_key="k-1", aws_port=port), "headers-1")
    assert headers["x-api-key"] == "k-1"
    assert payload(headers["Authorization"])[DEFAULT_LISTENER_CLAIM] == "headers-1"


def test_no_pool_or_no_local_aws_is_a_clear_error(tmp_path):
    nothing = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(cognito.CognitoError, match=f"local AWS at {nothing}"):
        cognito.listener_token("u1", nothing)
    port = free_port()
    child, _ = aws.start(tmp_path / "aws.log", port)
    assert child is not None
    try:
        with pytest.raises(cognito.CognitoError, match="no user pool 'musicrec-local-listeners'"):
            cognito.find_pool(f"http://127.0.0.1:{port}")
    finally:
        child.stop()
