"""Onboarding answers checked at the handler against the batch version's vocabulary (moto tables
with batch version v1, a fake model recording what it is asked), and the availability 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.handlers import catalog, onboarding
from lambdas.logic.services import services
from lambdas.store import keys
from tests.lambdas.api.loaded import (
    ONBOARDING,
    FakeModel,
    Loaded,
    call,
    catalog_records,
    loaded,
    the_vocabulary,
    user_with,
    without_vocabulary,
)

pytestmark = pytest.mark.slow  # the session's batch versions


@pytest.fixture(scope="module")
def stack(batch_root: Path) -> Iterator[Loaded]:
    with loaded(batch_root / "v1", FakeModel(["Jazz", "Rock", "Country"])) as found:
        yield found


@pytest.fixture
def model(stack: Loaded) -> FakeModel:
    stack.model.asked.clear()
    return stack.model


def onboard(body: dict, **kwargs) -> tuple[int, dict]:
    return call(onboarding, "POST", ONBOARDING, body, **kwargs)


def test_the_loaded_version_carries_its_vocabulary(stack):
    vocab = the_vocabulary(stack.version_dir)
    assert "Jazz" in vocab["genres"]
    assert "us-ca" in vocab["regions"]
    assert "*" not in vocab["regions"]


def test_genres_in_any_case_reach_the_model_and_the_charts_by_their_canonical_name(stack, model):
    user = user_with("model")
    body = {"user_id": user, "region": "US-CA", "selected_genres": [" jazz", "ROCK", "Jazz"]}
    status, answer = onboard(body)
    assert status == 200, answer
    [asked] = model.asked
    assert (asked["selected_genres"], asked["region"]) == (["Jazz", "Rock"], "us-ca")
    assert answer["region"] == "us-ca"
    assert answer["warnings"] == []
    assert answer["stations"]
    assert answer["songs"]
    assert answer["artists"]
    assert {s["genre"] for s in answer["stations"]} <= {"Jazz", "Rock", "Country"}
    profile = services().store.profile(user)
    assert profile is not None
    assert (profile["selected_genres"], profile["region"]) == (["Jazz", "Rock"], "us-ca")


def test_the_rules_variant_ranks_the_canonical_genres(stack, model):
    body = {"user_id": user_with("rules"), "selected_genres": ["jazz"]}
    status, answer = onboard(body)
    assert status == 200, answer
    assert answer["source"] == "rules"
    assert [g["genre"] for g in answer["genres"]] == ["Jazz"]
    assert answer["stations"][0]["genre"] == "Jazz"
    assert model.asked == []


def test_an_unknown_genre_is_a_400_naming_its_place_and_the_valid_genres(stack, model):
    status, error = onboard({"selected_genres": ["Rock", "jaz"]})
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "selected_genres.1")
    assert error["message"].startswith("selected_genres.1: 'jaz'")
    for genre in the_vocabulary(stack.version_dir)["genres"]:
        assert genre in error["message"]
    assert model.asked == []


def test_an_unknown_body_region_is_a_400_listing_the_regions_of_its_country(stack, model):
    status, error = onboard({"region": "us-zz", "selected_genres": ["Rock"]})
    assert (status, error["code"], error["field"]) == (400, "invalid_request", "region")
    assert "us-ca" in error["message"]
    assert "br-" not in error["message"]
    status, error = onboard({"region": "atlantis"})
    assert (status, error["field"]) == (400, "region")
    regions = the_vocabulary(stack.version_dir)["regions"]
    assert f"{len(regions)} in all" in error["message"]
    assert model.asked == []


def test_a_body_region_of_star_is_the_national_chart(stack):
    status, answer = onboard({"region": "*", "selected_genres": ["Rock"]})
    assert (status, answer["region"], answer["warnings"]) == (200, "*", [])


def test_an_unknown_viewer_country_is_the_national_chart_with_a_warning(stack, model):
    user = user_with("model")
    body = {"user_id": user, "selected_genres": ["rock"]}
    status, answer = onboard(body, headers={"CloudFront-Viewer-Country": "US"})
    assert status == 200, answer
    assert answer["region"] == "*"
    [warning] = answer["warnings"]
    assert warning["field"] == "region"
    assert "'us'" in warning["message"]
    assert "CloudFront-Viewer-Country" in warning["message"]
    assert model.asked[0]["region"] == "*"
    assert answer["stations"]
    assert answer["songs"]


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("age", "top-level field 'age'"),
        ("Region", "top-level field 'region'"),
        ("selected_genres", "top-level field"),
        ("user_id", "top-level field"),
        ("install_id", "top-level field"),
        ("limit", "top-level field"),
        ("gender", "top-level field"),
        ("instances", "reserves"),
        ("top_k", "reserves"),
    ],
)
def test_an_answer_named_like_a_validated_field_is_a_400(stack, model, key, hint):
    status, error = onboard({"age": 30, "answers": {"pet": "cat", key: 1}})
    assert (status, error["code"], error["field"]) == (400, "invalid_request", f"answers.{key}")
    assert hint in error["message"]
    assert model.asked == []


def test_free_answers_still_reach_the_model(stack, model):
    body = {"user_id": user_with("model"), "age": 30, "answers": {"occupation": "student"}}
    status, _ = onboard(body)
    assert status == 200
    assert model.asked[0]["occupation"] == "student"
    assert model.asked[0]["age"] == 30


def test_a_version_without_a_vocabulary_is_not_checked(stack, model, tmp_path):
    """A version written before the vocabulary record: answers pass as given (as they did)."""
    from lambdas.store.batch_source import BatchSource
    from lambdas.store.loader import load_version

    old = without_vocabulary(stack.version_dir, tmp_path / "old")
    assert not [r for r in catalog_records(old) if r["kind"] == "vocabulary"]
    pointer = load_version(BatchSource(str(old)), stack.tables, progress=False)
    try:
        assert pointer["version"] == "old"
        status, answer = onboard({"region": "nowhere", "selected_genres": ["jazz"]})
        assert status == 200, answer
        assert (answer["region"], answer["warnings"], answer["batch_version"]) == (
            "nowhere",
            [],
            "old",
        )
        status, error = onboard({"answers": {"age": 999}})  # never allowed, vocabulary or not
        assert (status, error["field"]) == (400, "answers.age")
    finally:
        stack.tables.state.put_item(Item={**keys.ACTIVE, "version": "v1", "previous": None})


def test_availability_of_an_unknown_song_is_a_404_and_writes_nothing(stack):
    path = "/v1/catalog/items/{}/availability"
    status, error = call(catalog, "PUT", path.format("no-such-song"), {"available": False})
    assert (status, error["code"], error["field"]) == (404, "not_found", "itemId")
    assert "'no-such-song'" in error["message"]
    assert "v1" in error["message"]
    assert services().store.availability_overrides() == {}
    song = next(r["id"] for r in catalog_records(stack.version_dir) if r["kind"] == "item")
    status, ack = call(catalog, "PUT", path.format(song), {"available": True})
    assert (status, ack["item_id"]) == (200, song)
    artist = next(r["id"] for r in catalog_records(stack.version_dir) if r["kind"] == "artist")
    status, error = call(catalog, "PUT", path.format(artist), {"available": False})
    assert (status, error["field"]) == (404, "itemId")  # an artist is no song
    stack.tables.state.delete_item(Key=keys.availability(song))


def test_availability_before_the_first_load_is_taken_unchecked(stack):
    pointer = stack.tables.state.get_item(Key=keys.ACTIVE)["Item"]
    stack.tables.state.delete_item(Key=keys.ACTIVE)
    try:
        status, ack = call(
            catalog, "PUT", "/v1/catalog/items/early-song/availability", {"available": False}
        )
        assert (status, ack["model_version"]) == (200, "none")
    finally:
        stack.tables.state.delete_item(Key=keys.availability("early-song"))
        stack.tables.state.put_item(Item=pointer)


def test_onboarding_acts_for_the_tokens_listener_and_records_its_answer(stack):
    user = user_with("model")
    status, error = onboard({"user_id": user, "selected_genres": ["Rock"]}, listener="someone")
    assert (status, error["code"], error["field"]) == (403, "forbidden", "user_id")
    status, answer = onboard({"user_id": user, "selected_genres": ["rock"]})
    assert status == 200, answer
    issued = services().store.issued(answer["recommendation_id"])
    assert issued is not None
    assert (issued["user_id"], issued["variant"]) == (user, answer["variant"])
    assert answer["stations"][0]["id"] in issued["items"]
    status, answer = onboard({"selected_genres": ["Rock"]}, listener="app-listener")
    assert status == 200  # no user_id: the answer is the token's listener's
    assert services().store.issued(answer["recommendation_id"])["user_id"] == "app-listener"
