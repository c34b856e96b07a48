"""GET /v1/admin/traffic through its router, with moto's CloudWatch: an operator's claims, the
series of the routes' API Gateway metrics and the onboarding fallback rate, 400s naming the
parameter, 403 without an operator, 503 naming CloudWatch when it fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from lambdas.api.admin import traffic
from lambdas.api.resolver import resolver_for
from lambdas.routes import ROUTES
from lambdas.store.cloudwatch import cloudwatch_client
from local import moto_server
from tests.lambdas.events import FakeContext, api_event

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_operators"
OPERATOR = {"token_use": "id", "iss": ISSUER, "sub": "op-1", "email": "op@example.com"}
HOME = "/v1/users/{userId}/home"


@pytest.fixture
def cloudwatch(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OPERATOR_ISSUER", ISSUER)
    monkeypatch.setenv("API_NAME", "musicrec-test-api")
    monkeypatch.setenv("API_STAGE", "prod")
    cloudwatch_client.cache_clear()
    moto_server.install()  # percentiles, as the local moto server answers them
    try:
        yield cloudwatch_client()
    finally:
        moto_server.uninstall()
        cloudwatch_client.cache_clear()


def get(query: str = "", claims: dict[str, str] | None = OPERATOR) -> tuple[int, dict[str, Any]]:
    event = api_event("GET", "/v1/admin/traffic", query=query, listener=None)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    context: Any = FakeContext()  # what the local gateway passes, as the runtime does
    response = resolver_for(traffic.router).resolve(event, context)
    return response["statusCode"], json.loads(response["body"])


def put_request(client: Any, when: datetime, status: int, latency_ms: float) -> None:
    """One request of GET /v1/users/{userId}/home, as API Gateway records it."""
    dims = [{"Name": "ApiName", "Value": "musicrec-test-api"}, {"Name": "Stage", "Value": "prod"},
            {"Name": "Resource", "Value": HOME}, {"Name": "Method", "Value": "GET"}]  # fmt: skip
    data = [("Count", 1.0), ("4XXError", float(400 <= status < 500)),
            ("5XXError", float(status >= 500)), ("Latency", latency_ms)]  # fmt: skip
    client.put_metric_data(Namespace="AWS/ApiGateway", MetricData=[
        {"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": when}
        for name, value in data
    ])  # fmt: skip


def test_an_operator_gets_every_route_s_series_on_the_period_grid(cloudwatch):
    now = datetime.now(UTC)
    for status in (200, 200, 404):
        put_request(cloudwatch, now - timedelta(minutes=10), status, 40.0)
    put_request(cloudwatch, now - timedelta(minutes=90), 500, 900.0)
    cloudwatch.put_metric_data(Namespace="musicrec", MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": "service", "Value": "onboarding"}],
         "Value": value, "Timestamp": now - timedelta(minutes=5)}
        for name, value in (("OnboardingFallback", 1.0), ("Onboarding_model", 3.0))
    ])  # fmt: skip

    status, answer = get("hours=2&period=300")

    assert status == 200, answer
    assert answer["period_s"] == 300
    assert [(r["method"], r["path"]) for r in answer["routes"]] == [
        (r.method, r.path) for r in ROUTES
    ]
    home = next(r for r in answer["routes"] if r["path"] == HOME)
    stamps = home["count"]["timestamps"]
    assert stamps[0] == answer["start"]
    assert len(stamps) in (24, 25)  # 2 h of 5 minutes (+1 when now is not on the grid)
    assert all(len(home[k]["values"]) == len(stamps) for k in ("count", "p50_ms", "p99_ms"))
    assert home["totals"] == {"count": 4, "errors_4xx": 1, "errors_5xx": 1}
    assert sorted(v for v in home["count"]["values"] if v is not None) == [1, 3]
    assert home["count"]["values"].count(None) == len(stamps) - 2  # null where no request
    other = next(r for r in answer["routes"] if r["path"] != HOME)
    assert other["totals"] == {"count": 0, "errors_4xx": 0, "errors_5xx": 0}
    rate = answer["fallback_rate"]["onboarding"]
    assert [v for v in rate["values"] if v is not None] == [25.0]
    assert rate["timestamps"] == stamps
    assert [v for v in home["p99_ms"]["values"] if v is not None] == [900.0, 40.0]  # oldest first


def test_the_defaults_are_3_hours_of_minutes(cloudwatch):
    status, answer = get()
    assert status == 200, answer
    assert answer["period_s"] == 60
    start = datetime.fromisoformat(answer["start"])
    end = datetime.fromisoformat(answer["end"])
    assert timedelta(hours=3) <= end - start <= timedelta(hours=3, minutes=1)
    assert len(answer["routes"][0]["count"]["timestamps"]) == (end - start).total_seconds() / 60


@pytest.mark.parametrize(
    ("query", "field"),
    [("hours=0", "hours"), ("hours=73", "hours"), ("hours=x", "hours"), ("period=61", "period"),
     ("period=", "period"), ("hours=25&period=60", "period")],
)  # fmt: skip
def test_a_bad_parameter_is_a_400_naming_it(cloudwatch, query, field):
    status, answer = get(query)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_request", field), answer


def test_72_hours_of_hours_are_accepted(cloudwatch):
    status, answer = get("hours=72&period=3600")
    assert status == 200, answer
    assert len(answer["routes"][0]["count"]["values"]) in (72, 73)


@pytest.mark.parametrize(
    "claims",
    [None, {"sub": "u1"}, {**OPERATOR, "token_use": "access"},
     {**OPERATOR, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_listeners"}],
)  # fmt: skip
def test_anyone_but_an_operator_is_refused(cloudwatch, claims):
    status, answer = get(claims=claims)
    assert (status, answer["code"]) == (403, "forbidden"), answer


def test_cloudwatch_out_of_reach_is_a_503_naming_it(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:9")  # nothing listens
    cloudwatch_client.cache_clear()
    try:
        status, answer = get()
    finally:
        cloudwatch_client.cache_clear()
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "CloudWatch" in answer["message"]


def test_cloudwatch_refusing_is_a_503_naming_it(cloudwatch):
    with Stubber(cloudwatch) as stub:  # CloudWatch's own error answer (throttled)
        stub.add_client_error("get_metric_data", "Throttling", "Rate exceeded", 400)
        status, answer = get()
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "CloudWatch GetMetricData failed (Throttling)" in answer["message"]


def test_the_client_is_the_container_s_and_bounded(aws):
    cloudwatch_client.cache_clear()
    client = cloudwatch_client()
    assert cloudwatch_client() is client
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2, 5)
    assert client.meta.service_model.service_name == "cloudwatch"
    assert client.meta.config.retries["total_max_attempts"] == 2
    cloudwatch_client.cache_clear()
