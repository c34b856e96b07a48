"""The local gateway: API Gateway's event shape and its own errors, in front of real handlers
(in the default, listener, access mode: app calls carry a listener's ID token of the local user
pool; the authorisers themselves: test_authorisers.py)."""

from __future__ import annotations

import http.client
import json
import threading

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from lambdas.routes import ROUTES
from local import cognito
from local.gateway import (
    Gateway,
    GatewayApp,
    GatewayServer,
    Invocation,
    match,
    proxy_event,
    request_headers,
    serve,
)

KEY, ADMIN = "k-123", "admin-456"
NO_TOKEN = "Missing Authentication Token"
UNAUTHORIZED = {"message": "Unauthorized"}


@pytest.fixture
def gateway(user_pool) -> Gateway:
    return Gateway(KEY, ADMIN, user_pool=user_pool)


@pytest.fixture(scope="module")
def token(local_aws, user_pool) -> str:
    """An ID token of listener u1 (the Authorization header of an app's call)."""
    return cognito.listener_token("u1", local_aws)


@pytest.fixture
def app(token) -> dict[str, str]:
    """What an app sends on every call: the API key and the listener's token."""
    return {"x-api-key": KEY, "Authorization": token}


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
        ("GET", "/v1/users/u1/recommendations", {"token": True}, "Forbidden"),
        ("GET", "/v1/users/u1/recommendations", {"x-api-key": "wrong", "token": True}, "Forbidden"),
        (
            "PUT",
            "/v1/catalog/items/i1/availability",
            {"x-api-key": KEY, "token": True},
            "Forbidden",
        ),
    ],
)
def test_gateway_errors(gateway, token, method, path, headers, message):
    headers = {k: v for k, v in headers.items() if k != "token"}
    headers["Authorization"] = token  # a listener's valid token: the key is what is wrong
    status, _, body = gateway.handle(method, path, headers, None)
    assert status == 403
    assert json.loads(body) == {"message": message}


def test_an_app_call_without_a_token_is_401(gateway):
    status, out, body = gateway.handle(
        "GET", "/v1/users/u1/recommendations", {"x-api-key": KEY}, None
    )
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    assert out["x-amzn-ErrorType"] == "UnauthorizedException"


def test_requests_reach_the_handler_and_its_answer_comes_back(gateway, app):
    headers = {**app, "Content-Type": "application/json"}
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
    """Status, headers (names case-insensitive, as in HTTP) and body of one request."""
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.headers, response.read()


def test_over_http_gateway_errors_say_what_api_gateway_says(server, token):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    status, headers, body = _request(
        connection, "OPTIONS", "/v1/events", headers={"x-api-key": KEY}
    )
    assert (status, json.loads(body)) == (403, {"message": NO_TOKEN})
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    status, headers, body = _request(connection, "GET", "/v1/users/u1/artists")
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"
    status, headers, body = _request(
        connection, "GET", "/v1/users/u1/artists", headers={"Authorization": token}
    )
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    assert headers["x-amzn-ErrorType"] == "ForbiddenException"
    status, _, body = _request(
        connection, "HEAD", "/v1/users/u1/artists", headers={"x-api-key": KEY}
    )
    assert (status, body) == (403, b"")


def test_over_http_a_body_over_10_mb_is_413_and_the_connection_stays_usable(server, app):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    headers = {**app, "Content-Type": "application/json"}
    big = b"x" * (10 * 1024 * 1024 + 5)
    status, _, body = _request(connection, "POST", "/v1/events", big, headers)
    assert (status, json.loads(body)) == (413, {"message": "Request Too Long"})
    status, _, body = _request(connection, "POST", "/v1/events", b'{"events": []}', headers)
    assert status == 400
    assert json.loads(body)["field"] == "events"


def test_over_http_a_chunked_body_reaches_the_handler(server, app):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    headers = {**app, "Content-Type": "application/json"}
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


def test_concurrent_calls_of_one_function_do_not_mix_their_requests(gateway, app):
    """Lambda runs one invocation at a time per container; Powertools' resolver keeps the
    current request on the app, so calls of one function from the server's threads must not
    overlap (they did: 502s, KeyError '_route')."""
    headers = {**app, "Content-Type": "application/json"}
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


def test_a_body_that_is_not_utf8_reaches_the_handler_base64_encoded():
    route, params = match("POST", "/v1/events")
    event = proxy_event(route, "POST", "/v1/events", "", {}, b"\xff\xfe", params=params)
    assert (event["body"], event["isBase64Encoded"]) == ("//4=", True)
    event = proxy_event(route, "POST", "/v1/events", "", {}, "é".encode(), params=params)
    assert (event["body"], event["isBase64Encoded"]) == ("é", False)


def test_the_event_keeps_the_headers_as_sent_and_every_value_of_a_repeated_one(gateway, token):
    headers = [("X-Api-Key", KEY), ("Accept", "a"), ("Accept", "b"), ("user-agent", "t/1"),
               ("authorization", token)]  # fmt: skip
    invocation = gateway.admit("GET", "/v1/items/s1/similar?limit=3&limit=4", headers, None)
    event = invocation.event
    assert event["headers"] == {
        "X-Api-Key": KEY, "Accept": "b", "user-agent": "t/1", "authorization": token
    }  # fmt: skip
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["multiValueQueryStringParameters"] == {"limit": ["3", "4"]}
    identity = event["requestContext"]["identity"]
    assert {k: v for k, v in identity.items() if v is not None} == {
        "sourceIp": "127.0.0.1", "apiKey": KEY, "userAgent": "t/1"
    }  # fmt: skip
    assert {"caller", "userArn", "accessKey", "accountId", "cognitoIdentityId"} <= set(identity)


@pytest.mark.parametrize("method", ["PATCH", "TRACE", "PROPFIND"])
def test_over_http_a_method_not_in_the_api_is_403_json(server, method):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    status, headers, body = _request(connection, method, "/v1/events", headers={"x-api-key": KEY})
    assert (status, json.loads(body)) == (403, {"message": NO_TOKEN})
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v1/users/u1/recommendations", {}),
        ("GET", "/v1/users/u1/recommendations", {"x-api-key": "wrong"}),
        ("PUT", "/v1/catalog/items/i1/availability", {"x-api-key": KEY}),
        ("PUT", "/v1/catalog/items/i1/availability", {"x-admin-key": "wrong"}),
    ],
)
def test_over_http_a_missing_or_wrong_key_is_403_forbidden(server, token, method, path, headers):
    headers = {**headers, "Authorization": token}  # a valid token: only the key is wrong
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    status, out_headers, body = _request(connection, method, path, b"{}", headers)
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    assert out_headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_over_http_a_chunked_body_over_10_mb_is_413_and_the_connection_stays_usable(server, app):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    headers = {**app, "Content-Type": "application/json"}
    chunks = iter([b"x" * (1024 * 1024)] * 11)
    connection.request("POST", "/v1/events", body=chunks, headers=headers, encode_chunked=True)
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (413, {"message": "Request Too Long"})
    status, _, body = _request(connection, "POST", "/v1/events", b'{"events": []}', headers)
    assert (status, json.loads(body)["field"]) == (400, "events")


def test_over_http_a_request_target_over_64_kib_is_414_json(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    headers = {"x-api-key": KEY}
    long_query = "/v1/users/u1/artists?q=" + "x" * (64 * 1024)
    status, _, body = _request(connection, "GET", long_query, headers=headers)
    assert (status, json.loads(body)) == (414, {"message": "Request-URI Too Long"})
    just_under = "/v1/nothing?q=" + "x" * (63 * 1024)
    status, _, body = _request(connection, "GET", just_under, headers=headers)
    assert (status, json.loads(body)) == (403, {"message": NO_TOKEN})


def test_over_http_many_requests_on_one_keep_alive_connection_all_answer(server, app):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    headers = {**app, "Content-Type": "application/json"}
    _request(connection, "GET", "/v1/nothing")
    sock = connection.sock
    for _ in range(100):
        status, _, body = _request(connection, "POST", "/v1/events", b'{"events": []}', headers)
        assert (status, json.loads(body)["field"]) == (400, "events")
        status, _, body = _request(connection, "GET", "/v1/nothing", headers=headers)
        assert (status, json.loads(body)) == (403, {"message": NO_TOKEN})
        assert connection.sock is sock  # the same connection: the server never closed it


def test_over_http_concurrent_connections_to_one_function_all_answer(server, app):
    """Eight connections at once to one function: its invocations queue, none is lost or mixed."""
    headers = {**app, "Content-Type": "application/json"}
    statuses = []

    def calls():
        connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        for _ in range(20):
            status, _, _ = _request(connection, "POST", "/v1/events", b'{"events": []}', headers)
            statuses.append(status)

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [400] * 160


def test_a_port_in_use_is_refused_when_serving_starts(gateway):
    first = serve(gateway, port=0)
    try:
        with pytest.raises(OSError, match="in use"):
            serve(gateway, port=first.server_address[1])
    finally:
        first.server_close()


def test_shutdown_returns_while_a_client_keeps_its_connection_open(gateway):
    http_server = serve(gateway, port=0)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", http_server.server_address[1])
    assert _request(connection, "GET", "/v1/nothing")[0] == 403
    http_server.shutdown()
    http_server.server_close()
    assert not thread.is_alive()


class RecordingApp(GatewayApp):
    """The gateway's app, noting the headers of each request as the gateway reads them."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.seen: list[list[tuple[str, str]]] = []

    async def __call__(self, scope, receive, send) -> None:
        self.seen.append(request_headers(scope))
        await super().__call__(scope, receive, send)


def test_over_http_header_names_reach_the_gateway_as_the_client_sent_them(gateway):
    app = RecordingApp(gateway)
    http_server = GatewayServer(app, "127.0.0.1", 0)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", http_server.server_address[1])
        connection.putrequest("GET", "/v1/nothing", skip_host=True, skip_accept_encoding=True)
        for name, value in [("Host", "h"), ("X-Api-Key", KEY), ("accept", "a"), ("Accept", "b")]:
            connection.putheader(name, value)
        connection.endheaders()
        assert connection.getresponse().status == 403
    finally:
        http_server.shutdown()
        http_server.server_close()
    assert app.seen == [[("Host", "h"), ("X-Api-Key", KEY), ("accept", "a"), ("Accept", "b")]]


def test_path_parameters_reach_the_function_percent_decoded_as_api_gateway_passes_them(local_aws):
    gateway = Gateway(KEY, ADMIN, user_pool=cognito.find_pool(local_aws))
    headers = {"x-api-key": KEY, "Authorization": cognito.listener_token("a@b", local_aws)}
    invocation = gateway.admit("GET", "/v1/users/a%40b/recommendations?q=x%40y", headers, None)
    assert isinstance(invocation, Invocation)
    event = invocation.event
    assert event["pathParameters"] == {"userId": "a@b"}
    assert event["path"] == "/v1/users/a%40b/recommendations"  # as sent (REST APIs keep it)
    assert event["requestContext"]["path"] == "/local/v1/users/a%40b/recommendations"
    assert event["queryStringParameters"] == {"q": "x@y"}
    assert event["requestContext"]["authorizer"]["claims"]["custom:listener_id"] == "a@b"
    assert match("GET", "/v1/items/s%2F1%20x/similar")[1] == {"itemId": "s/1 x"}


def test_over_http_a_100_000_character_path_is_414_json(server, app):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    path = "/v1/users/" + "u" * (100_000 - len("/v1/users/"))
    assert len(path) == 100_000
    status, headers, body = _request(connection, "GET", path, headers=app)
    assert (status, json.loads(body)) == (414, {"message": "Request-URI Too Long"})
    assert headers["Content-Type"] == "application/json"


def test_the_access_mode_is_checked_and_listener_is_the_default():
    assert Gateway(KEY, ADMIN).access_mode == "listener"
    assert Gateway(KEY, ADMIN, access_mode="server").authoriser.mode == "server"
    with pytest.raises(ValueError, match="access mode 'open'"):
        Gateway(KEY, ADMIN, access_mode="open")
