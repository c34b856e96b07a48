"""The console's traffic page on the local stack: requests through the local gateway are found in
GET /v1/admin/traffic (the gateway publishes API Gateway's metrics to local CloudWatch), and an
onboarding answer and the home screens in the fallback rates (the functions' EMF lines, forwarded
as CloudWatch Logs does)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import load
from local.smoke import call
from local.stack import Stack
from tests.local_stack import a_listener

pytestmark = pytest.mark.slow
HOME = "/v1/users/{userId}/home"
WAIT_S = 30  # the publisher flushes every 5 s


def traffic(stack: Stack) -> dict[str, Any]:
    status, body = call(stack, "GET", "/v1/admin/traffic?hours=1&period=60", admin=True,
                        timeout_s=30)  # fmt: skip
    if status != 200:
        raise AssertionError(f"{status}: {body!r}")
    return body


def since(found: dict[str, Any], start: str) -> list[Any]:
    """The values of a series in the periods from ``start`` on."""
    return [v for t, v in zip(found["timestamps"], found["values"], strict=True) if t >= start]


def home_since(answer: dict[str, Any], start: str) -> dict[str, list[Any]]:
    home = next(r for r in answer["routes"] if r["path"] == HOME and r["method"] == "GET")
    return {key: since(home[key], start) for key in ("count", "errors_4xx", "p50_ms", "p99_ms")}


def test_requests_through_the_gateway_are_in_the_console_s_traffic(stack):
    start = datetime.now(UTC).replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = home_since(traffic(stack), start)
    user = a_listener(stack)
    for _ in range(5):
        status, _ = call(stack, "GET", f"/v1/users/{user}/home?limit=5")
        assert status == 200
    status, _ = call(stack, "GET", f"/v1/users/{user}/home?limit=0")
    assert status == 400
    onboarding = load(DEFAULT_EXPERIMENTS)["onboarding"]  # an install the model answers
    install = next(
        f"traffic-{i}" for i in range(100) if onboarding.assign(f"traffic-{i}") == "model"
    )
    status, answer = call(stack, "POST", "/v1/onboarding/recommendations",
                          {"age": 30, "install_id": install})  # fmt: skip
    assert status == 200, answer

    deadline = time.monotonic() + WAIT_S
    while True:
        answer = traffic(stack)
        after = home_since(answer, start)
        rate = since(answer["fallback_rate"]["onboarding"], start)
        home_rate = since(answer["fallback_rate"]["home"], start)
        counted = sum(v or 0 for v in after["count"]) - sum(v or 0 for v in before["count"])
        arrived = any(v is not None for v in rate) and any(v is not None for v in home_rate)
        if (counted >= 6 and arrived) or time.monotonic() > deadline:
            break
        time.sleep(1)

    assert counted >= 6, (before, after)
    errors = sum(v or 0 for v in after["errors_4xx"]) - sum(v or 0 for v in before["errors_4xx"])
    assert errors >= 1
    assert any(v is not None and v > 0 for v in after["p50_ms"])
    assert all(p99 >= p50 for p50, p99 in zip(after["p50_ms"], after["p99_ms"], strict=True)
               if p50 is not None)  # fmt: skip
    # the onboarding function's EMF metrics (Onboarding_model or OnboardingFallback) arrived
    assert any(v is not None for v in rate), rate
    # and the recommendations function's HomeScreens: the bandit state is fine, no fallback
    assert {v for v in home_rate if v is not None} == {0.0}, home_rate
