"""GET /v1/admin/models and POST /v1/admin/batch/rollback through their router, with moto (S3,
DynamoDB, EventBridge Scheduler, SageMaker and its runtime): the runs newest first, the model
that answers and the endpoint where SageMaker describes one, the batch pointer, the next run;
the rollback conditional on the console's view; 400s naming the field, 403 without an operator,
409s, and 503s naming the upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import pytest
import requests
from botocore.stub import Stubber

from lambdas.api.admin import models
from lambdas.api.resolver import resolver_for
from lambdas.logic import models_view
from lambdas.store import keys
from lambdas.store.loader import Tables
from lambdas.store.tables import table
from tests.lambdas.conftest import PREFIX
from tests.lambdas.events import FakeContext, api_event

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_operators"
OPERATOR = {"token_use": "id", "iss": ISSUER, "sub": "op-1", "cognito:username": "ops-anna"}
BUCKET = "musicrec-test-data"
ENDPOINT = "musicrec-test-onboarding"
SCHEDULE = "musicrec-test-retrain"


@pytest.fixture
def admin(tables: Tables, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tables]:
    """The admin function's environment on moto: bucket, tables, endpoint name, issuer."""
    monkeypatch.setenv("OPERATOR_ISSUER", ISSUER)
    monkeypatch.setenv("BATCH_BUCKET", BUCKET)
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    for name in ("lists", "state"):
        monkeypatch.setenv(table(name).env_var, table(name).physical_name(PREFIX))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    models_view.clients.cache_clear()
    try:
        yield tables
    finally:
        models_view.clients.cache_clear()


def call(
    method: str, route: str, body: Any = None, claims: dict[str, str] | None = OPERATOR
) -> tuple[int, dict[str, Any]]:
    event = api_event(method, route, body, listener=None)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    response = resolver_for(models.router).resolve(event, cast(Any, FakeContext()))
    return response["statusCode"], json.loads(response["body"])


def get() -> tuple[int, dict[str, Any]]:
    return call("GET", "/v1/admin/models")


def rollback(body: Any, claims: dict[str, str] | None = OPERATOR) -> tuple[int, dict[str, Any]]:
    return call("POST", "/v1/admin/batch/rollback", body, claims)


def store_run(rid: str, **fields: Any) -> None:
    record = {"run_id": rid, "passed": True, "reason": "passed: ...", "checks": [],
              "metrics": {}, "model_version": f"onboarding-{rid}", "job": "j",
              "artifact": "s3://x", **fields}  # fmt: skip
    boto3.client("s3").put_object(Bucket=BUCKET, Key=f"runs/{rid}.json", Body=json.dumps(record))


def point(tables: Tables, active: str, previous: str | None, loaded: bool = True) -> None:
    """The batch pointer, with the previous version's load marker (or none: expired)."""
    tables.state.put_item(Item={**keys.ACTIVE, "version": active, "previous": previous,
                                "switched_at": "2026-12-14T03:40:00+00:00"})  # fmt: skip
    if previous and loaded:
        tables.state.put_item(Item={**keys.load_marker(previous, "personal/part-0.jsonl"),
                                    "family": "personal", "records": 10})  # fmt: skip


def answer_with(version: str) -> None:
    """The endpoint's next answer (moto's queue of SageMaker runtime results)."""
    body = json.dumps({"genres": [{"genre": "Pop", "score": 0.5}], "model_version": version})
    results = {"results": [{"Body": body, "ContentType": "application/json"}]}
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json=results,
        timeout=5,
    )


def create_endpoint() -> None:
    """The endpoint as the model stack and the pipeline leave it in AWS."""
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(
        ModelName="musicrec-test-abc",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://x/model.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="musicrec-test-abc",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "musicrec-test-abc",
                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
    )  # fmt: skip
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="musicrec-test-abc")


def create_schedule(expression: str, **extra: Any) -> None:
    boto3.client("scheduler").create_schedule(
        Name=SCHEDULE,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:r",
                "RoleArn": "arn:aws:iam::123456789012:role/s"},
        **extra,
    )  # fmt: skip


# GET /v1/admin/models


def test_the_view_in_aws_runs_serving_model_endpoint_batch_and_next_run(admin, monkeypatch):
    monkeypatch.setenv("RETRAIN_SCHEDULE", SCHEDULE)
    for day in range(1, 23):
        store_run(f"202612{day:02d}T030000Z-job{day}", passed=day % 2 == 0)
    point(admin, "v2", "v1")
    create_endpoint()
    answer_with("onboarding-20261222T030000Z-job22")
    create_schedule("cron(0 3 * * ? *)")

    status, answer = get()

    assert status == 200, answer
    assert [r["run_id"] for r in answer["runs"]][:2] == [
        "20261222T030000Z-job22", "20261221T030000Z-job21"]  # fmt: skip
    assert (len(answer["runs"]), answer["runs_truncated"]) == (20, False)
    assert answer["runs"][1]["passed"] is False
    assert "job" not in answer["runs"][0]  # the view's fields only
    model = answer["model"]
    assert model["serving"] == "onboarding-20261222T030000Z-job22"
    assert model["serving_run_id"] == "20261222T030000Z-job22"
    assert model["endpoint"]["name"] == ENDPOINT
    assert model["endpoint"]["models"] == ["musicrec-test-abc"]
    assert (answer["batch"]["active"], answer["batch"]["previous"]) == ("v2", "v1")
    assert answer["batch"]["rollback_possible"] is True
    assert [v["role"] for v in answer["batch"]["versions"]] == ["active", "previous"]
    schedule = answer["schedule"]
    assert (schedule["expression"], schedule["state"]) == ("cron(0 3 * * ? *)", "ENABLED")
    next_run = datetime.fromisoformat(schedule["next_run"].replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert now < next_run <= now + timedelta(days=1)
    assert (next_run.hour, next_run.minute) == (3, 0)
    assert answer["generated_at"].endswith("Z")


def test_the_local_view_has_no_schedule_and_no_described_endpoint(admin):
    """Locally: no schedule (runs start by hand), no SageMaker endpoint in moto; the version is
    the one that answers (the local inference server behind the runtime endpoint)."""
    answer_with("onboarding-local")
    status, answer = get()
    assert status == 200, answer
    assert answer["schedule"]["next_run"] is None
    assert answer["schedule"]["note"] == "runs start by hand: make retrain"
    assert answer["model"]["serving"] == "onboarding-local"
    assert answer["model"]["endpoint"] is None
    assert "describes no endpoint" in answer["model"]["note"]
    assert (answer["runs"], answer["batch"]["active"]) == ([], None)


def test_a_model_that_does_not_answer_is_noted_not_a_failure(admin, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9")  # nobody
    models_view.clients.cache_clear()
    status, answer = get()
    assert status == 200, answer
    assert answer["model"]["serving"] is None
    assert f"the endpoint {ENDPOINT} did not answer" in answer["model"]["note"]


def test_an_expired_previous_version_cannot_be_rolled_back_to(admin):
    point(admin, "v2", "v1", loaded=False)
    _, answer = get()
    assert answer["batch"]["rollback_possible"] is False
    assert answer["batch"]["versions"][1] == {"version": "v1", "role": "previous", "loaded": False}


def test_a_disabled_or_missing_schedule_has_no_next_run(admin, monkeypatch):
    monkeypatch.setenv("RETRAIN_SCHEDULE", SCHEDULE)
    _, answer = get()
    assert answer["schedule"]["next_run"] is None
    assert answer["schedule"]["note"] == f"no schedule {SCHEDULE} in group default"
    create_schedule("rate(1 day)", State="DISABLED")
    _, answer = get()
    assert (answer["schedule"]["state"], answer["schedule"]["next_run"]) == ("DISABLED", None)


def test_a_rate_schedule_counts_from_its_start(admin, monkeypatch):
    monkeypatch.setenv("RETRAIN_SCHEDULE", SCHEDULE)
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    create_schedule("rate(12 hours)", StartDate=start, ScheduleExpressionTimezone="Europe/Paris")
    _, answer = get()
    assert answer["schedule"]["timezone"] == "Europe/Paris"
    assert answer["schedule"]["next_run"] == start.isoformat().replace("+00:00", "Z")


def test_anyone_but_an_operator_is_refused(admin):
    listener = {"custom:listener_id": "u1", "token_use": "id", "iss": "listeners"}
    for claims in (None, listener):
        status, answer = call("GET", "/v1/admin/models", claims=claims)
        assert (status, answer["code"], answer["field"]) == (403, "forbidden", "Authorization")
        status, _ = rollback({"expected_active": "v2"}, claims=claims)
        assert status == 403


def test_s3_failing_is_a_503_naming_it(admin):
    boto3.client("s3").delete_bucket(Bucket=BUCKET)
    status, answer = get()
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert answer["message"].startswith(f"S3 ListObjectsV2/GetObject of s3://{BUCKET}/runs/")
    assert "NoSuchBucket" in answer["message"]


def test_the_scheduler_failing_is_a_503_naming_it(admin, monkeypatch):
    monkeypatch.setenv("RETRAIN_SCHEDULE", SCHEDULE)
    with Stubber(models_view.clients().scheduler) as stub:
        stub.add_client_error("get_schedule", "InternalServerException", "boom", 500)
        status, answer = get()
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "EventBridge Scheduler GetSchedule" in answer["message"]
    assert "InternalServerException" in answer["message"]


def test_s3_out_of_reach_is_a_503_saying_it_did_not_answer(admin, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens
    models_view.clients.cache_clear()
    status, answer = get()
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert answer["message"].startswith("S3 ")
    assert "did not answer" in answer["message"]


def test_the_clients_are_the_container_s_and_bounded(admin):
    c = models_view.clients()
    assert models_view.clients() is c
    for client in (c.s3, c.scheduler, c.sagemaker, c.runtime):
        assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2, 5)
    assert c.runtime.meta.config.retries["total_max_attempts"] == 1  # a probe
    assert c.s3.meta.config.retries["total_max_attempts"] == 2


# POST /v1/admin/batch/rollback


def logged(caplog: pytest.LogCaptureFixture, message: str) -> Any:
    return next(r for r in caplog.records if r.getMessage() == message)


def test_a_rollback_makes_the_previous_version_active_and_logs_who(admin, caplog):
    point(admin, "v2", "v1")
    status, answer = rollback({"expected_active": "v2"})
    assert status == 200, answer
    assert (answer["active"], answer["previous"], answer["rolled_back_from"]) == ("v1", "v2", "v2")
    pointer = admin.state.get_item(Key=keys.ACTIVE)["Item"]
    assert (pointer["version"], pointer["previous"]) == ("v1", "v2")
    entry = logged(caplog, "batch rolled back")
    assert (entry.operator, getattr(entry, "from"), entry.to) == ("ops-anna", "v2", "v1")


def test_the_operator_is_logged_by_subject_without_a_user_name(admin, caplog):
    point(admin, "v2", "v1")
    claims = {k: v for k, v in OPERATOR.items() if k != "cognito:username"}
    assert rollback({"expected_active": "v2"}, claims)[0] == 200
    assert logged(caplog, "batch rolled back").operator == "op-1"


def test_a_refused_rollback_is_logged_with_who_and_why(admin, caplog):
    point(admin, "v3", "v2")
    assert rollback({"expected_active": "v2"})[0] == 409
    entry = logged(caplog, "batch rollback refused")
    assert (entry.operator, entry.expected_active) == ("ops-anna", "v2")
    assert "v3" in entry.why


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda t: point(t, "v3", "v2"), "the active version is v3, not v2"),
        (lambda t: None, "the active version is none, not v2"),
        (lambda t: point(t, "v2", None), "no previous version"),
        (lambda t: point(t, "v2", "v1", loaded=False), "v1 is not loaded"),
    ],
)
def test_a_stale_view_or_nothing_to_roll_back_to_is_a_409(admin, setup, says):
    setup(admin)
    status, answer = rollback({"expected_active": "v2"})
    assert (status, answer["code"], answer["field"]) == (409, "conflict", "expected_active")
    assert says in answer["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "expected_active"),
        ({"expected_active": ""}, "expected_active"),
        ({"expected_active": "v2 and more"}, "expected_active"),
        ({"expected_active": 2}, "expected_active"),
        ({"expected_active": "v2", "force": True}, "force"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(admin, body, field):
    point(admin, "v2", "v1")
    status, answer = rollback(body)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_request", field), answer
    assert admin.state.get_item(Key=keys.ACTIVE)["Item"]["version"] == "v2"


def test_dynamodb_failing_is_a_503_naming_it(admin):
    boto3.client("dynamodb").delete_table(TableName=table("state").physical_name(PREFIX))
    status, answer = rollback({"expected_active": "v2"})
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "DynamoDB" in answer["message"]
    status, answer = get()
    assert (status, answer["code"]) == (503, "upstream_unavailable")
