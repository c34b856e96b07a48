"""Issue 17, "strict answers": what a tester found against the running API, pinned at the handler
(moto tables with a real batch version, a fake model recording what it is asked).

1. ``"selected_genres": ["jazz"]`` answered 200 with empty lists (the catalogue says "Jazz");
2. ``"region": "US-CA"`` silently became the national chart;
3. ``"answers": {"age": 999}`` reached the model over the validated ``age``;
4. ``PUT /v1/catalog/items/{itemId}/availability`` answered 200 for a song that does not exist.
"""

from __future__ import annotations

import pytest

from lambdas.handlers import catalog, onboarding, recommendations
from lambdas.logic.services import services
from tests.lambdas.api.loaded import ONBOARDING, Loaded, call, user_with

pytestmark = pytest.mark.slow  # the session's batch versions; `handlers`: conftest.py


@pytest.fixture
def asked(handlers: Loaded) -> list[dict]:
    """What the model is asked during the test."""
    handlers.model.asked.clear()
    return handlers.model.asked


def test_a_genre_in_lower_case_is_the_catalogues_genre_with_content(handlers, asked):
    body = {"user_id": user_with("model"), "region": "us-tx", "selected_genres": ["jazz"]}
    status, answer = call(onboarding, "POST", ONBOARDING, body)
    assert status == 200, answer
    assert asked[0]["selected_genres"] == ["Jazz"]
    assert answer["stations"]
    assert answer["songs"]
    assert answer["artists"]
    status, answer = call(onboarding, "POST", ONBOARDING, {"selected_genres": ["jazzz"]})
    assert (status, answer["code"], answer["field"]) == (
        400,
        "invalid_request",
        "selected_genres.0",
    )
    assert "Jazz" in answer["message"]


def test_a_region_in_upper_case_is_that_region_not_the_national_chart(handlers, asked):
    body = {"user_id": user_with("model"), "region": "US-CA", "selected_genres": ["Rock"]}
    status, answer = call(onboarding, "POST", ONBOARDING, body)
    assert status == 200, answer
    assert answer["region"] == "us-ca"
    assert asked[0]["region"] == "us-ca"
    status, answer = call(onboarding, "POST", ONBOARDING, {"region": "US-XX"})
    assert (status, answer["field"]) == (400, "region")
    # a viewer country the catalogue has no region for: the national chart, but said so
    status, answer = call(onboarding, "POST", ONBOARDING, {"selected_genres": ["Rock"]},
                          headers={"CloudFront-Viewer-Country": "US"})  # fmt: skip
    assert (status, answer["region"]) == (200, "*")
    assert [w["field"] for w in answer["warnings"]] == ["region"]


def test_answers_cannot_override_the_validated_fields(handlers, asked):
    body = {"user_id": user_with("model"), "age": 30, "answers": {"age": 999}}
    status, error = call(onboarding, "POST", ONBOARDING, body)
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "answers.age")
    assert "top-level field" in error["message"]
    for key, value in (
        ("region", "us-ca"),
        ("selected_genres", "Rock"),
        ("user_id", "x"),
        ("install_id", "x"),
        ("limit", 50),
        ("gender", "m"),
        ("instances", 1),
    ):
        status, error = call(onboarding, "POST", ONBOARDING, {"answers": {key: value}})
        assert (status, error["field"]) == (400, f"answers.{key}")  # fmt: skip
    assert asked == []  # nothing reached the model


def test_availability_of_a_song_that_does_not_exist_is_a_404(handlers):
    status, error = call(catalog, "PUT", "/v1/catalog/items/ghost-song/availability",
                         {"available": False})  # fmt: skip
    assert (status, error["code"], error["field"]) == (404, "not_found", "itemId")
    assert services().store.availability_overrides() == {}


def test_a_region_asked_for_on_a_personal_list_is_matched_or_refused(handlers):
    path = "/v1/users/someone-new/recommendations"
    status, answer = call(recommendations, "GET", path, query="region=US-TX")
    assert (status, answer["source"]) == (200, "regional")
    status, error = call(recommendations, "GET", path, query="region=atlantis")
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "region")
