"""The headers local tools send as an app or a backend (``local.smoke.app_headers``, which
``make smoke`` and the tests' helpers use) pass the gateway's authoriser of each access mode,
acting for the listener the request names."""

from __future__ import annotations

import json

import pytest

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local.gateway import Gateway, Invocation
from local.smoke import ANYONE, acting_for, app_headers
from local.stack import Stack


@pytest.mark.parametrize(
    ("method", "path", "body", "listener"),
    [
        ("GET", "/v1/users/u7/recommendations?limit=3", None, "u7"),
        ("GET", "/v1/users/a%40b/artists", None, "a@b"),
        ("GET", "/v1/items/s1/similar?user_id=u8", None, "u8"),
        ("POST", "/v1/onboarding/recommendations", {"user_id": "u9"}, "u9"),
        ("POST", "/v1/events", {"events": [{"user_id": "u10"}]}, "u10"),
        ("GET", "/v1/artists/a1/similar", None, ANYONE),
    ],
)
def test_the_listener_a_request_acts_for(method, path, body, listener):
    assert acting_for(method, path, body) == listener


def test_in_listener_mode_the_token_of_the_listener_named_passes(local_aws, user_pool):
    stack = Stack(api_key="k", aws_port=int(local_aws.rsplit(":", 1)[1]))
    gateway = Gateway("k", "a", user_pool=user_pool)
    body = json.dumps({"events": [{"user_id": "u10"}]}).encode()
    headers = app_headers(stack, "POST", "/v1/events", body)
    invocation = gateway.admit("POST", "/v1/events", headers, body)
    assert isinstance(invocation, Invocation)
    claims = invocation.event["requestContext"]["authorizer"]["claims"]
    assert claims[DEFAULT_LISTENER_CLAIM] == "u10"
    assert app_headers(stack, "GET", "/v1/items/s/similar", listener=None) == {"x-api-key": "k"}


def test_in_server_mode_the_request_is_signed_as_sent():
    stack = Stack(api_key="k", access_mode="server", gateway_port=3999)
    gateway = Gateway("k", "a", access_mode="server")
    path, body = "/v1/users/u7/recommendations?limit=3&kind=songs", None
    headers = {**app_headers(stack, "GET", path, body), "Host": "127.0.0.1:3999"}
    invocation = gateway.admit("GET", path, headers, body)
    assert isinstance(invocation, Invocation)
    assert invocation.event["requestContext"]["identity"]["accessKey"] == "test"
    wrong_key = {**app_headers(stack, "GET", path, headers={"x-api-key": "no"}),
                 "Host": "127.0.0.1:3999"}  # fmt: skip
    status, _, answer = gateway.admit("GET", path, wrong_key, None)
    assert (status, json.loads(answer)) == (403, {"message": "Forbidden"})
