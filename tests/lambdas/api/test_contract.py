"""The OpenAPI document and the route table agree with the code."""

from __future__ import annotations

import json

from lambdas.api.resolver import resolver_for
from lambdas.logic.services import services
from lambdas.ops.openapi import ROUTERS, all_routers, document
from lambdas.routes import ROUTES, routes_of
from tests.conftest import REPO_ROOT
from tests.lambdas.events import FakeContext, api_event


def test_docs_openapi_json_is_generated_from_the_code():
    committed = (REPO_ROOT / "docs/openapi.json").read_text()
    assert json.loads(committed) == json.loads(document()), (
        "docs/openapi.json is stale: run `python -m lambdas.ops.openapi > docs/openapi.json`"
    )


def test_every_route_of_the_table_is_in_the_document_and_served_by_its_function(tables):
    paths = json.loads(document())["paths"]
    for route in ROUTES:
        assert route.method.lower() in paths[route.path], route
    services.cache_clear()
    for function, routers in ROUTERS.items():
        app = resolver_for(*routers)
        for route in routes_of(function):
            path = route.path.replace("{userId}", "u1").replace("{itemId}", "i1")
            path = path.replace("{artistId}", "a1")
            response = app.resolve(api_event(route.method, path, raw_body="{"), FakeContext())
            assert json.loads(response["body"]).get("message") != "no such route", route
    services.cache_clear()


def test_unknown_route_is_a_json_404():
    response = resolver_for(*all_routers()).resolve(api_event("GET", "/v1/nothing"), FakeContext())
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["code"] == "not_found"
