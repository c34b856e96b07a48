"""The feature specification as stored in the artifact (every field, read back strictly) and the
serve-time encoder on answers of the wrong type, booleans and numbers given for categories."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.model.features import (
    CATEGORICAL,
    COUNT,
    MULTI_HOT,
    NUMERIC,
    FeatureBlock,
    FeatureSpec,
    FeatureSpecError,
    encode_instance_row,
    encode_instances,
)


def _spec() -> FeatureSpec:
    """Built in each test: a spec compiles its encoder when it is made (a module-level one would
    be compiled once, before mutmut switches a mutant on)."""
    return FeatureSpec(
        blocks=(
            FeatureBlock("age", NUMERIC),
            FeatureBlock("gender", CATEGORICAL, ("f", "m")),
            FeatureBlock("picks", MULTI_HOT, ("Jazz", "Música")),
            FeatureBlock("picks", COUNT),
            FeatureBlock("level", CATEGORICAL, ("1", "2")),
            FeatureBlock("premium", NUMERIC),
        ),
        genres=("Jazz", "Música"),
        genre_source="picks",
        ignored={"signed_at": "a timestamp"},
    )


COLUMNS = ["age", "gender", "picks=Jazz", "picks=Música", "n_picks", "level", "premium"]


def test_the_spec_as_a_document():
    assert _spec().to_dict() == {
        "schema_version": 1,
        "genres": ["Jazz", "Música"],
        "genre_source": "picks",
        "features": [
            {
                "source": "age",
                "encoding": "numeric",
                "description": "the value as a float; missing or not a number -> NaN (missing)",
            },
            {
                "source": "gender",
                "encoding": "categorical",
                "levels": ["f", "m"],
                "description": "index of the value in levels; missing or unknown -> NaN (missing)",
            },
            {
                "source": "picks",
                "encoding": "multi_hot",
                "levels": ["Jazz", "Música"],
                "description": "one 0/1 column per level; unknown values are ignored and reported",
            },
            {
                "source": "picks",
                "encoding": "count",
                "description": "number of distinct known levels of the multi-hot source",
            },
            {
                "source": "level",
                "encoding": "categorical",
                "levels": ["1", "2"],
                "description": "index of the value in levels; missing or unknown -> NaN (missing)",
            },
            {
                "source": "premium",
                "encoding": "numeric",
                "description": "the value as a float; missing or not a number -> NaN (missing)",
            },
        ],
        "columns": COLUMNS,
        "categorical_columns": [1, 5],
        "ignored": {"signed_at": "a timestamp"},
        "dtype": "float32",
    }


def test_the_json_is_indented_by_two_and_keeps_non_ascii_text():
    text = _spec().to_json()
    assert '\n  "schema_version": 1,\n  "genres": [\n    "Jazz",\n    "Música"\n  ],' in text
    assert "\\u" not in text
    assert FeatureSpec.from_json(text) == _spec()


def test_a_document_reads_back_with_its_defaults():
    doc = _spec().to_dict()
    assert FeatureSpec.from_dict(doc) == _spec()
    minimal = {
        "schema_version": 1,
        "genres": ["Jazz"],
        "features": [{"source": "age", "encoding": "numeric"}],
    }
    spec = FeatureSpec.from_dict(minimal)
    assert spec.genre_source == "selected_genres"
    assert spec.ignored == {}
    assert spec.schema_version == 1
    odd = FeatureSpec.from_dict({**minimal, "ignored": {"n": 3}, "genres": [7]})
    assert odd.ignored == {"n": "3"}
    assert odd.genres == ("7",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": None}, "feature spec schema version -1; this code reads 1"),
        ({"schema_version": 2}, "feature spec schema version 2; this code reads 1"),
        ({"features": None}, "feature spec without 'features'"),
        ({"genres": None}, "feature spec without 'genres'"),
        ({"columns": ["age"]}, "feature spec 'columns' do not match its feature blocks"),
    ],
)
def test_a_bad_document_is_refused_saying_why(change, message):
    doc = {k: v for k, v in {**_spec().to_dict(), **change}.items() if v is not None}
    with pytest.raises(FeatureSpecError) as info:
        FeatureSpec.from_dict(doc)
    assert str(info.value) == message


def test_a_block_without_its_source_or_encoding_is_refused_saying_which():
    with pytest.raises(FeatureSpecError) as info:
        FeatureBlock.from_dict({"encoding": "numeric"})
    assert str(info.value) == "feature block without 'source': {'encoding': 'numeric'}"
    with pytest.raises(FeatureSpecError) as info:
        FeatureBlock.from_dict({"source": "age"})
    assert str(info.value) == "feature block without 'encoding': {'source': 'age'}"


def test_nothing_answered_is_missing_or_zero():
    row, unknown, warnings = encode_instance_row(_spec(), {})
    assert math.isnan(row[0])
    assert math.isnan(row[1])
    assert row[2:5] == [0.0, 0.0, 0.0]
    assert math.isnan(row[5])
    assert math.isnan(row[6])
    assert (unknown, warnings) == ([], [])


def test_booleans_are_one_and_zero_and_numbers_name_categories():
    row, _, warnings = encode_instance_row(_spec(), {"premium": True, "level": 2, "age": 30})
    assert (row[0], row[5], row[6]) == (30.0, 1.0, 1.0)
    assert warnings == []
    row, _, _ = encode_instance_row(_spec(), {"premium": False, "level": 1})
    assert (row[5], row[6]) == (0.0, 0.0)


def test_picks_of_the_wrong_type_are_ignored_with_a_warning():
    row, unknown, warnings = encode_instance_row(_spec(), {"picks": 5})
    assert row[2:5] == [0.0, 0.0, 0.0]
    assert unknown == []
    assert warnings == ["picks: expected a list of strings; ignored"]
    row, unknown, warnings = encode_instance_row(_spec(), {"picks": ["Música", "Jazz", "Música"]})
    assert row[2:5] == [1.0, 1.0, 2.0]
    assert (unknown, warnings) == ([], [])
    row, _, warnings = encode_instance_row(_spec(), {"picks": "Jazz"})
    assert row[2:5] == [1.0, 0.0, 1.0]
    assert warnings == []


def test_no_instance_is_an_empty_float32_matrix():
    matrix = encode_instances(_spec(), []).matrix
    assert matrix.shape == (0, 7)
    assert matrix.dtype == np.float32
