"""The OpenAPI document describes the errors the API answers, so the fuzzer can check them."""

from __future__ import annotations

import json

from lambdas.ops.openapi import document
from lambdas.routes import ROUTES


def test_every_operation_documents_our_errors_and_its_key_not_powertools_422():
    spec = json.loads(document())
    for route in ROUTES:
        operation = spec["paths"][route.path][route.method.lower()]
        responses = operation["responses"]
        assert "422" not in responses, route
        assert {"200", "400", "403", "503"} <= responses.keys(), route
        error = responses["400"]["content"]["application/json"]["schema"]["$ref"]
        assert error == "#/components/schemas/Error", route
        if route.admin and route.operator_auth == "token":  # the console's: operators' tokens
            assert operation["security"] == [{"operatorToken": []}], route
            assert "401" in responses, route
        elif route.admin:
            assert operation["security"] == [{"adminKey": []}], route
            assert "429" in responses, route
        else:  # the app's key and the listener's token, both
            assert operation["security"] == [{"apiKey": [], "listenerToken": []}], route
            assert {"401", "429"} <= responses.keys(), route
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"]["name"] == "x-api-key"
    assert schemes["listenerToken"]["name"] == "Authorization"
    assert schemes["adminKey"]["name"] == "x-admin-key"
    assert schemes["operatorToken"]["name"] == "Authorization"
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_the_events_cross_field_rules_are_in_the_document():
    event = json.loads(document())["components"]["schemas"]["Event"]
    rules = {
        tuple(r["if"]["properties"]["type"]["enum"]): r["then"]["required"] for r in event["allOf"]
    }
    assert rules == {
        ("play", "skip", "like"): ["item_id"],
        ("follow",): ["artist_id"],
        ("impression", "click"): ["recommendation_id"],
    }
