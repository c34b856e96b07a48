"""local.aws_calls: who made each AWS call, what on, recorded once; worker threads' calls go to
the one invocation under way."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from local import aws_calls


@pytest.fixture
def log(tmp_path, monkeypatch):
    """Record to a file of this test's (the session's record is left alone)."""
    path = tmp_path / "calls.jsonl"
    monkeypatch.setattr(aws_calls, "_path", path)
    monkeypatch.setattr(aws_calls, "_seen", set())
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws_calls.install(path)
    with mock_aws():
        yield path


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_calls_are_recorded_with_their_caller_and_resource_once(log):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")  # nobody's: not recorded
    with aws_calls.acting_as("step", "load"):
        for _ in range(2):
            s3.list_objects_v2(Bucket="data", Prefix="batch/v1/")
        with aws_calls.acting_as("function", "loader"):
            s3.put_object(Bucket="data", Key="batch/v1/x", Body=b"1")
    assert lines(log) == [
        {
            "caller": ["step:load"],
            "service": "s3",
            "operation": "ListObjectsV2",
            "params": {"Bucket": "data", "Prefix": "batch/v1/"},
        },
        {
            "caller": ["step:load", "function:loader"],
            "service": "s3",
            "operation": "PutObject",
            "params": {"Bucket": "data", "Key": "batch/v1/x"},
        },
    ]


def test_batch_and_transaction_items_name_their_tables(log):
    dynamodb = boto3.client("dynamodb")
    for name in ("t-lists", "t-state"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    item = {"pk": {"S": "a"}}
    with aws_calls.acting_as("function", "events"):
        dynamodb.batch_write_item(RequestItems={"t-lists": [{"PutRequest": {"Item": item}}]})
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t-state", "Item": item}},
                {
                    "ConditionCheck": {
                        "TableName": "t-lists",
                        "Key": item,
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    params = [line["params"] for line in lines(log)]
    assert params == [
        {"RequestItems": ["t-lists"]},
        {"TransactItems": [["Put", "t-state"], ["ConditionCheck", "t-lists"]]},
    ]


def test_a_worker_threads_calls_are_the_invocations_under_way(log):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="data")
    with (
        aws_calls.acting_as("step", "load"),
        aws_calls.acting_as("function", "loader"),
        ThreadPoolExecutor(2) as pool,  # its threads do not get the caller's context
    ):
        list(pool.map(lambda k: s3.head_bucket(Bucket="data"), range(2)))
    with ThreadPoolExecutor(1) as pool:  # nothing under way: not recorded
        pool.submit(s3.head_bucket, Bucket="data").result()
    assert [line["caller"] for line in lines(log)] == [["step:load", "function:loader"]]


def test_without_an_install_nothing_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(aws_calls, "_path", None)
    monkeypatch.delenv(aws_calls.ENV, raising=False)
    aws_calls.install_from_env()
    assert aws_calls._path is None
    with aws_calls.acting_as("function", "catalog"):
        assert aws_calls.caller() == ("function:catalog",)
    assert aws_calls.caller() == ()


def test_a_schedule_is_recorded_by_its_name_and_group(log):
    scheduler = boto3.client("scheduler")
    missing = scheduler.exceptions.ResourceNotFoundException
    with aws_calls.acting_as("function", "admin"), pytest.raises(missing):
        scheduler.get_schedule(Name="musicrec-local-retrain", GroupName="default")
    assert lines(log) == [
        {
            "caller": ["function:admin"],
            "service": "scheduler",
            "operation": "GetSchedule",
            "params": {"GroupName": "default", "Name": "musicrec-local-retrain"},
        }
    ]


def test_a_client_left_out_of_the_record_records_nothing(log):
    """The local stack's own plumbing (the gateway's metrics) is no function's call, even while
    a function's invocation is under way; another client's calls still are."""
    plumbing = aws_calls.not_recorded(boto3.client("cloudwatch"))
    functions = boto3.client("cloudwatch")
    datum = [{"MetricName": "Count", "Value": 1.0}]
    with aws_calls.acting_as("function", "admin"):
        plumbing.put_metric_data(Namespace="AWS/ApiGateway", MetricData=datum)
        functions.list_metrics(Namespace="AWS/ApiGateway")
    assert [(line["service"], line["operation"]) for line in lines(log)] == [
        ("cloudwatch", "ListMetrics")
    ]
