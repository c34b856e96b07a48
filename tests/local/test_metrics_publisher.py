"""The local gateway's metrics publisher and the EMF forwarder, against the project's moto server
(percentiles included): what they put is what lambdas.logic.metrics reads back."""

from __future__ import annotations

import io
import json
import sys
import threading
import uuid
from collections import Counter
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.validate import validate_parameters

from lambdas.api.events import emit_counts
from lambdas.logic import metrics as series
from lambdas.logic.experiments import Experiment
from lambdas.routes import ROUTES, Route
from local import aws_calls
from local import metrics as published
from local.gateway import Gateway
from local.metrics import EmfTee, Publisher, Sample

HOME = next(r for r in ROUTES if r.path == "/v1/users/{userId}/home")


@pytest.fixture
def cloudwatch(local_aws: str) -> Any:
    return published.cloudwatch_client(local_aws)


@pytest.fixture
def publisher(cloudwatch: Any) -> Publisher:
    return Publisher(cloudwatch, f"api-{uuid.uuid4().hex[:8]}", "local", flush_s=0.2)


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=5), now + timedelta(minutes=1)


def route_series(cloudwatch: Any, publisher: Publisher, route: Route) -> dict[str, Any]:
    start, end = window()
    [found] = series.traffic(cloudwatch, publisher.api_name, "local", [route], start, end, 300)
    return found


def present(found: dict[str, Any]) -> list[Any]:
    return [v for v in found["values"] if v is not None]


def test_answers_are_read_back_as_api_gateway_s_metrics(cloudwatch, publisher):
    for i in range(1, 101):  # latencies 1..100 ms; 3 client errors, 1 server error
        status = 404 if i <= 3 else 503 if i == 4 else 200
        publisher.answered("GET", f"/v1/users/u{i}/home?limit=5", status, float(i))
    assert publisher.queued() == 400  # Count, 4XXError, 5XXError, Latency

    assert publisher.flush() == 400

    home = route_series(cloudwatch, publisher, HOME)
    assert home["totals"] == {"count": 100, "errors_4xx": 3, "errors_5xx": 1}
    assert (present(home["p50_ms"]), present(home["p99_ms"])) == ([50.0], [99.0])
    other = route_series(cloudwatch, publisher, ROUTES[0])
    assert other["totals"] == {"count": 0, "errors_4xx": 0, "errors_5xx": 0}


def test_requests_no_route_matches_publish_nothing(publisher):
    publisher.answered("GET", "/v1/nothing", 403, 1.0)
    publisher.answered("GET", "/console/index.html", 200, 1.0)
    publisher.answered("DELETE", "/v1/events", 403, 1.0)
    assert publisher.queued() == 0


def test_the_thread_flushes_and_close_puts_the_rest(cloudwatch, publisher):
    publisher.start()
    publisher.answered("GET", "/v1/users/u1/home", 200, 5.0)
    publisher.close()
    assert (publisher.queued(), publisher.put) == (0, 4)
    assert route_series(cloudwatch, publisher, HOME)["totals"]["count"] == 1


def test_emf_lines_become_metrics_and_other_lines_reach_the_console(cloudwatch, publisher):
    experiment = Experiment(f"exp-{uuid.uuid4().hex[:8]}", "salt", "a", {"a": 1, "b": 1})
    console = io.StringIO()
    tee = EmfTee(console, publisher.add)

    def function(n: int) -> None:  # what a handler prints, from the gateway's worker threads
        for _ in range(20):
            emit_counts(Counter({(experiment.name, "b", "impressions"): 2,
                                 (experiment.name, "b", "clicks"): 1}))  # fmt: skip
            print(f"log line of thread {n}")

    with redirect_stdout(tee):
        threads = [threading.Thread(target=function, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("{not json, still printed}")
    publisher.flush()

    lines = console.getvalue().splitlines()
    assert sorted(set(lines)) == [*(f"log line of thread {n}" for n in range(4)),
                                  "{not json, still printed}"]  # fmt: skip
    assert len(lines) == 81
    start, end = window()
    found = series.ctr_series(cloudwatch, {experiment.name: experiment}, start, end, 300)
    variant = found[experiment.name]["b"]
    assert (present_list(variant["impressions"]), present_list(variant["clicks"])) == ([160], [80])
    assert present_list(variant["ctr"]) == [0.5]
    assert found[experiment.name]["a"]["impressions"] == [None] * len(variant["timestamps"])


def present_list(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def test_powertools_metrics_are_forwarded_with_their_dimensions(publisher):
    console = io.StringIO()
    metrics = Metrics(namespace="musicrec", service="onboarding")
    metrics.add_metric(name="OnboardingFallback", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="OnboardingFallback", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Onboarding_model", unit=MetricUnit.Count, value=1)
    with redirect_stdout(EmfTee(console, publisher.add)):
        metrics.flush_metrics()
    assert console.getvalue() == ""
    queued = sorted((s.name, s.dimensions, s.value, s.unit) for s in publisher._queue)
    dims = (("service", "onboarding"),)
    assert queued == [("OnboardingFallback", dims, 1.0, "Count"),
                      ("OnboardingFallback", dims, 1.0, "Count"),
                      ("Onboarding_model", dims, 1.0, "Count")]  # fmt: skip


def test_an_emf_line_whose_dimension_is_missing_is_not_extracted():
    line = json.dumps({"_aws": {"Timestamp": 0, "CloudWatchMetrics": [
        {"Namespace": "n", "Dimensions": [["service"], []], "Metrics": [{"Name": "M"}]}]},
        "M": 3})  # fmt: skip
    assert [(s.dimensions, s.value) for s in published.emf_samples(line)] == [((), 3.0)]


def test_a_failing_cloudwatch_is_printed_and_counted_never_raised(capsys):
    down = published.cloudwatch_client("http://127.0.0.1:9")  # nothing listens
    publisher = Publisher(down, "api", "local")
    publisher.answered("GET", "/v1/users/u1/home", 200, 5.0)
    assert publisher.flush() == 0
    assert (publisher.failed, publisher.queued()) == (4, 0)
    assert "PutMetricData (AWS/ApiGateway) failed" in capsys.readouterr().err


def test_the_queue_is_bounded_and_drops_its_oldest(cloudwatch):
    publisher = Publisher(cloudwatch, "api", "local", max_queued=6)
    for latency in range(3):  # 4 samples each
        publisher.answered("GET", "/v1/users/u1/home", 200, float(latency))
    assert (publisher.queued(), publisher.dropped) == (6, 6)
    kept = [s.value for s in publisher._queue if s.name == "Latency"]
    assert kept == [1.0, 2.0]


def test_batches_stay_within_put_metric_data_s_limits_and_shape():
    samples = [Sample("n", f"m{i}", (("d", "v"),), float(v), "Milliseconds", 1_800_000_000.0)
               for i in range(3) for v in range(400)]  # fmt: skip
    samples += [Sample("n", "c", (), 1.0, "Count", 1_800_000_000.0) for _ in range(7)]
    found = published.datums(samples)["n"]
    assert all(len(d.get("Values", ())) <= published.MAX_VALUES for d in found)
    assert sum(sum(d.get("Counts", ())) for d in found) == 1200
    [count] = [d for d in found if d["MetricName"] == "c"]
    assert count["StatisticValues"] == {"SampleCount": 7.0, "Sum": 7.0, "Minimum": 1.0,
                                        "Maximum": 1.0}  # fmt: skip
    shape = botocore.session.get_session().get_service_model("cloudwatch")
    request = {"Namespace": "n", "MetricData": found[: published.MAX_DATUMS]}
    validate_parameters(request, shape.operation_model("PutMetricData").input_shape)
    assert published.MAX_DATUMS <= 1000


def test_the_publisher_s_calls_are_not_recorded_as_a_function_s(tmp_path, local_aws):
    record = tmp_path / "calls.jsonl"
    aws_calls.install(record)
    try:
        client = published.cloudwatch_client(local_aws)
        with aws_calls.acting_as("function", "recommendations"):
            client.put_metric_data(Namespace="n", MetricData=[{"MetricName": "m", "Value": 1}])
    finally:
        aws_calls.uninstall()
    assert not record.exists() or record.read_text() == ""


def test_start_installs_the_tee_and_stop_restores_stdout(local_aws, capsys):
    publisher = published.start(local_aws, "api", "local", flush_s=60)
    try:
        assert isinstance(sys.stdout, EmfTee)
    finally:
        published.stop(publisher)
    assert not isinstance(sys.stdout, EmfTee)


def test_the_gateway_reports_each_answer_with_its_route_status_and_latency(publisher):
    gateway = Gateway("k", "a", on_answer=publisher.answered)  # listener mode, no pool
    status, _, _ = gateway.handle("GET", "/v1/users/u1/home?limit=5", {"x-api-key": "k"}, None)
    gateway.handle("GET", "/v1/nothing", {}, None)  # no route: API Gateway has no method
    assert status == 401  # the authoriser's refusal is the method's 4xx, as in API Gateway
    queued = {s.name: s for s in publisher._queue}
    assert len(publisher._queue) == 4
    assert queued["4XXError"].value == 1.0
    assert queued["Count"].dimensions == (("ApiName", publisher.api_name), ("Stage", "local"),
                                          ("Resource", HOME.path), ("Method", "GET"))  # fmt: skip
    assert 0 <= queued["Latency"].value < 1000
