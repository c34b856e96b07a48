"""The console's time series from CloudWatch (lambdas.logic.metrics) against moto's CloudWatch,
with the local moto server's percentiles (local.moto_server): datapoints put, read back on the
period grid with null gaps; GetMetricData's limits (500 queries a call, NextToken pages) and
request shape (botocore's service model)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from lambdas.logic import metrics
from lambdas.logic.experiments import Experiment
from lambdas.routes import ROUTES
from local import moto_server

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # on every period's grid
HOME = next(r for r in ROUTES if r.path == "/v1/users/{userId}/home")
SERVICE = [{"Name": "service", "Value": "onboarding"}]


@pytest.fixture
def cloudwatch(aws: None) -> Iterator[Any]:
    moto_server.install()  # percentiles, as the local moto server answers them
    try:
        yield boto3.client("cloudwatch")
    finally:
        moto_server.uninstall()


def put(client: Any, namespace: str, name: str, dims: list[dict[str, str]], value: float,
        when: datetime, unit: str = "Count") -> None:  # fmt: skip
    client.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": when, "Unit": unit}
    ])  # fmt: skip


def api_dims(route: Any = HOME) -> list[dict[str, str]]:
    names = ("ApiName", "Stage", "Resource", "Method")
    values = ("api", "prod", route.path, route.method)
    return [{"Name": n, "Value": v} for n, v in zip(names, values, strict=True)]


def requests_seen(client: Any) -> list[dict[str, Any]]:
    """The GetMetricData requests ``client`` will make, each checked against botocore's model."""
    seen: list[dict[str, Any]] = []
    model = botocore.session.get_session().get_service_model("cloudwatch")
    shape = model.operation_model("GetMetricData").input_shape

    def check(params: dict[str, Any], **_: Any) -> None:
        validate_parameters(params, shape)  # raises ParamValidationError on a wrong shape
        seen.append(params)

    client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", check)
    return seen


# the period grid ------------------------------------------------------------------------------


def test_the_grid_rounds_start_down_and_end_up_to_whole_periods():
    grid = metrics.Grid.of(T0 + timedelta(seconds=61), T0 + timedelta(seconds=299), 60)
    assert (grid.start, grid.end, grid.size) == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=5),
        4,
    )
    assert grid.timestamps()[0] == "2026-03-01T12:01:00Z"
    assert grid.index(T0 + timedelta(minutes=4, seconds=59)) == 3
    assert grid.index(T0 + timedelta(minutes=5)) is None
    assert metrics.Grid.of(T0, T0, 3600).size == 1  # never empty


def test_a_period_cloudwatch_cannot_serve_is_refused():
    with pytest.raises(ValueError, match="period_s"):
        metrics.Grid.of(T0, T0 + timedelta(hours=1), 90)


# API Gateway's metrics per route --------------------------------------------------------------


def test_traffic_reads_each_route_s_counts_errors_and_percentiles(cloudwatch):
    for i in range(1, 101):  # minute 1: latencies 1..100 ms
        when = T0 + timedelta(minutes=1, seconds=i % 60)
        for name, value in (("Count", 1.0), ("4XXError", float(i <= 5)), ("5XXError", 0.0)):
            put(cloudwatch, "AWS/ApiGateway", name, api_dims(), value, when)
        put(cloudwatch, "AWS/ApiGateway", "Latency", api_dims(), float(i), when, "Milliseconds")
    put(cloudwatch, "AWS/ApiGateway", "Count", api_dims(), 1.0, T0 + timedelta(minutes=3))
    put(cloudwatch, "AWS/ApiGateway", "Count", api_dims(), 1.0, T0 + timedelta(hours=2))  # out

    routes = metrics.traffic(cloudwatch, "api", "prod", ROUTES, T0, T0 + timedelta(minutes=5), 60)

    assert [(r["method"], r["path"]) for r in routes] == [(r.method, r.path) for r in ROUTES]
    home = next(r for r in routes if r["path"] == HOME.path)
    assert home["count"] == {"timestamps": metrics.Grid.of(T0, T0 + timedelta(minutes=5), 60)
                             .timestamps(), "values": [None, 100, None, 1, None]}  # fmt: skip
    assert home["errors_4xx"]["values"] == [None, 5, None, None, None]
    assert home["p50_ms"]["values"] == [None, 50.0, None, None, None]
    assert home["p99_ms"]["values"] == [None, 99.0, None, None, None]
    assert home["totals"] == {"count": 101, "errors_4xx": 5, "errors_5xx": 0}
    other = next(r for r in routes if r["path"] != HOME.path)
    assert other["count"]["values"] == [None] * 5
    assert other["totals"]["count"] == 0


def test_another_stage_s_metrics_are_not_read(cloudwatch):
    dims = [d if d["Name"] != "Stage" else {"Name": "Stage", "Value": "dev"} for d in api_dims()]
    put(cloudwatch, "AWS/ApiGateway", "Count", dims, 1.0, T0)
    [home] = metrics.traffic(cloudwatch, "api", "prod", [HOME], T0, T0 + timedelta(minutes=1), 60)
    assert home["totals"]["count"] == 0


def test_the_queries_name_api_gateway_s_dimensions_and_statistics(cloudwatch):
    seen = requests_seen(cloudwatch)
    metrics.traffic(cloudwatch, "api", "prod", [HOME], T0, T0 + timedelta(hours=1), 300)
    [request] = seen
    stats = [(q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"])
             for q in request["MetricDataQueries"]]  # fmt: skip
    assert stats == [("Count", "SampleCount"), ("4XXError", "Sum"), ("5XXError", "Sum"),
                     ("Latency", "p50"), ("Latency", "p99")]  # fmt: skip
    metric = request["MetricDataQueries"][0]["MetricStat"]["Metric"]
    assert metric["Namespace"] == "AWS/ApiGateway"
    assert metric["Dimensions"] == api_dims()
    assert (request["StartTime"], request["EndTime"]) == (T0, T0 + timedelta(hours=1))


# GetMetricData's limits --------------------------------------------------------------------------


def test_more_than_500_queries_take_several_calls(cloudwatch):
    variants = {f"v{i}": 1 for i in range(300)}  # 600 queries: impressions and clicks
    experiment = Experiment("big", "salt", "v0", variants)
    dims = [{"Name": "experiment", "Value": "big"}, {"Name": "variant", "Value": "v299"}]
    put(cloudwatch, "musicrec", "Impressions", dims, 4.0, T0)
    seen = requests_seen(cloudwatch)

    found = metrics.ctr_series(cloudwatch, {"big": experiment}, T0, T0 + timedelta(minutes=2), 60)

    assert [len(r["MetricDataQueries"]) for r in seen] == [500, 100]
    assert found["big"]["v299"]["impressions"] == [4, None]  # the last query, in the 2nd call
    assert found["big"]["v0"]["impressions"] == [None, None]


def test_next_token_pages_are_followed_and_merged(aws):
    client = boto3.client("cloudwatch")
    page = {"Id": "q0", "Label": "x", "StatusCode": "PartialData"}
    with Stubber(client) as stub:  # CloudWatch's answer in two pages (moto does not page)
        stub.add_response("get_metric_data", {"MetricDataResults": [
            {**page, "Timestamps": [T0], "Values": [2.0]}], "NextToken": "more"})  # fmt: skip
        stub.add_response("get_metric_data", {"MetricDataResults": [
            {**page, "Timestamps": [T0 + timedelta(minutes=2)], "Values": [3.0],
             "StatusCode": "Complete"}]},
            expected_params={"MetricDataQueries": stub_any(), "StartTime": T0,
                             "EndTime": T0 + timedelta(minutes=3), "NextToken": "more",
                             "ScanBy": "TimestampAscending"})  # fmt: skip
        query = metrics.MetricQuery("musicrec", "Clicks", (), "Sum")
        grid = metrics.Grid.of(T0, T0 + timedelta(minutes=3), 60)
        assert metrics.fetch(client, [query], grid) == [[2.0, None, 3.0]]
        stub.assert_no_pending_responses()


def stub_any() -> Any:
    from botocore.stub import ANY

    return ANY


# the functions' EMF metrics ------------------------------------------------------------------


def test_the_onboarding_fallback_rate_is_fallbacks_over_model_answers(cloudwatch):
    put(cloudwatch, "musicrec", "OnboardingFallback", SERVICE, 1.0, T0)
    for _ in range(3):
        put(cloudwatch, "musicrec", "Onboarding_model", SERVICE, 1.0, T0)
    put(cloudwatch, "musicrec", "Onboarding_model", SERVICE, 1.0, T0 + timedelta(minutes=1))
    put(cloudwatch, "musicrec", "OnboardingFallback", SERVICE, 1.0, T0 + timedelta(minutes=2))
    put(cloudwatch, "musicrec", "Onboarding_rules", SERVICE, 1.0, T0 + timedelta(minutes=3))

    found = metrics.fallback_series(cloudwatch, T0, T0 + timedelta(minutes=4), 60)

    assert list(found) == ["onboarding", "home"]
    assert found["onboarding"]["values"] == [25.0, 0.0, 100.0, None]
    assert found["home"]["values"] == [None] * 4  # no home screen in the window


def test_the_home_fallback_rate_is_prior_ranked_screens_over_every_screen(cloudwatch):
    dims = [{"Name": "service", "Value": "recommendations"}]
    for _ in range(4):
        put(cloudwatch, "musicrec", "HomeScreens", dims, 1.0, T0)
    put(cloudwatch, "musicrec", "HomePolicyFallback", dims, 1.0, T0)
    put(cloudwatch, "musicrec", "HomeScreens", dims, 1.0, T0 + timedelta(minutes=1))
    put(cloudwatch, "musicrec", "HomePolicyFallback", SERVICE, 1.0, T0 + timedelta(minutes=1))

    found = metrics.fallback_series(cloudwatch, T0, T0 + timedelta(minutes=2), 60)

    assert found["home"]["values"] == [25.0, 0.0]  # another service's metric is not counted


def test_ctr_is_clicks_over_impressions_per_variant_and_period(cloudwatch):
    experiment = Experiment("onboarding", "salt", "rules", {"rules": 1, "model": 1})
    dims = [{"Name": "experiment", "Value": "onboarding"}, {"Name": "variant", "Value": "model"}]
    put(cloudwatch, "musicrec", "Impressions", dims, 10.0, T0)
    put(cloudwatch, "musicrec", "Impressions", dims, 10.0, T0 + timedelta(seconds=30))
    put(cloudwatch, "musicrec", "Clicks", dims, 5.0, T0 + timedelta(seconds=40))
    put(cloudwatch, "musicrec", "Impressions", dims, 4.0, T0 + timedelta(minutes=2))

    found = metrics.ctr_series(cloudwatch, {"onboarding": experiment}, T0,
                               T0 + timedelta(minutes=3), 60)  # fmt: skip

    model = found["onboarding"]["model"]
    assert model == {"timestamps": ["2026-03-01T12:00:00Z", "2026-03-01T12:01:00Z",
                                    "2026-03-01T12:02:00Z"],
                     "impressions": [20, None, 4], "clicks": [5, None, None],
                     "ctr": [0.25, None, 0.0]}  # fmt: skip
    assert found["onboarding"]["rules"]["ctr"] == [None, None, None]


# percentiles of the local moto server ------------------------------------------------------------


def test_percentiles_are_the_nearest_rank_of_the_period_s_values():
    values = [float(v) for v in range(100, 0, -1)]
    assert [moto_server.percentile(values, p) for p in (0, 50, 90, 99, 99.5, 100)] == [
        1.0, 50.0, 90.0, 99.0, 100.0, 100.0]  # fmt: skip
    assert moto_server.percentile([7.0], 99) == 7.0
    assert moto_server.percentile([], 50) is None


def test_get_metric_statistics_answers_extended_statistics(cloudwatch):
    for v in range(1, 11):
        put(cloudwatch, "n", "Latency", [], float(v), T0 + timedelta(seconds=v), "Milliseconds")
    answer = cloudwatch.get_metric_statistics(
        Namespace="n", MetricName="Latency", StartTime=T0, EndTime=T0 + timedelta(minutes=1),
        Period=60, Statistics=["Sum"], ExtendedStatistics=["p50", "p90", "p99.9"],
    )  # fmt: skip
    [point] = answer["Datapoints"]
    assert point["Sum"] == 55.0
    assert point["ExtendedStatistics"] == {"p50": 5.0, "p90": 9.0, "p99.9": 10.0}


def test_statistic_sets_count_only_where_cloudwatch_can_take_a_percentile(cloudwatch):
    usable = {"SampleCount": 3, "Sum": 12.0, "Minimum": 4.0, "Maximum": 4.0}
    unusable = {"SampleCount": 2, "Sum": 10.0, "Minimum": 1.0, "Maximum": 9.0}
    for minute, stats in ((0, usable), (1, unusable)):
        cloudwatch.put_metric_data(Namespace="n", MetricData=[{
            "MetricName": "L", "StatisticValues": stats, "Timestamp": T0 + timedelta(minutes=minute)
        }])  # fmt: skip
    query = metrics.MetricQuery("n", "L", (), "p50")
    grid = metrics.Grid.of(T0, T0 + timedelta(minutes=2), 60)
    assert metrics.fetch(cloudwatch, [query], grid) == [[4.0, None]]  # no datum, not a failure


def test_an_unknown_extended_statistic_is_refused(cloudwatch):
    with pytest.raises(cloudwatch.exceptions.InvalidParameterValueException):
        cloudwatch.get_metric_statistics(
            Namespace="n", MetricName="L", StartTime=T0, EndTime=T0 + timedelta(minutes=1),
            Period=60, ExtendedStatistics=["tm99"],
        )  # fmt: skip
