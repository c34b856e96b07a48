"""The console's admin routes through the client, against a scripted local server: the
operator's ID token (no API key), each route's URL, query and body, the typed answers, and what
is retried: a rollback too, because its ``expected_active`` makes a repeat a 409, not a second
switch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from musicrec_client import (
    NO_RETRIES,
    AuthError,
    ClientError,
    MusicRec,
    OperatorTokenAuth,
    ServerError,
    Timeout,
    ValidationError,
)
from musicrec_client.models import Artist, OnboardingRequest, Song, Station
from pydantic import ValidationError as ModelError

from tests.clients.python.conftest import FAST
from tests.clients.python.fake_api import FakeApi, Reply

NOW = "2026-12-14T09:00:00Z"
STAMPS = ["2026-12-14T08:00:00Z", "2026-12-14T08:01:00Z"]


def series(*values: float | None) -> dict[str, Any]:
    return {"timestamps": STAMPS[: len(values)], "values": list(values)}


TRAFFIC = {
    "generated_at": NOW, "start": STAMPS[0], "end": NOW, "period_s": 60,
    "routes": [{"method": "GET", "path": "/v1/users/{userId}/home", "count": series(3, None),
                "errors_4xx": series(1, None), "errors_5xx": series(0, None),
                "p50_ms": series(12.5, None), "p99_ms": series(80.1, None),
                "totals": {"count": 3, "errors_4xx": 1, "errors_5xx": 0}}],
    "fallback_rate": {"onboarding": series(None, 25.0)},
}  # fmt: skip
EXPERIMENTS = {
    "generated_at": NOW, "start": STAMPS[0], "end": NOW, "period_s": 3600,
    "experiments": [{
        "name": "home", "control": "rules",
        "variants": [
            {"variant": "rules", "impressions": 100, "clicks": 10, "ctr": 0.1, "lift": None,
             "ci_low": None, "ci_high": None, "p_value": None},
            {"variant": "softmax", "impressions": 100, "clicks": 15, "ctr": 0.15, "lift": 0.5,
             "ci_low": -0.1, "ci_high": 1.4, "p_value": 0.3}],
        "series": {"softmax": {"timestamps": STAMPS, "impressions": [50, None],
                               "clicks": [7, None], "ctr": [0.14, None]}},
        "off_policy": {"bandit": "home", "hours": 24, "hours_read": 24.0, "complete": True,
                       "decisions": 40, "targets": []}}],
}  # fmt: skip
KPIS = {
    "generated_at": NOW, "days": 2,
    "plays_from_recommendations": {"total": 5, "by_day": series(2, 3)},
    "follows_from_artists": {"total": 4, "by_day": series(4, 0)},
    "follow_through": {"followers": 4, "followed_another": 3, "rate": 0.75},
}  # fmt: skip
MODELS = {
    "generated_at": NOW,
    "model": {"serving": "onboarding-1", "serving_run_id": "run-1", "endpoint": None,
              "note": "moto has no endpoint"},
    "runs": [{"run_id": "run-1", "started_at": NOW, "finished_at": NOW, "passed": True,
              "reason": "all checks passed", "checks": [{"check": "hit@3", "passed": True}],
              "metrics": {"model": {"hit@3": {"value": 0.4, "low": 0.35, "high": 0.45}}},
              "model_version": "onboarding-1", "complete": True},
             {"run_id": "run-0", "unreadable": True, "note": "not JSON"}],
    "runs_truncated": False,
    "batch": {"active": "b2", "previous": "b1", "switched_at": NOW, "rollback_possible": True,
              "versions": [{"version": "b2", "role": "active", "switched_at": NOW},
                           {"version": "b1", "role": "previous", "loaded": True}]},
    "schedule": {"name": None, "group": None, "expression": None, "timezone": None,
                 "state": None, "next_run": None, "note": "runs start by hand: make retrain"},
}  # fmt: skip
ROLLED_BACK = {"active": "b1", "previous": "b2", "rolled_back_from": "b2", "switched_at": NOW}
CONFLICT = {"code": "conflict", "field": "expected_active",
            "message": "expected_active: the active version is b1; reload and retry"}  # fmt: skip
ONBOARDING_PREVIEW = {
    "generated_at": NOW, "variant": "rules", "assignment": {"by": "preview",
                                                            "unit": "console-preview"},
    "model_version": "rules-1", "batch_version": "b2",
    "genres": [{"genre": "rock", "score": 1.0}], "region": "us-tx", "source": "rules",
    "stations": [{"id": "st1", "score": 1.0, "name": "Rock", "chart": "us-tx#rock"}],
    "songs": [{"id": "s1", "score": 0.9, "title": "One", "chart": "us-tx#rock"}],
    "artists": [{"id": "a1", "score": 0.8, "name": "Band", "chart": "us-tx#rock"}],
    "warnings": [],
    "reasons": {"genres": {"source": "rules", "text": "the rules variant's rule"},
                "stations": {"source": "charts", "charts": ["us-tx#rock"], "text": "charts"},
                "songs": {"source": "charts", "charts": ["us-tx#rock"], "text": "charts"},
                "artists": {"source": "charts", "charts": ["us-tx#rock"], "text": "charts"}},
}  # fmt: skip
LISTENER_PREVIEW = {
    "generated_at": NOW, "user_id": "u/1", "batch_version": "b2",
    "listener": {"known": True, "has_list": True, "onboarded": False, "recent_plays": 3,
                 "days_since_signup": 12.5},
    "home": {"variant": "softmax", "policy": {"name": "softmax", "version": "p1"},
             "carousels": [
                 {"kind": "artists_for_you", "title": "Artists for you", "seed": None,
                  "source": "personal", "items": [{"id": "a1", "score": 0.5, "name": "Band"}],
                  "position": 0, "propensity": 0.6},
                 {"kind": "genre_station", "title": "Stations", "seed": "rock",
                  "source": "regional", "items": [{"id": "st1", "score": 0.4}],
                  "position": 1, "propensity": 0.3}],
             "candidates": ["artists_for_you", "genre_station"], "warnings": []},
    "songs": {"variant": "personal", "source": "personal",
              "items": [{"id": "s1", "score": 0.9, "title": "One", "artist_id": "a1"}]},
    "artists": {"variant": "personal", "source": "personal",
                "items": [{"id": "a1", "score": 0.5, "name": "Band"}]},
}  # fmt: skip


@pytest.fixture
def console(api: FakeApi) -> MusicRec:
    """An operator's client of the scripted server, retrying fast."""
    return MusicRec(api.url, OperatorTokenAuth("operator-token"), timeout=2.0, retry=FAST)


def test_the_operator_token_goes_raw_in_authorization_without_an_api_key(api):
    tokens = iter(["token-1", "token-2"])
    api.reply(Reply(503, {"code": "upstream_unavailable", "message": "CloudWatch"}),
              Reply(200, KPIS))  # fmt: skip
    with MusicRec(api.url, OperatorTokenAuth(lambda: next(tokens)), retry=FAST) as console:
        console.kpis(days=2)
    assert [r.headers["authorization"] for r in api.received] == ["token-1", "token-2"]
    assert not any("x-api-key" in r.headers or "x-admin-key" in r.headers for r in api.received)
    assert "operator-token" not in repr(OperatorTokenAuth("operator-token"))


def test_traffic(api, console):
    api.default = Reply(200, TRAFFIC)
    answer = console.traffic(hours=6, period=300)
    assert api.received[0].target == "/v1/admin/traffic?hours=6&period=300"
    [route] = answer.routes
    assert (route.method, route.totals.count, route.p99_ms.values) == ("GET", 3, [80.1, None])
    assert answer.fallback_rate["onboarding"].values == [None, 25.0]
    console.traffic()
    assert api.received[1].target == "/v1/admin/traffic"  # the API's defaults apply


def test_experiments(api, console):
    api.default = Reply(200, EXPERIMENTS)
    answer = console.experiments(days=3, period=86400, hours=12)
    assert api.received[0].target == "/v1/admin/experiments?days=3&period=86400&hours=12"
    [experiment] = answer.experiments
    control, softmax = experiment.variants
    assert (control.lift, softmax.lift, softmax.ci_high) == (None, 0.5, 1.4)
    assert experiment.series["softmax"].ctr == [0.14, None]
    assert experiment.off_policy is not None
    assert (experiment.off_policy.bandit, experiment.off_policy.complete) == ("home", True)
    assert experiment.off_policy.model_extra == {"decisions": 40, "targets": []}


def test_kpis(api, console):
    api.default = Reply(200, KPIS)
    answer = console.kpis(days=2)
    assert api.received[0].target == "/v1/admin/kpis?days=2"
    assert answer.plays_from_recommendations.by_day.values == [2, 3]
    assert (answer.follow_through.rate, answer.follows_from_artists.total) == (0.75, 4)


def test_models(api, console):
    api.default = Reply(200, MODELS)
    answer = console.models()
    assert (api.received[0].method, api.received[0].target) == ("GET", "/v1/admin/models")
    assert (answer.batch.active, answer.batch.previous, answer.batch.rollback_possible) == (
        "b2", "b1", True
    )  # fmt: skip
    passed, unreadable = answer.runs
    assert (passed.passed, passed.metrics["model"]["hit@3"]["value"]) == (True, 0.4)
    assert (unreadable.unreadable, unreadable.passed, unreadable.metrics) == (True, None, {})
    assert answer.schedule.next_run is None
    assert answer.model.serving == "onboarding-1"


def test_rollback_sends_the_expected_active_version(api, console):
    api.default = Reply(200, ROLLED_BACK)
    answer = console.rollback_batch("b2")
    [received] = api.received
    assert (received.method, received.target) == ("POST", "/v1/admin/batch/rollback")
    assert received.json() == {"expected_active": "b2"}
    assert received.headers["content-type"] == "application/json"
    assert (answer.active, answer.rolled_back_from) == ("b1", "b2")
    with pytest.raises(ModelError):
        console.rollback_batch("")  # refused before sending, as the API refuses it
    assert len(api.received) == 1


def test_a_stale_rollback_is_a_409_conflict_naming_the_field_and_not_retried(api, console):
    api.default = Reply(409, CONFLICT)
    with pytest.raises(ClientError) as caught:
        console.rollback_batch("b2")
    error = caught.value
    assert (error.status, error.code, error.field) == (409, "conflict", "expected_active")
    assert len(api.received) == 1


def test_a_rollback_whose_answer_was_lost_is_retried_with_the_same_expected_version(api):
    # the first attempt's answer never comes in time: the rollback may have landed, and the
    # retry's expected_active makes it a 409 rather than a second switch
    api.reply(Reply(200, ROLLED_BACK, delay_s=1.0), Reply(409, CONFLICT))
    console = MusicRec(api.url, OperatorTokenAuth("t"), timeout=0.3, retry=FAST)
    with console, pytest.raises(ClientError) as caught:
        console.rollback_batch("b2")
    assert caught.value.code == "conflict"
    assert [r.json() for r in api.received] == [{"expected_active": "b2"}] * 2


def test_a_rollback_is_retried_on_503_like_every_call(api, console):
    api.reply(Reply(503, {"code": "upstream_unavailable", "message": "DynamoDB"}),
              Reply(200, ROLLED_BACK))  # fmt: skip
    assert console.rollback_batch("b2").active == "b1"
    assert len(api.received) == 2
    api.reply(Reply(200, ROLLED_BACK, delay_s=1.0))
    once = console.with_options(timeout=0.3, retry=NO_RETRIES)  # a caller that wants no retry
    with pytest.raises(Timeout):
        once.rollback_batch("b1")
    assert len(api.received) == 3


def test_preview_onboarding_takes_a_request_or_its_fields(api, console):
    api.default = Reply(200, ONBOARDING_PREVIEW)
    answer = console.preview_onboarding(age=30, gender="f", selected_genres=["rock"],
                                        variant="rules")  # fmt: skip
    first = api.received[0]
    assert (first.method, first.target) == ("POST", "/v1/admin/preview/onboarding?variant=rules")
    assert first.json() == {"age": 30, "gender": "f", "selected_genres": ["rock"]}
    assert (answer.variant, answer.assignment.by, answer.source) == ("rules", "preview", "rules")
    assert isinstance(answer.stations[0], Station)
    assert isinstance(answer.songs[0], Song)
    assert isinstance(answer.artists[0], Artist)
    assert answer.reasons["stations"].source == "charts"
    assert answer.reasons["songs"].model_extra == {"charts": ["us-tx#rock"]}
    console.preview_onboarding(OnboardingRequest(install_id="i1"))
    assert (api.received[1].target, api.received[1].json()) == (
        "/v1/admin/preview/onboarding", {"install_id": "i1"}
    )  # fmt: skip
    with pytest.raises(TypeError, match="not both"):
        console.preview_onboarding(OnboardingRequest(), age=3)


def test_preview_listener(api, console):
    api.default = Reply(200, LISTENER_PREVIEW)
    answer = console.preview_listener("u/1", limit=5, region="us-tx")
    assert api.received[0].target == "/v1/admin/listeners/u%2F1/preview?limit=5&region=us-tx"
    assert (answer.user_id, answer.listener.known, answer.listener.recent_plays) == (
        "u/1", True, 3
    )  # fmt: skip
    artists, stations = answer.home.carousels
    assert (artists.source, artists.position) == ("personal", 0)
    assert isinstance(artists.items[0], Artist)
    assert isinstance(stations.items[0], Station)
    assert isinstance(answer.songs.items[0], Song)
    assert isinstance(answer.artists.items[0], Artist)
    assert answer.artists.items[0].name == "Band"


def test_a_listener_token_refused_by_the_authoriser_is_an_auth_error(api, console):
    api.default = Reply(401, {"message": "Unauthorized"},
                        {"x-amzn-ErrorType": "UnauthorizedException"})  # fmt: skip
    with pytest.raises(AuthError) as caught:
        console.models()
    assert (caught.value.status, caught.value.code) == (401, "UnauthorizedException")
    assert len(api.received) == 1


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [(400, {"code": "invalid_request", "message": "period: 72 hours of 60 s periods are more "
            "than 1440 points", "field": "period"}, ValidationError),
     (403, {"code": "forbidden", "message": "an operator's token", "field": "Authorization"},
      AuthError),
     (503, {"code": "upstream_unavailable", "message": "CloudWatch GetMetricData failed"},
      ServerError)],
)  # fmt: skip
def test_errors_carry_the_apis_code_message_and_field(api, console, status, body, kind):
    api.default = Reply(status, body)
    with pytest.raises(kind) as caught:
        console.traffic(hours=72)
    error = caught.value
    assert (error.status, error.code, error.message, error.field) == (
        status, body["code"], body["message"], body.get("field")
    )  # fmt: skip


def test_the_admin_routes_wait_longer_unless_told_otherwise(api):
    """Their function may take API Gateway's 29 s: 30 s per attempt, the app routes 10 s; a
    timeout given to the client (or ``with_options``) applies to every route."""
    seen: list[float] = []
    availability = {"item_id": "s1", "available": True, "recommendation_id": "r",
                    "variant": "none", "model_version": "v"}  # fmt: skip
    api.reply(Reply(200, MODELS), Reply(200, availability), Reply(200, MODELS), Reply(200, MODELS))

    def record(request: httpx.Request) -> None:
        seen.append(request.extensions["timeout"]["read"])

    with httpx.Client(event_hooks={"request": [record]}) as http:
        console = MusicRec(api.url, OperatorTokenAuth("t"), http=http)
        console.models()
        console.set_availability("s1", True)
        console.with_options(timeout=5).models()
        MusicRec(api.url, OperatorTokenAuth("t"), timeout=2, http=http).models()
    assert seen == [30.0, 10.0, 5.0, 2.0]
