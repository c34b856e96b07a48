"""The local gateway: API Gateway's event shape and its own errors, in front of real handlers."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from lambdas.routes import ROUTES
from local.gateway import Gateway, match, proxy_event

KEY, ADMIN = "k-123", "admin-456"
NO_TOKEN = "Missing Authentication Token"


@pytest.fixture
def gateway() -> Gateway:
    return Gateway(KEY, ADMIN)


def test_every_route_matches_and_unknown_paths_do_not():
    for route in ROUTES:
        path = route.path.replace("{userId}", "u1").replace("{itemId}", "i1")
        path = path.replace("{artistId}", "a1")
        found = match(route.method, path)
        assert found is not None
        assert found[0] == route
    assert match("GET", "/v1/users/u1") is None
    assert match("DELETE", "/v1/events") is None


def test_event_has_api_gateways_shape():
    route, params = match("GET", "/v1/users/u7/recommendations")
    event = proxy_event(route, "GET", "/v1/users/u7/recommendations", "kind=songs&limit=3&limit=4",
                        {"x-api-key": KEY}, None, params=params, api_key=KEY)  # fmt: skip
    parsed = APIGatewayProxyEvent(event)
    assert parsed.path_parameters == {"userId": "u7"}
    assert parsed.resource == "/v1/users/{userId}/recommendations"
    assert parsed.query_string_parameters == {"kind": "songs", "limit": "4"}
    assert parsed.multi_value_query_string_parameters["limit"] == ["3", "4"]
    assert parsed.request_context.stage == "local"
    assert parsed.request_context.identity.api_key == KEY
    assert parsed.request_context.request_id


@pytest.mark.parametrize(
    ("method", "path", "headers", "message"),
    [
        ("GET", "/v1/nothing", {"x-api-key": KEY}, "Missing Authentication Token"),
        (
            "POST",
            "/v1/users/u1/recommendations",
            {"x-api-key": KEY},
            "Missing Authentication Token",
        ),
        ("GET", "/v1/users/u1/recommendations", {}, "Forbidden"),
        ("GET", "/v1/users/u1/recommendations", {"x-api-key": "wrong"}, "Forbidden"),
        ("PUT", "/v1/catalog/items/i1/availability", {"x-api-key": KEY}, "Forbidden"),
    ],
)
def test_gateway_errors(gateway, method, path, headers, message):
    status, _, body = gateway.handle(method, path, headers, None)
    assert status == 403
    assert json.loads(body) == {"message": message}


def test_requests_reach_the_handler_and_its_answer_comes_back(gateway):
    headers = {"x-api-key": KEY, "Content-Type": "application/json"}
    status, out_headers, body = gateway.handle("POST", "/v1/events", headers, b'{"events": []}')
    assert status == 400
    assert json.loads(body)["field"] == "events"
    assert out_headers["Content-Type"] == "application/json"
    status, _, body = gateway.handle("POST", "/v1/events", headers, b"x" * (10 * 1024 * 1024 + 1))
    assert status == 413
