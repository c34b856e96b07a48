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
                "dropped_levels": {},
                "description": "index of the value in levels; missing or unknown -> NaN (missing)",
            },
            {
                "source": "picks",
                "encoding": "multi_hot",
                "levels": ["Jazz", "Música"],
                "dropped_levels": {},
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
                "dropped_levels": {},
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
    row, unknown, warnings, _ = encode_instance_row(_spec(), {})
    assert math.isnan(row[0])
    assert math.isnan(row[1])
    assert row[2:5] == [0.0, 0.0, 0.0]
    assert math.isnan(row[5])
    assert math.isnan(row[6])
    assert (unknown, warnings) == ([], [])


def test_booleans_are_one_and_zero_and_numbers_name_categories():
    row, _, warnings, _ = encode_instance_row(_spec(), {"premium": True, "level": 2, "age": 30})
    assert (row[0], row[5], row[6]) == (30.0, 1.0, 1.0)
    assert warnings == []
    row, _, _, _ = encode_instance_row(_spec(), {"premium": False, "level": 1})
    assert (row[5], row[6]) == (0.0, 0.0)


def test_picks_of_the_wrong_type_are_ignored_with_a_warning():
    row, unknown, warnings, _ = encode_instance_row(_spec(), {"picks": 5})
    assert row[2:5] == [0.0, 0.0, 0.0]
    assert unknown == []
    assert warnings == ["picks: expected a list of strings; ignored"]
    row, unknown, warnings, _ = encode_instance_row(
        _spec(), {"picks": ["Música", "Jazz", "Música"]}
    )
    assert row[2:5] == [1.0, 1.0, 2.0]
    assert (unknown, warnings) == ([], [])
    row, _, warnings, _ = encode_instance_row(_spec(), {"picks": "Jazz"})
    assert row[2:5] == [1.0, 0.0, 1.0]
    assert warnings == []


def test_no_instance_is_an_empty_float32_matrix():
    matrix = encode_instances(_spec(), []).matrix
    assert matrix.shape == (0, 7)
    assert matrix.dtype == np.float32


# --- values dropped when the levels were fitted -------------------------------------------------


def _spec_with_dropped() -> FeatureSpec:
    """A zip prefix with one level, two values seen too rarely and one beyond ``max_levels``;
    multi-hot tags with a rare value; a region of which the rarest values were not kept."""
    return FeatureSpec(
        blocks=(
            FeatureBlock("zip_prefix", CATEGORICAL, ("100",), (("555", 9), ("123", 3), ("7", 1))),
            FeatureBlock("picks", MULTI_HOT, ("Jazz",)),
            FeatureBlock("picks", COUNT),
            FeatureBlock("tags", MULTI_HOT, ("calm",), (("loud", 2),)),
            FeatureBlock("region", CATEGORICAL, ("eu",), (("us", 4),), dropped_omitted=10),
        ),
        genres=("Jazz",),
        genre_source="picks",
        min_level_count=5,
    )


def test_a_value_seen_too_rarely_is_a_rare_note_with_its_count_not_a_warning():
    row, unknown, warnings, rare = encode_instance_row(
        _spec_with_dropped(), {"zip_prefix": "123", "tags": ["loud", "calm"]}
    )
    assert math.isnan(row[0])
    assert row[3] == 1.0  # tags=calm
    assert (unknown, warnings) == ([], [])
    assert [note.note for note in rare] == [
        "zip_prefix: '123' seen 3 times in training, fewer than the minimum 5: treated as missing",
        "tags: 'loud' seen 2 times in training, fewer than the minimum 5: ignored",
    ]
    assert [(note.key, note.value, note.seen) for note in rare] == [
        ("zip_prefix", "123", 3),
        ("tags", "loud", 2),
    ]


def test_a_number_given_for_a_rare_category_is_looked_up_as_its_text():
    _, _, warnings, rare = encode_instance_row(_spec_with_dropped(), {"zip_prefix": 7})
    assert warnings == []
    assert rare[0].note == (
        "zip_prefix: 7 seen 1 times in training, fewer than the minimum 5: treated as missing"
    )
    assert rare[0].value == "7"


def test_a_value_beyond_max_levels_says_so():
    _, _, warnings, rare = encode_instance_row(_spec_with_dropped(), {"zip_prefix": "555"})
    assert warnings == []
    assert [note.note for note in rare] == [
        "zip_prefix: '555' seen 9 times in training, but only the 1 most frequent values are "
        "kept: treated as missing"
    ]


def test_a_value_never_seen_is_a_warning_saying_so():
    _, unknown, warnings, rare = encode_instance_row(
        _spec_with_dropped(), {"zip_prefix": "999", "tags": ["odd"], "picks": ["Polka"]}
    )
    assert rare == []
    assert unknown == ["Polka"]
    assert warnings == [
        "zip_prefix: '999' never seen in training: treated as missing",
        "picks: unknown value 'Polka' ignored",
        "tags: 'odd' never seen in training: ignored",
    ]


def test_when_the_rarest_values_were_not_remembered_the_warning_says_it_cannot_tell():
    _, _, warnings, rare = encode_instance_row(_spec_with_dropped(), {"region": "mars"})
    assert rare == []
    assert warnings == [
        "region: 'mars' never seen in training, or seen at most 4 times (the model remembers "
        "only the 1 most frequent of the values it dropped): treated as missing"
    ]


def test_encode_instances_keeps_rare_notes_apart_from_warnings_per_instance():
    encoded = encode_instances(
        _spec_with_dropped(), [{"zip_prefix": "123"}, {"zip_prefix": "999"}, {}]
    )
    assert [[note.value for note in notes] for notes in encoded.rare] == [["123"], [], []]
    assert encoded.warnings == [
        [],
        ["zip_prefix: '999' never seen in training: treated as missing"],
        [],
    ]


def test_dropped_levels_round_trip_through_the_document():
    spec = _spec_with_dropped()
    doc = spec.to_dict()
    assert doc["min_level_count"] == 5
    assert doc["features"][0]["dropped_levels"] == {"555": 9, "123": 3, "7": 1}
    assert list(doc["features"][0]["dropped_levels"]) == ["555", "123", "7"]
    assert "dropped_levels_omitted" not in doc["features"][0]
    assert doc["features"][4]["dropped_levels_omitted"] == 10
    assert "dropped_levels" not in doc["features"][2]  # a count block
    assert FeatureSpec.from_json(spec.to_json()) == spec


def test_a_document_written_before_dropped_levels_were_kept_still_encodes():
    doc = _spec_with_dropped().to_dict()
    del doc["min_level_count"]
    for block in doc["features"]:
        block.pop("dropped_levels", None)
        block.pop("dropped_levels_omitted", None)
    old = FeatureSpec.from_dict(doc)
    assert old.min_level_count is None
    assert all(block.dropped == () for block in old.blocks)
    assert "min_level_count" not in old.to_dict()
    _, _, warnings, rare = encode_instance_row(old, {"zip_prefix": "123", "region": "eu"})
    assert rare == []
    assert warnings == ["zip_prefix: '123' never seen in training: treated as missing"]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"source": "z", "encoding": "categorical", "dropped_levels": ["a"]},
            "z: dropped_levels must map values to times seen",
        ),
        (
            {"source": "z", "encoding": "categorical", "dropped_levels": {"a": "often"}},
            "z: dropped_levels must map values to times seen",
        ),
        (
            {"source": "z", "encoding": "numeric", "dropped_levels": {"a": 1}},
            "z: numeric block with dropped levels",
        ),
        ({"source": "z", "encoding": "embedding"}, "z: unknown encoding 'embedding'"),
    ],
)
def test_bad_dropped_levels_are_refused_saying_why(block, message):
    with pytest.raises(FeatureSpecError) as info:
        FeatureBlock.from_dict(block)
    assert str(info.value) == message


def test_dropped_levels_need_the_minimum_they_were_dropped_for():
    with pytest.raises(FeatureSpecError) as info:
        FeatureSpec(blocks=(FeatureBlock("z", CATEGORICAL, ("a",), (("b", 1),)),), genres=())
    assert str(info.value) == "z: dropped levels without min_level_count"
