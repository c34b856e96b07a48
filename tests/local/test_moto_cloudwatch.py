"""The local moto server's GetMetricData: the answers of moto's own code, from an index of the
window's datapoints instead of a scan per query and period, and a metric matched as CloudWatch
matches it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends

from local import moto_server

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DIMS = [{"Name": "route", "Value": "a"}, {"Name": "method", "Value": "GET"}]


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    moto_server.install()
    try:
        with mock_aws():
            client = boto3.client("cloudwatch", region_name="us-east-1")
            for i in range(50):
                for name, dims in (("Latency", DIMS), ("Latency", DIMS[:1]), ("Other", DIMS)):
                    client.put_metric_data(Namespace="ns", MetricData=[{
                        "MetricName": name, "Dimensions": dims, "Value": float(i % 7),
                        "Timestamp": T0 + timedelta(seconds=17 * i),
                        "Unit": "Milliseconds" if i % 5 else "Count"}])  # fmt: skip
            yield client
    finally:
        moto_server.uninstall()


def query(name: str, dims: list[dict[str, str]], stat: str, **extra: Any) -> dict[str, Any]:
    metric = {"Namespace": "ns", "MetricName": name, "Dimensions": dims}
    return {"Id": f"q{abs(hash((name, stat, str(dims), str(extra)))) % 10**6}",
            "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat, **extra}}  # fmt: skip


QUERIES = [
    query("Latency", DIMS, "Sum"),
    query("Latency", list(reversed(DIMS)), "Average"),  # dimension order does not matter
    query("Latency", DIMS[:1], "Maximum"),  # exactly these dimensions: not DIMS' datapoints
    query("Latency", DIMS, "SampleCount", Unit="Count"),
    query("Other", DIMS, "Minimum"),
]


@pytest.mark.parametrize("scan_by", ["TimestampAscending", "TimestampDescending"])
def test_the_answers_are_moto_s_own(cloudwatch, scan_by):
    backend = cloudwatch_backends["123456789012"]["us-east-1"]
    naive = T0.replace(tzinfo=None)  # as moto's parser hands times to its backend
    start, end = naive + timedelta(seconds=30), naive + timedelta(minutes=14, seconds=30)

    ours = backend.get_metric_data(QUERIES, start, end, scan_by)
    theirs = moto_server._original_metric_data(backend, QUERIES, start, end, scan_by)

    assert ours == theirs
    assert all(r["values"] for r in ours)


def test_the_namespace_is_matched_as_cloudwatch_does(cloudwatch):
    other = {**QUERIES[0], "MetricStat": {**QUERIES[0]["MetricStat"], "Metric": {
        **QUERIES[0]["MetricStat"]["Metric"], "Namespace": "elsewhere"}}}  # fmt: skip
    answer = cloudwatch.get_metric_data(MetricDataQueries=[other], StartTime=T0,
                                        EndTime=T0 + timedelta(hours=1))  # fmt: skip
    assert answer["MetricDataResults"][0]["Values"] == []  # moto: DIMS' values of "ns"


def test_expressions_still_go_to_moto_s_code(cloudwatch):
    queries = [{**QUERIES[0], "Id": "a", "ReturnData": False},
               {"Id": "same", "Expression": "a"}]  # moto's expressions: an id  # fmt: skip
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=T0,
                                        EndTime=T0 + timedelta(hours=1))  # fmt: skip
    [same] = answer["MetricDataResults"]
    assert same["Id"] == "same"
    assert same["Values"]


def test_the_window_s_bounds_are_checked_as_moto_does(cloudwatch):
    with pytest.raises(cloudwatch.exceptions.ClientError, match="must not equal"):
        cloudwatch.get_metric_data(MetricDataQueries=QUERIES[:1], StartTime=T0, EndTime=T0)
