"""GET /v1/admin/experiments through its router, with moto (DynamoDB and CloudWatch) and what the
real routes recorded: each variant's counts, CTR and lift as the report computes them, the CTR
series from CloudWatch, the home bandit's off-policy estimates exactly as ``python -m
lambdas.ops.experiments ope --json`` gives them, a log reading cut by its time budget; 400s
naming the parameter, 403 without an operator, 503 naming the service that failed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from lambdas.api.admin import experiments
from lambdas.config import OPE_LOG_BUDGET_ENV
from lambdas.handlers import events, recommendations
from lambdas.logic.experiment_report import compare
from lambdas.logic.services import services
from lambdas.ops.experiments import main
from lambdas.store.cloudwatch import cloudwatch_client
from tests.lambdas.api.admin import operator
from tests.lambdas.api.admin.operator import ISSUER, OPERATOR
from tests.lambdas.api.home_world import home_world
from tests.lambdas.api.loaded import Loaded, call, user_with

KNOWN = "u-exp"
SCREENS = 12
CLICKS = {"rules": 2, "model": 4}  # of 10 impressions each


def seen(user: str, answer: dict[str, Any], clicks: int, tag: str) -> list[dict[str, Any]]:
    """Impressions of an answer's first ten items and clicks on the first ``clicks``."""
    base = {"user_id": user, "recommendation_id": answer["recommendation_id"]}
    ids = [item["id"] for item in answer["items"][:10]]
    assert len(ids) == 10
    return [*({**base, "event_id": f"{tag}-i{i}", "type": "impression", "item_id": item}
              for i, item in enumerate(ids)),
            *({**base, "event_id": f"{tag}-c{i}", "type": "click", "item_id": item}
              for i, item in enumerate(ids[:clicks]))]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Ten songs seen by a listener of each onboarding variant (rules: 2 clicks, model: 4),
    twelve home screens seen with a click on some first carousels, and the CloudWatch sums
    the events route would have emitted for the model variant."""
    with home_world(tmp_path_factory.mktemp("exp"), "e1", KNOWN) as found:
        found.mp.setenv("OPERATOR_ISSUER", ISSUER)
        cloudwatch_client.cache_clear()
        for variant, clicks in CLICKS.items():
            user = user_with(variant)
            _, answer = call(recommendations, "GET", f"/v1/users/{user}/recommendations",
                             query="limit=10")  # fmt: skip
            assert answer["variant"] == variant
            status, ack = call(events, "POST", "/v1/events",
                               {"events": seen(user, answer, clicks, variant)})  # fmt: skip
            assert (status, ack["counted"]) == (200, 10 + clicks), ack
        rng = random.Random(5)
        for n in range(SCREENS):
            _, home = call(recommendations, "GET", f"/v1/users/{KNOWN}/home",
                           query="limit=2&carousels=2")  # fmt: skip
            posted = [{"event_id": f"h{n}-{c['position']}", "user_id": KNOWN,
                       "type": "impression", "recommendation_id": c["recommendation_id"]}
                      for c in home["carousels"]]  # fmt: skip
            first = home["carousels"][0]
            if rng.random() < 0.5:
                posted.append({"event_id": f"hc{n}", "user_id": KNOWN, "type": "click",
                               "recommendation_id": first["recommendation_id"],
                               "item_id": first["items"][0]["id"]})  # fmt: skip
            assert call(events, "POST", "/v1/events", {"events": posted})[0] == 200
        when = datetime.now(UTC) - timedelta(hours=2)
        dims = [{"Name": "experiment", "Value": "onboarding"},
                {"Name": "variant", "Value": "model"}]  # fmt: skip
        cloudwatch_client().put_metric_data(Namespace="musicrec", MetricData=[
            {"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": when}
            for name, value in (("Impressions", 10.0), ("Clicks", 4.0))])  # fmt: skip
        try:
            yield found
        finally:
            cloudwatch_client.cache_clear()


def get(query: str = "", claims: dict[str, str] | None = OPERATOR) -> tuple[int, dict[str, Any]]:
    return operator.get(experiments.router, "/v1/admin/experiments", query, claims)


def by_name(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in answer["experiments"]}


def test_each_variants_counts_ctr_and_lift_over_the_control(world):
    status, answer = get("hours=1")
    assert status == 200, answer
    onboarding = by_name(answer)["onboarding"]
    assert onboarding["control"] == "rules"
    rows = {row["variant"]: row for row in onboarding["variants"]}
    assert list(rows) == ["model", "rules", "bandit"]  # the configuration's order
    assert rows["rules"] == {
        "variant": "rules",
        "impressions": 10,
        "clicks": 2,
        "ctr": 0.2,
        "lift": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
    }
    lift, low, high, p = compare((10, 2), (10, 4))
    assert rows["model"] == {
        "variant": "model",
        "impressions": 10,
        "clicks": 4,
        "ctr": 0.4,
        "lift": lift,
        "ci_low": low,
        "ci_high": high,
        "p_value": p,
    }
    assert rows["model"]["lift"] == pytest.approx(1.0)
    assert (rows["bandit"]["impressions"], rows["bandit"]["lift"]) == (0, None)


def test_the_home_screen_counts_under_its_policy_with_its_off_policy_estimates(world, capsys):
    status, answer = get("hours=1")
    assert status == 200, answer
    home = by_name(answer)["home"]
    assert home["control"] == "softmax"
    [row] = home["variants"]
    assert row["impressions"] == 2 * SCREENS
    assert row["lift"] is None
    estimates = home["off_policy"]
    assert {k: estimates[k] for k in ("bandit", "hours", "hours_read", "complete")} == {
        "bandit": "home",
        "hours": 1,
        "hours_read": 1.02,
        "complete": True,
    }  # 61 minutes
    assert estimates["decisions"] == SCREENS
    assert main(["ope", "--hours", "1", "--resamples", str(experiments.RESAMPLES), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in estimates.items()
            if k not in ("bandit", "hours", "hours_read", "complete")} == cli  # fmt: skip
    onboarding = by_name(answer)["onboarding"]["off_policy"]  # no onboarding station seen
    assert (onboarding["bandit"], onboarding["decisions"], onboarding["targets"]) == (
        "onboarding", 0, [])  # fmt: skip


def test_the_ctr_series_come_from_cloudwatch(world):
    status, answer = get("days=1&period=3600&hours=1")
    assert status == 200, answer
    assert answer["period_s"] == 3600
    series = by_name(answer)["onboarding"]["series"]
    assert set(series) == {"model", "rules", "bandit"}
    model = series["model"]
    assert len(model["timestamps"]) in (24, 25)
    assert model["timestamps"][0] == answer["start"]
    assert [v for v in model["impressions"] if v is not None] == [10]
    assert [v for v in model["ctr"] if v is not None] == [0.4]
    assert all(v is None for v in series["rules"]["ctr"])  # nothing put for rules
    assert set(by_name(answer)["home"]["series"]) == {"softmax"}


def test_a_log_not_read_within_the_budget_says_how_much_was(world, monkeypatch):
    monkeypatch.setenv(OPE_LOG_BUDGET_ENV, "0")
    status, answer = get("hours=168")
    assert status == 200, answer
    estimates = by_name(answer)["home"]["off_policy"]
    assert estimates["complete"] is False
    assert estimates["hours_read"] < 168


@pytest.mark.parametrize(
    ("query", "field"),
    [("days=0", "days"), ("days=91", "days"), ("period=60", "period"), ("period=x", "period"),
     ("hours=0", "hours"), ("hours=169", "hours"), ("days=30&period=300", "period")],
)  # fmt: skip
def test_a_bad_parameter_is_a_400_naming_it(world, query, field):
    status, answer = get(query)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_request", field), answer


@pytest.mark.parametrize("claims", [None, {"sub": "u1"}, {**OPERATOR, "token_use": "access"}])
def test_anyone_but_an_operator_is_refused(world, claims):
    status, answer = get(claims=claims)
    assert (status, answer["code"]) == (403, "forbidden"), answer


def test_cloudwatch_refusing_is_a_503_naming_it(world):
    with Stubber(cloudwatch_client()) as stub:
        stub.add_client_error("get_metric_data", "Throttling", "Rate exceeded", 400)
        status, answer = get()
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "CloudWatch GetMetricData failed (Throttling)" in answer["message"]


def test_the_bandit_log_failing_is_a_503_naming_it(world):
    client = services().store.tables["experiments"].meta.client
    with Stubber(client) as stub:  # the counters' read answers, the log's first query fails
        stub.add_response("batch_get_item", {"Responses": {}})
        stub.add_client_error("query", "InternalServerError", "down", 500)
        status, answer = get("hours=1")
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "onboarding bandit's log" in answer["message"]
