"""The first selected genre: a feature only where the order of the selections can say
something, encoded the same at training and at serve time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from training.model.feature_table import encode_table, fit_feature_spec, selections_ordered
from training.model.features import FIRST, FeatureSpec, encode_instances

GENRES = ["Jazz", "Pop", "Rock", "Soul"]


def _users(selected):
    n = len(selected)
    return pa.table(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "signup_ts": pa.array(range(n), pa.timestamp("ms")),
            "selected_genres": pa.array(selected, pa.list_(pa.string())),
        }
    )


def test_one_fixed_order_says_nothing_and_a_cycle_says_something():
    sorted_lists = [["Jazz", "Pop"], ["Pop", "Rock", "Soul"], ["Jazz", "Soul"], [], ["Rock"]]
    assert not selections_ordered(_users(sorted_lists).column("selected_genres"), GENRES)
    # not alphabetical but one fixed order (Soul, Rock, Pop, Jazz) for everyone: still nothing
    fixed = [["Soul", "Jazz"], ["Rock", "Pop"], ["Soul", "Rock", "Jazz"]]
    assert not selections_ordered(_users(fixed).column("selected_genres"), GENRES)
    both_ways = [["Jazz", "Pop"], ["Pop", "Jazz"]]
    assert selections_ordered(_users(both_ways).column("selected_genres"), GENRES)
    three_cycle = [["Jazz", "Pop"], ["Pop", "Rock"], ["Rock", "Jazz"]]
    assert selections_ordered(_users(three_cycle).column("selected_genres"), GENRES)
    unknown_and_repeats = [["Jazz", "Polka", "Pop"], ["Pop", "Pop"]]
    assert not selections_ordered(_users(unknown_and_repeats).column("selected_genres"), GENRES)


def _spec(selected, order):
    return fit_feature_spec(_users(selected), GENRES, min_level_count=1, selection_order=order)


def test_the_feature_is_added_when_ordered_or_asked_for():
    ordered = [["Pop", "Jazz"], ["Jazz", "Pop"], ["Rock"]]
    plain = [["Jazz", "Pop"], ["Pop", "Rock"]]
    assert "first_selected_genres" in _spec(ordered, "auto").columns
    assert "first_selected_genres" not in _spec(plain, "auto").columns
    assert "first_selected_genres" in _spec(plain, "yes").columns
    assert "first_selected_genres" not in _spec(ordered, "no").columns
    spec = _spec(ordered, "auto")
    column = spec.columns.index("first_selected_genres")
    assert column in spec.categorical_columns
    block = next(b for b in spec.blocks if b.encoding == FIRST)
    assert block.to_dict()["levels"] == GENRES
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_training_and_serving_encode_the_first_known_genre_alike():
    selected = [["Pop", "Jazz"], ["Polka", "Soul", "Jazz"], [], None, ["Polka"], ["Rock"]]
    spec = _spec([["Pop", "Jazz"], ["Jazz", "Pop"]], "yes")
    column = spec.columns.index("first_selected_genres")
    table = encode_table(spec, _users(selected))
    instances = [{"selected_genres": s} if s is not None else {} for s in selected]
    served = encode_instances(spec, instances)
    np.testing.assert_array_equal(table, served.matrix)
    first = table[:, column]
    np.testing.assert_array_equal(first[[0, 1, 5]], [1.0, 3.0, 2.0])  # Pop, Soul, Rock
    assert np.isnan(first[[2, 3, 4]]).all()
    assert served.warnings[1] == ["selected_genres: unknown value 'Polka' ignored"]  # once
