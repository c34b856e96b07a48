"""The local gateway: API Gateway's event shape and its own errors, in front of real handlers."""

from __future__ import annotations

import http.client
import json
import threading

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from lambdas.routes import ROUTES
from local.gateway import Gateway, match, proxy_event, serve

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


def test_repeated_headers_keep_every_value():
    route, params = match("GET", "/v1/items/s1/similar")
    event = proxy_event(route, "GET", "/v1/items/s1/similar", "", {"Accept": "b"}, None,
                        params=params, multi_value_headers={"Accept": ["a", "b"]})  # fmt: skip
    parsed = APIGatewayProxyEvent(event)
    assert parsed.multi_value_headers["Accept"] == ["a", "b"]
    assert parsed.headers["Accept"] == "b"


@pytest.fixture
def server(gateway):
    http = serve(gateway, port=0)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield http.server_address[1]
    http.shutdown()
    http.server_close()


def _request(connection, method, path, body=None, headers=None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_over_http_gateway_errors_say_what_api_gateway_says(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    status, headers, body = _request(
        connection, "OPTIONS", "/v1/events", headers={"x-api-key": KEY}
    )
    assert (status, json.loads(body)) == (403, {"message": NO_TOKEN})
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    status, headers, body = _request(connection, "GET", "/v1/users/u1/artists")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    assert headers["x-amzn-ErrorType"] == "ForbiddenException"
    status, _, body = _request(
        connection, "HEAD", "/v1/users/u1/artists", headers={"x-api-key": KEY}
    )
    assert (status, body) == (403, b"")


def test_over_http_a_body_over_10_mb_is_413_and_the_connection_stays_usable(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    headers = {"x-api-key": KEY, "Content-Type": "application/json"}
    big = b"x" * (10 * 1024 * 1024 + 5)
    status, _, body = _request(connection, "POST", "/v1/events", big, headers)
    assert (status, json.loads(body)) == (413, {"message": "Request Too Long"})
    status, _, body = _request(connection, "POST", "/v1/events", b'{"events": []}', headers)
    assert status == 400
    assert json.loads(body)["field"] == "events"


def test_over_http_a_chunked_body_reaches_the_handler(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    headers = {"x-api-key": KEY, "Content-Type": "application/json"}
    chunks = iter([b'{"events"', b": []}"])
    connection.request("POST", "/v1/events", body=chunks, headers=headers, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["field"] == "events"


def test_the_access_log_has_one_line_per_call(gateway, capsys):
    http_server = serve(gateway, port=0, access_log=True)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", http_server.server_address[1])
        assert _request(connection, "GET", "/v1/nothing?x=1")[0] == 403
    finally:
        http_server.shutdown()
        http_server.server_close()
    assert capsys.readouterr().out.startswith("GET /v1/nothing?x=1 403 ")


def test_concurrent_calls_of_one_function_do_not_mix_their_requests(gateway):
    """Lambda runs one invocation at a time per container; Powertools' resolver keeps the
    current request on the app, so calls of one function from the server's threads must not
    overlap (they did: 502s, KeyError '_route')."""
    headers = {"x-api-key": KEY, "Content-Type": "application/json"}
    statuses: list[int] = []

    def calls() -> None:
        for _ in range(40):
            statuses.append(gateway.handle("POST", "/v1/events", headers, b'{"events": []}')[0])

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [400] * 320
