"""Matching onboarding answers to a batch version's vocabulary, and free answers kept from
validated fields (no AWS: a stand-in store)."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.logic.onboarding import MODEL_REQUEST_KEYS, clashing_answers, model_instance
from lambdas.logic.vocabulary import (
    AnswerError,
    Region,
    Vocabulary,
    body_region,
    canonical_genres,
    detected_region,
    listing,
    vocabulary,
)
from lambdas.store import keys

VOCAB = Vocabulary(
    genres=("Hip Hop", "Jazz", "R&B", "Top 40 & Pop"),
    regions=("br-sp", "us-ca", "us-tx"),
)


@pytest.mark.parametrize(
    ("answer", "genre"),
    [("Jazz", "Jazz"), ("jazz", "Jazz"), ("  JAZZ ", "Jazz"), ("hip hop", "Hip Hop"),
     ("r&b", "R&B"), ("top 40 & pop", "Top 40 & Pop"), ("jaz", None), ("", None),
     ("hiphop", None)],
)  # fmt: skip
def test_genres_match_trimmed_in_any_case(answer, genre):
    assert VOCAB.genre(answer) == genre


@pytest.mark.parametrize(
    ("answer", "region"),
    [("us-ca", "us-ca"), ("US-CA", "us-ca"), (" Us-Tx ", "us-tx"), ("*", "*"), (" * ", "*"),
     ("us", None), ("ca", None), ("us_ca", None), ("", None)],
)  # fmt: skip
def test_regions_match_trimmed_in_any_case_and_star_is_national(answer, region):
    assert VOCAB.region(answer) == region


def test_an_exact_name_wins_over_one_that_only_folds_alike():
    vocab = Vocabulary(genres=("rock", "Rock"), regions=())
    assert (vocab.genre("Rock"), vocab.genre("rock"), vocab.genre("ROCK")) == (
        "Rock",
        "rock",
        "rock",
    )


def test_canonical_genres_keep_the_order_once_each():
    assert canonical_genres(VOCAB, ["jazz", "R&B", "JAZZ", "Jazz"]) == ["Jazz", "R&B"]
    assert canonical_genres(VOCAB, []) == []


def test_an_unknown_genre_names_its_place_and_every_valid_genre():
    with pytest.raises(AnswerError) as caught:
        canonical_genres(VOCAB, ["Jazz", "Hip Hop", "Polka"])
    assert caught.value.field == "selected_genres.2"
    message = caught.value.message
    assert message.startswith("selected_genres.2: 'Polka' is not a genre")
    assert "Hip Hop, Jazz, R&B, Top 40 & Pop" in message


def test_without_a_vocabulary_answers_pass_as_given():
    assert canonical_genres(None, ["jazz", "Polka"]) == ["jazz", "Polka"]
    assert body_region(None, "US-CA") == Region("US-CA")
    assert detected_region(None, "us", "the header") == Region("us")


def test_a_body_region_is_canonical_or_a_400_listing_the_regions_of_its_country():
    assert body_region(VOCAB, "US-TX") == Region("us-tx")
    assert body_region(VOCAB, "*") == Region("*")
    with pytest.raises(AnswerError) as caught:
        body_region(VOCAB, "US-NY")
    assert caught.value.field == "region"
    assert "region: 'US-NY' is not a region" in caught.value.message
    assert "us-ca, us-tx" in caught.value.message
    assert "br-sp" not in caught.value.message
    with pytest.raises(AnswerError, match="br-sp, us-ca, us-tx, or leave region out"):
        body_region(VOCAB, "atlantis")


def test_an_unknown_detected_region_is_national_with_a_warning_a_known_one_canonical():
    assert detected_region(VOCAB, "US-CA", "the header") == Region("us-ca")
    found = detected_region(VOCAB, "us", "the CloudFront-Viewer-Country header")
    assert found.name == keys.NATIONAL
    [warning] = found.warnings
    assert warning["field"] == "region"
    assert warning["message"].startswith("region: 'us' (the CloudFront-Viewer-Country header)")
    assert "national chart" in warning["message"]
    assert "3 regions" in warning["message"]


def test_a_long_list_is_shortened_saying_how_many_there_are():
    names = [f"r{i:03d}" for i in range(30)]
    assert listing(names[:3]) == "r000, r001, r002"
    assert listing(names, limit=25) == (
        ", ".join(names[:25]) + ", ... (30 in all; 5 more not shown)"
    )
    assert listing(names[:25], limit=25) == ", ".join(names[:25])


class _Store:
    """Batch records by (family, key, version), as Store.record reads them."""

    def __init__(self, records: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        self.records = records
        self.asked: list[tuple[str, str, str | None]] = []

    def record(self, family: str, key: str, version: str | None = None) -> dict[str, Any] | None:
        self.asked.append((family, key, version))
        return self.records.get((family, key, version or "v1"))


class _Services:
    def __init__(self, store: _Store) -> None:
        self.store = store


def test_the_vocabulary_is_the_catalog_record_of_the_version_or_none():
    record = {"kind": "vocabulary", "id": "onboarding", "genres": ["Jazz"], "regions": ["us-tx"]}
    store = _Store({("catalog", "vocabulary#onboarding", "v2"): record})
    svc: Any = _Services(store)
    assert vocabulary(svc, "v2") == Vocabulary(("Jazz",), ("us-tx",))
    assert vocabulary(svc, "v1") is None  # written before the record existed
    assert store.asked == [
        ("catalog", "vocabulary#onboarding", "v2"),
        ("catalog", "vocabulary#onboarding", "v1"),
    ]
    assert keys.record_key("catalog", record) == "vocabulary#onboarding"  # where the loader puts it


# free answers -----------------------------------------------------------------------------------

FIELDS = ("user_id", "install_id", "age", "gender", "region", "selected_genres", "limit")


def test_answers_named_like_a_field_or_a_model_request_key_clash_in_any_case():
    answers = {"pet": 1, "age": 999, " Region ": "x", "TOP_K": 9, "instances": [], "ages": 3}
    assert clashing_answers(answers, FIELDS) == ["age", " Region ", "TOP_K", "instances"]
    assert clashing_answers({"occupation": "student"}, FIELDS) == []
    assert set(MODEL_REQUEST_KEYS) == {"instances", "top_k"}


def test_validated_fields_always_win_over_free_answers():
    validated = {"age": 24, "gender": None, "region": "us-tx", "selected_genres": ["Jazz"]}
    answers = {"age": 999, "gender": "m", "selected_genres": ["Polka"], "occupation": "student"}
    assert model_instance(validated, answers) == {**validated, "occupation": "student"}
