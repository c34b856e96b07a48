"""The findings of the 2026-12-06 review (issue 17) as regression tests at the handlers, called
with the proxy events API Gateway sends after its authoriser: a listener's token acts only for
that listener, and experiment counts come from what the server recorded."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from lambdas.handlers import events, onboarding, recommendations
from lambdas.logic.services import services
from lambdas.ops.experiments import sum_counters
from lambdas.store.tables import table
from tests.lambdas.api.loaded import ONBOARDING, Loaded, call, user_with
from tests.lambdas.conftest import PREFIX
from tests.lambdas.events import FakeContext, api_event

pytestmark = pytest.mark.slow
ATTACKER = "attacker-1"


def a_song(handlers: Loaded) -> str:
    _, answer = call(recommendations, "GET", f"/v1/users/{ATTACKER}/recommendations")
    return str(answer["items"][0]["id"])


def counters() -> dict[str, Any]:
    name = table("experiments").physical_name(PREFIX)
    return sum_counters(boto3.resource("dynamodb").Table(name).scan()["Items"])


def post(listener: str, *batch: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return call(events, "POST", "/v1/events", {"events": list(batch)}, listener=listener)


@pytest.mark.parametrize(
    ("handler", "method", "path", "query", "body", "field"),
    [
        (recommendations, "GET", "/v1/users/victim/recommendations", "", None, "userId"),
        (recommendations, "GET", "/v1/users/victim/artists", "", None, "userId"),
        (recommendations, "GET", "/v1/users/victim/home", "", None, "userId"),
        (recommendations, "GET", "/v1/items/SONG/similar", "user_id=victim", None, "user_id"),
        (onboarding, "POST", ONBOARDING, "", {"user_id": "victim"}, "user_id"),
        (events, "POST", "/v1/events",
         "", {"events": [{"event_id": "e", "user_id": "victim", "type": "play", "item_id": "s"}]},
         "events.0.user_id"),
    ],
)  # fmt: skip
def test_another_listeners_token_is_refused_on_every_route_naming_a_listener(
    handlers: Loaded, handler: Any, method: str, path: str, query: str, body: Any, field: str
) -> None:
    path = path.replace("SONG", a_song(handlers))
    status, error = call(handler, method, path, body, query=query, listener=ATTACKER)
    assert (status, error["code"], error["field"]) == (403, "forbidden", field), error
    status, _ = call(handler, method, path, body, query=query, listener="victim")
    assert status == 200


def test_a_request_without_the_authorisers_claims_is_refused(handlers: Loaded) -> None:
    status, error = call(recommendations, "GET", "/v1/users/u1/artists", listener=None)
    assert (status, error["code"], error["field"]) == (403, "forbidden", "Authorization")


def test_onboarding_again_cannot_overwrite_another_listeners_profile(handlers: Loaded) -> None:
    status, _ = call(onboarding, "POST", ONBOARDING, {"user_id": "victim", "region": "us-ca"})
    assert status == 200
    before = services().store.profile("victim")
    forged = {"user_id": "victim", "selected_genres": ["Jazz"]}
    status, _ = call(onboarding, "POST", ONBOARDING, forged, listener=ATTACKER)
    assert status == 403
    assert services().store.profile("victim") == before


def test_what_a_listener_just_played_cannot_be_read_through_similar_songs(handlers: Loaded) -> None:
    song = a_song(handlers)
    post("victim", {"event_id": "p1", "user_id": "victim", "type": "play", "item_id": song})
    status, _ = call(recommendations, "GET", f"/v1/items/{song}/similar",
                     query="user_id=victim", listener=ATTACKER)  # fmt: skip
    assert status == 403


def test_a_forged_variant_changes_no_counter(handlers: Loaded) -> None:
    listener = user_with("rules")
    _, answer = call(recommendations, "GET", f"/v1/users/{listener}/recommendations")
    assert answer["variant"] == "rules"
    song = answer["items"][0]["id"]
    base = {"user_id": listener, "recommendation_id": answer["recommendation_id"], "item_id": song}
    before = counters()
    forged = [{**base, "event_id": f"c{i}", "type": "click", "variant": "model",
               "experiment": "onboarding"} for i in range(5)]  # fmt: skip
    status, ack = post(listener, *forged)
    assert (status, ack["stored"], ack["counted"]) == (200, 5, 1)  # five clicks, counted once
    after = counters()
    assert after.get("onboarding", {}).get("model") == before.get("onboarding", {}).get("model")
    rules = after["onboarding"]["rules"]
    assert rules["clicks"] == before.get("onboarding", {}).get("rules", {}).get("clicks", 0) + 1
    assert [w["field"] for w in ack["warnings"]] == [f"events.{i}.item_id" for i in (1, 2, 3, 4)]
    assert "counted before" in ack["warnings"][0]["message"]


def test_another_listeners_recommendation_is_stored_but_not_counted(handlers: Loaded) -> None:
    _, answer = call(recommendations, "GET", "/v1/users/victim/recommendations")
    click = {"event_id": "x1", "user_id": ATTACKER, "type": "click",
             "recommendation_id": answer["recommendation_id"]}  # fmt: skip
    before = counters()
    status, ack = post(ATTACKER, click)
    assert (status, ack["stored"], ack["counted"]) == (200, 1, 0)
    assert ack["warnings"][0]["field"] == "events.0.recommendation_id"
    assert counters() == before


def test_an_unknown_recommendation_or_item_is_not_counted(handlers: Loaded) -> None:
    _, answer = call(recommendations, "GET", f"/v1/users/{ATTACKER}/recommendations")
    base = {"user_id": ATTACKER, "type": "impression"}
    status, ack = post(ATTACKER,
                       {**base, "event_id": "u1", "recommendation_id": "made-up"},
                       {**base, "event_id": "u2", "recommendation_id": answer["recommendation_id"],
                        "item_id": "not-shown"})  # fmt: skip
    assert (status, ack["stored"], ack["counted"]) == (200, 2, 0)
    fields = [w["field"] for w in ack["warnings"]]
    assert fields == ["events.0.recommendation_id", "events.1.item_id"]


def test_a_click_needs_the_answers_recommendation_id(handlers: Loaded) -> None:
    status, error = post(ATTACKER, {"event_id": "c", "user_id": ATTACKER, "type": "click"})
    assert (status, error["field"]) == (400, "events.0.recommendation_id")


def test_two_listeners_may_use_the_same_event_id(handlers: Loaded) -> None:
    song = a_song(handlers)
    for listener in ("first", "second"):
        play = {"event_id": "e-1", "user_id": listener, "type": "play", "item_id": song}
        status, ack = post(listener, play)
        assert (status, ack["stored"], ack["duplicates"]) == (200, 1, 0)
        _, again = post(listener, play)  # a retry of the same listener's event is a duplicate
        assert (again["stored"], again["duplicates"]) == (0, 1)
        assert services().store.recent_events(listener)[0]["item_id"] == song


@pytest.mark.parametrize(
    ("offset_ms", "problem"),
    [(6 * 60_000, "in the future"), (31 * 86_400_000, "older than 30 days")],
)
def test_a_timestamp_far_from_now_is_refused(
    handlers: Loaded, offset_ms: int, problem: str
) -> None:
    now = int(time.time() * 1000)
    ts = now + offset_ms if "future" in problem else now - offset_ms
    play = {"event_id": "t", "user_id": ATTACKER, "type": "play", "item_id": "s", "ts": ts}
    status, error = post(ATTACKER, play)
    assert (status, error["field"]) == (400, "events.0.ts")
    assert problem in error["message"]
    status, _ = post(ATTACKER, {**play, "ts": now + 60_000})  # a minute ahead: a phone's clock
    assert status == 200


def test_json_nested_deeply_is_a_400_not_a_crash(handlers: Loaded) -> None:
    deep = "[" * 1000 + "]" * 1000
    status, error = call(events, "POST", "/v1/events", raw_body=f'{{"events": {deep}}}',
                         listener=ATTACKER)  # fmt: skip
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "body")
    assert "deeper than 32" in error["message"]


@pytest.mark.parametrize("body", ["[{}]", ' [{"events": []}]', '"text"', "3", "null", "true"])
@pytest.mark.parametrize(("handler", "path"), [(events, "/v1/events"), (onboarding, ONBOARDING)])
def test_a_body_that_is_not_a_json_object_is_a_400(
    handlers: Loaded, handler: Any, path: str, body: str
) -> None:
    # Fuzzing found an array body answered 200: Powertools validated its first element.
    status, error = call(handler, "POST", path, raw_body=body, listener=ATTACKER)
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "body")
    assert error["message"] == "body: expected a JSON object"


def test_media_types_compare_case_insensitively(handlers: Loaded) -> None:
    play = {"event_id": "m", "user_id": ATTACKER, "type": "play", "item_id": a_song(handlers)}
    status, ack = call(events, "POST", "/v1/events", {"events": [play]},
                       headers={"Content-Type": "Application/JSON; charset=UTF-8"})  # fmt: skip
    assert (status, ack["stored"]) == (200, 1)


def test_a_backend_in_server_mode_acts_for_any_listener(handlers: Loaded) -> None:
    handlers.mp.setenv("ACCESS_MODE", "server")
    services.cache_clear()
    try:
        event = api_event("GET", "/v1/users/victim/artists", listener=None)
        context: Any = FakeContext()
        assert recommendations.lambda_handler(event, context)["statusCode"] == 403
        event["requestContext"]["identity"]["userArn"] = "arn:aws:iam::123456789012:role/backend"
        assert recommendations.lambda_handler(event, context)["statusCode"] == 200
    finally:
        handlers.mp.delenv("ACCESS_MODE")
        services.cache_clear()


def test_another_listeners_home_carousel_teaches_the_home_bandit_nothing(handlers: Loaded) -> None:
    """A click on another listener's carousel is stored but neither counted nor logged for the
    bandit's refresh: only the listener a carousel was shown to moves its order."""
    _, answer = call(recommendations, "GET", "/v1/users/victim/home")
    carousel = answer["carousels"][0]
    click = {"event_id": "h1", "user_id": ATTACKER, "type": "click",
             "recommendation_id": carousel["recommendation_id"]}  # fmt: skip
    status, ack = post(ATTACKER, click)
    assert (status, ack["stored"], ack["counted"]) == (200, 1, 0)
    minute = int(time.time() // 60)
    logged = [e for m in (minute - 1, minute) for e in services().store.bandit_log("home", m)]
    assert not [e for e in logged if carousel["recommendation_id"] in e["sk"]]
