"""The client follows docs/openapi.json: its generated module is what the generator makes of the
document now (so any change to the document fails here until ``python
clients/python/generate.py`` is run), every route has a client method taking exactly the
route's parameters, and the package's version is the API's."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import re
import sys
from types import ModuleType

import musicrec_client
import pytest
from musicrec_client import MusicRec, _openapi
from musicrec_client.routes import BOUND, BY_ROUTE, operation, route

from tests.conftest import REPO_ROOT

CLIENT_DIR = REPO_ROOT / "clients" / "python"
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("musicrec_generate", CLIENT_DIR / "generate.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_generated_module_is_what_the_document_gives_now():
    generated = (CLIENT_DIR / "musicrec_client" / "_openapi.py").read_text(encoding="utf-8")
    assert generator().generate(DOCUMENT) == generated, (
        "docs/openapi.json changed: run `python clients/python/generate.py`, then update the "
        "client's methods and models to match"
    )


def test_the_generated_module_names_the_documents_hash_and_version():
    document = DOCUMENT.read_text(encoding="utf-8")
    assert hashlib.sha256(document.encode()).hexdigest() == _openapi.OPENAPI_SHA256
    assert json.loads(document)["info"]["version"] == _openapi.API_VERSION


def test_the_package_version_is_the_apis():
    assert musicrec_client.__version__ == _openapi.API_VERSION
    assert importlib.metadata.version("musicrec-client") == _openapi.API_VERSION


def test_every_route_has_a_client_method():
    documented = {(op.method, op.path) for op in _openapi.OPERATIONS}
    assert set(BOUND) == documented, "routes without a method, or methods without a route"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@pytest.mark.parametrize("key", sorted(BY_ROUTE), ids=lambda key: f"{key[0]} {key[1]}")
def test_each_method_takes_the_routes_parameters(key):
    op = BY_ROUTE[key]
    method = getattr(MusicRec, BOUND[key])
    taken = [p for p in inspect.signature(method).parameters if p not in ("self", "request")]
    wanted = [snake(name) for name in op.path_params] + list(op.query_params)
    if op.body is not None:
        wanted += list(op.body.model_fields)
    assert sorted(taken) == sorted(wanted), f"{BOUND[key]} vs {key[0]} {key[1]}"


def test_a_method_for_a_route_the_document_lacks_fails_at_import():
    with pytest.raises(KeyError, match=r"not a route of docs/openapi\.json"):
        route("GET", "/v1/no/such/route")
    assert operation("POST", "/v1/events").body is _openapi.EventBatch


def test_a_changed_document_is_noticed(tmp_path):
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    document["info"]["version"] = "1.1.0"
    changed = tmp_path / "openapi.json"
    changed.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    gen = generator()
    assert gen.main(["--document", str(changed), "--check"]) == 1
    assert gen.main(["--check"]) == 0


@pytest.mark.parametrize(
    ("schema", "problem"),
    [({"type": "string", "format": "date-time"}, "format"),
     ({"type": "object", "properties": {"a": {"type": "string"}}}, "inline object"),
     ({"oneOf": [{"type": "string"}]}, "oneOf"),
     ({"$ref": "#/components/schemas/Missing"}, "Missing")],
)  # fmt: skip
def test_constructs_the_generator_does_not_translate_are_refused(schema, problem):
    gen = generator()
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}}
    document = {
        "openapi": "3.1.0",
        "info": {"version": "0"},
        "paths": {"/x": {"post": {"operationId": "x", "requestBody": body, "responses": {}}}},
        "components": {"schemas": {"Body": {"type": "object", "properties": {"a": schema}}}},
    }
    with pytest.raises(gen.UnsupportedError, match=problem):
        gen.render(json.dumps(document))


def test_the_request_models_check_what_the_api_checks():
    from musicrec_client.models import Event, OnboardingRequest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        OnboardingRequest(age=121)
    with pytest.raises(ValidationError):
        OnboardingRequest(nickname="x")  # unknown fields are refused
    with pytest.raises(ValidationError, match="artist_id"):
        Event(event_id="e", user_id="u", type="follow")
    assert (
        Event(event_id="e", user_id="u", type="impression", recommendation_id="r").item_id is None
    )


def test_an_enum_component_is_a_literal_alias_named_after_its_module():
    """pydantic names two query enums of the same name by their modules
    (``lambdas__api__admin__traffic__Period``): the module's last part and the name."""
    gen = generator()
    period = {"type": "integer", "enum": [60, 300], "description": "Seconds per point."}
    ref = "#/components/schemas/"
    param = {"name": "period", "in": "query", "schema": {"$ref": f"{ref}a__traffic__Period"}}
    document = {
        "openapi": "3.1.0",
        "info": {"version": "0"},
        "paths": {"/x": {"get": {"operationId": "x", "parameters": [param], "responses": {}}}},
        "components": {"schemas": {"a__traffic__Period": period}},
    }
    assert "# Seconds per point.\nTrafficPeriod = Literal[60, 300]\n" in gen.render(
        json.dumps(document)
    )
    document["components"]["schemas"]["b__traffic__Period"] = period
    second = {**param, "name": "other", "schema": {"$ref": f"{ref}b__traffic__Period"}}
    document["paths"]["/x"]["get"]["parameters"].append(second)
    with pytest.raises(gen.UnsupportedError, match="share a Python name"):
        gen.render(json.dumps(document))
    assert _openapi.TrafficPeriod.__args__ == (60, 300, 3600)
