"""Features: the serve-time encoder matches the table encoder; unknowns; spec round trip."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.data.dataset_io import read_table
from training.model.feature_table import encode_table, fit_feature_spec
from training.model.features import (
    CATEGORICAL,
    COUNT,
    MAX_DROPPED_LEVELS,
    MULTI_HOT,
    NUMERIC,
    FeatureBlock,
    FeatureSpec,
    FeatureSpecError,
    encode_instances,
)

GENRES = ["Jazz", "Pop", "Rock"]


def _users(**extra):
    columns = {
        "user_id": ["a", "b", "c", "d"],
        "age": pa.array([31, None, 20, 64], pa.int32()),
        "gender": ["f", None, "m", "q"],
        "region": ["us-tx", "us-ca", "us-tx", "us-ca"],
        "selected_genres": pa.array(
            [["Jazz", "Rock"], [], ["Rock", "Rock", "Polka"], None], pa.list_(pa.string())
        ),
    }
    columns.update(extra)
    return pa.table(columns)


def test_spec_blocks_and_columns():
    users = _users(occupation=["writer", "x", None, "writer"], hours=[1.5, None, 2.0, 0.0])
    spec = fit_feature_spec(users, GENRES, min_level_count=1)
    assert [(b.source, b.encoding) for b in spec.blocks] == [
        ("age", NUMERIC),
        ("gender", CATEGORICAL),
        ("region", CATEGORICAL),
        ("selected_genres", MULTI_HOT),
        ("selected_genres", COUNT),
        ("occupation", CATEGORICAL),
        ("hours", NUMERIC),
    ]
    assert spec.columns[3:6] == [f"selected_genres={g}" for g in GENRES]
    assert spec.categorical_columns == [1, 2, 7]
    assert spec.blocks[1].levels == ("f", "m", "q")


def test_rare_levels_and_odd_columns_are_left_out():
    users = _users(
        occupation=["writer", "writer", "x", None],
        signed_at=pa.array([1, 2, 3, 4], pa.timestamp("ms")),
        empty=pa.array([None] * 4, pa.float64()),
    )
    spec = fit_feature_spec(users, GENRES, min_level_count=2)
    occupation = next(b for b in spec.blocks if b.source == "occupation")
    assert occupation.levels == ("writer",)
    assert spec.blocks[1].levels == ()  # every gender seen once
    assert set(spec.ignored) == {"signed_at", "empty"}


def test_values_left_out_of_the_levels_are_remembered_with_their_counts():
    users = _users(
        occupation=["writer", "writer", "x", None],
        tags=pa.array([["a", "b"], ["a"], ["c", "b"], ["a"]], pa.list_(pa.string())),
    )
    spec = fit_feature_spec(users, GENRES, min_level_count=2, max_levels=1)
    blocks = {b.source: b for b in spec.blocks if b.encoding != COUNT}
    assert spec.min_level_count == 2
    assert blocks["occupation"].dropped == (("x", 1),)
    assert blocks["gender"].dropped == (("f", 1), ("m", 1), ("q", 1))  # ties by value
    # us-ca and us-tx are both seen twice: the first by value is kept, the other is beyond
    # max_levels
    assert (blocks["region"].levels, blocks["region"].dropped) == (("us-ca",), (("us-tx", 2),))
    assert (blocks["tags"].levels, blocks["tags"].dropped) == (("a",), (("b", 2), ("c", 1)))
    assert blocks["selected_genres"].dropped == ()
    encoded = encode_instances(spec, [{"region": "us-tx", "tags": ["c"], "occupation": "x"}])
    assert encoded.warnings == [[]]
    assert [note.note for note in encoded.rare[0]] == [
        "region: 'us-tx' seen 2 times in training, but only the 1 most frequent values are "
        "kept: treated as missing",
        "occupation: 'x' seen 1 times in training, fewer than the minimum 2: treated as missing",
        "tags: 'c' seen 1 times in training, fewer than the minimum 2: ignored",
    ]


def test_at_most_max_dropped_levels_are_remembered_the_most_frequent_first():
    n = MAX_DROPPED_LEVELS + 5
    values = ["kept"] * 3 + ["often", "often"] + [f"v{i:05d}" for i in range(n - 1)]
    users = pa.table(
        {
            "user_id": [str(i) for i in range(len(values))],
            "selected_genres": pa.array([[]] * len(values), pa.list_(pa.string())),
            "zip_prefix": values,
        }
    )
    spec = fit_feature_spec(users, GENRES, min_level_count=3)
    block = spec.blocks[-1]
    assert block.levels == ("kept",)
    assert len(block.dropped) == MAX_DROPPED_LEVELS
    assert block.dropped[:2] == (("often", 2), ("v00000", 1))
    assert block.dropped_omitted == 5
    assert FeatureSpec.from_json(spec.to_json()) == spec
    encoded = encode_instances(spec, [{"zip_prefix": f"v{n - 2:05d}"}])
    assert encoded.rare == [[]]
    assert encoded.warnings[0] == [
        f"zip_prefix: 'v{n - 2:05d}' never seen in training, or seen at most 1 times (the model "
        f"remembers only the {MAX_DROPPED_LEVELS} most frequent of the values it dropped): "
        "treated as missing"
    ]


def test_batch_and_instance_encoding_are_identical():
    users = _users(occupation=["writer", "x", None, "writer"], hours=[1.5, None, 2.0, 0.0])
    spec = fit_feature_spec(users, GENRES, min_level_count=1)
    batch = encode_table(spec, users)
    single = encode_instances(spec, users.to_pylist())
    assert batch.dtype == single.matrix.dtype == np.float32
    np.testing.assert_array_equal(batch, single.matrix)


def test_tiny_dataset_batch_equals_instances(tiny_dir):
    users = read_table(tiny_dir, "users")
    spec = fit_feature_spec(users, ["Classical", "Hip Hop", "Jazz", "Pop", "Rock"])
    np.testing.assert_array_equal(
        encode_table(spec, users), encode_instances(spec, users.to_pylist()).matrix
    )


_maybe_str = st.one_of(st.none(), st.sampled_from(["f", "m", "x", "zz", ""]))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "age": st.one_of(st.none(), st.integers(0, 120)),
                "gender": _maybe_str,
                "region": st.sampled_from(["r1", "r2", "r3"]),
                "selected_genres": st.lists(st.sampled_from([*GENRES, "Polka", "jazz"])),
                "mood": _maybe_str,
                "score": st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            }
        ),
        min_size=1,
        max_size=30,
    )
)
def test_property_batch_equals_instances(rows):
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("age", pa.int32()),
                ("gender", pa.string()),
                ("region", pa.string()),
                ("selected_genres", pa.list_(pa.string())),
                ("mood", pa.string()),
                ("score", pa.float64()),
            ]
        ),
    )
    spec = fit_feature_spec(table.slice(0, max(1, len(rows) // 2)), GENRES, min_level_count=1)
    np.testing.assert_array_equal(encode_table(spec, table), encode_instances(spec, rows).matrix)


def test_unknown_values_encode_as_missing_and_are_reported():
    spec = fit_feature_spec(_users(), GENRES, min_level_count=1)
    encoded = encode_instances(
        spec,
        [
            {
                "age": 31,
                "gender": "f",
                "region": "mars-1",
                "selected_genres": ["Jazz", "Polka", "Jazz"],
                "not_a_feature": 1,
            },
            {},
            {"age": "old", "selected_genres": "Rock"},
        ],
    )
    row = dict(zip(spec.columns, encoded.matrix[0].tolist(), strict=True))
    assert np.isnan(row["region"])
    assert row["selected_genres=Jazz"] == 1.0
    assert row["n_selected_genres"] == 1.0
    assert encoded.unknown_genres == [["Polka"], [], []]
    assert encoded.warnings[0] == [
        "region: 'mars-1' never seen in training: treated as missing",
        "selected_genres: unknown value 'Polka' ignored",
    ]
    assert encoded.rare == [[], [], []]
    empty = dict(zip(spec.columns, encoded.matrix[1].tolist(), strict=True))
    assert np.isnan(empty["age"])
    assert np.isnan(empty["gender"])
    assert empty["n_selected_genres"] == 0.0
    third = dict(zip(spec.columns, encoded.matrix[2].tolist(), strict=True))
    assert np.isnan(third["age"])
    assert any("expected a number" in w for w in encoded.warnings[2])
    assert third["selected_genres=Rock"] == 1.0


def test_empty_batch_has_the_right_width():
    spec = fit_feature_spec(_users(), GENRES, min_level_count=1)
    assert encode_instances(spec, []).matrix.shape == (0, spec.n_columns)


def test_absent_columns_are_missing_in_both_encoders():
    spec = fit_feature_spec(_users(occupation=["a", "b", "a", "b"]), GENRES, min_level_count=1)
    without = _users()
    np.testing.assert_array_equal(
        encode_table(spec, without), encode_instances(spec, without.to_pylist()).matrix
    )


def test_spec_json_round_trip():
    spec = fit_feature_spec(_users(occupation=["a", "b", "a", "b"]), GENRES, min_level_count=1)
    text = spec.to_json()
    again = FeatureSpec.from_json(text)
    assert again == spec
    assert again.columns == spec.columns
    doc = json.loads(text)
    assert doc["features"][1]["levels"] == ["f", "m", "q"]
    assert "description" in doc["features"][0]
    instance = {"age": 40, "gender": "m", "region": "us-ca", "selected_genres": ["Pop"]}
    np.testing.assert_array_equal(
        encode_instances(spec, [instance]).matrix, encode_instances(again, [instance]).matrix
    )


def test_bad_spec_documents_are_refused():
    doc = fit_feature_spec(_users(), GENRES, min_level_count=1).to_dict()
    with pytest.raises(FeatureSpecError, match="schema version"):
        FeatureSpec.from_dict({**doc, "schema_version": 99})
    with pytest.raises(FeatureSpecError, match="columns"):
        FeatureSpec.from_dict({**doc, "columns": ["x"]})
    with pytest.raises(FeatureSpecError, match="before"):
        FeatureSpec(blocks=(FeatureBlock("g", COUNT),), genres=())
    with pytest.raises(FeatureSpecError, match="encoding"):
        FeatureBlock("g", "embedding")


def test_serve_time_modules_import_only_numpy_and_stdlib():
    code = textwrap.dedent(
        """
        import sys
        import training.model.features
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in
                       ("pandas", "pyarrow", "sklearn", "scipy", "matplotlib", "lightgbm"))
        print(heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
