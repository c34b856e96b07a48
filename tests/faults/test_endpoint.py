"""Fault 1: the SageMaker endpoint down, slow, or answering garbage. The onboarding route still
answers 200 with the rule's genres (``source: "fallback"``), after at most two attempts."""

from __future__ import annotations

import time

import pytest

from lambdas.handlers import onboarding
from lambdas.logic.services import services
from tests.faults.conftest import ANSWERS, ONBOARDING, call, user_with
from tests.faults.misbehaving import MODES, SLOW_S, misbehaving_endpoint


@pytest.mark.parametrize("mode", MODES)
def test_onboarding_falls_back_to_the_rule(api, monkeypatch, mode):
    with misbehaving_endpoint(mode) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint.url)
        user = user_with("model")
        started = time.monotonic()
        status, body = call(onboarding, "POST", ONBOARDING, {**ANSWERS, "user_id": user})
        elapsed = time.monotonic() - started
        calls = endpoint.calls
    print(f"{mode}: {status} source={body.get('source')} in {elapsed * 1000:.0f} ms, "
          f"{calls} invocation(s)")  # fmt: skip
    assert status == 200, body
    assert body["source"] == "fallback"
    assert (body["variant"], body["model_version"]) == ("model", "rules")
    assert body["genres"][0]["genre"] in ANSWERS["selected_genres"]
    assert body["stations"]
    assert body["songs"]
    assert body["artists"]
    assert calls <= 2  # one retry at most
    # The answer does not wait for a slow endpoint (a bound, not a speed figure: see the docs).
    assert elapsed < SLOW_S
    profile = services().store.profile(user)
    assert profile is not None
    assert profile["source"] == "fallback"
