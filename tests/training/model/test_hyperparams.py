"""Hyperparameters: defaults, conversion, validation naming the field, CLI and JSON parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.model.hyperparams import LGBM_KEYS, HyperparameterError, Hyperparameters
from training.model.labels import LabelWindow


def test_defaults_in_model_json_order():
    doc = Hyperparameters().to_dict()
    assert list(doc)[:4] == ["label_window", "min_plays", "label_events", "split"]
    assert list(doc)[-2:] == ["bootstrap", "segment_bootstrap"]
    assert doc["label_window"] == "30:60"
    assert doc["max_train_users"] == 100_000
    assert doc["learning_rate"] == 0.1  # from training.model.lgbm.DEFAULT_PARAMS
    assert doc["num_leaves"] == 7
    assert len(doc) == 30


def test_strings_become_the_field_types():
    hp = Hyperparameters.from_overrides(
        {"min_plays": "4", "num_leaves": "15.0", "learning_rate": "0.05", "seed": 3}
    )
    assert (hp.min_plays, hp.num_leaves, hp.learning_rate, hp.seed) == (4, 15, 0.05, 3)
    assert isinstance(hp.num_leaves, int)
    assert isinstance(hp.learning_rate, float)


def test_direct_construction_converts_and_validates_too():
    assert Hyperparameters(lambda_l2=2).to_dict()["lambda_l2"] == 2.0
    assert isinstance(Hyperparameters(lambda_l2=2).lambda_l2, float)
    with pytest.raises(HyperparameterError, match="num_boost_round=0"):
        Hyperparameters(num_boost_round=0)


def test_sagemaker_keys_are_ignored():
    overrides = {"sagemaker_program": "train", "_tuning_objective_metric": "hit@3"}
    assert Hyperparameters.from_overrides(overrides) == Hyperparameters()


def test_unknown_keys_are_named():
    with pytest.raises(HyperparameterError, match=r"unknown hyperparameter\(s\) leaves, nope;"):
        Hyperparameters.from_overrides({"nope": 1, "leaves": 2, "seed": 1})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("min_plays", "lots", "int"), ("num_leaves", "2.5", "int"), ("logistic_c", "x", "float")],
)
def test_a_wrong_type_names_the_field(name, value, expected):
    with pytest.raises(HyperparameterError) as error:
        Hyperparameters.from_overrides({name: value})
    assert str(error.value) == f"hyperparameter {name}={value!r}: expected {expected}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("label_window", "9"),
        ("label_window", "60:30"),
        ("label_events", " , "),
        ("split", "stratified"),
        ("test_fraction", "0"),
        ("test_fraction", "1"),
        ("valid_fraction", "1"),
        ("valid_fraction", "-0.1"),
        ("seed", "-1"),
        ("learning_rate", "0"),
        ("num_leaves", "1"),
        ("feature_fraction", "1.5"),
        ("num_boost_round", "0"),
        ("logistic_c", "nan"),
        ("bootstrap", "0"),
    ],
)
def test_an_out_of_range_value_names_the_field(name, value):
    with pytest.raises(HyperparameterError) as error:
        Hyperparameters.from_overrides({name: value})
    assert str(error.value).startswith(f"hyperparameter {name}=")


def test_the_label_window_error_says_the_format():
    with pytest.raises(HyperparameterError, match="START:END"):
        Hyperparameters(label_window="9")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("label_window", "0:30"),
        ("min_plays", 0),
        ("valid_fraction", 0.0),
        ("max_train_users", 0),
        ("logistic_max_train_users", 0),
        ("feature_fraction", 1.0),
        ("num_threads", 0),
    ],
)
def test_boundary_values_are_accepted(name, value):
    assert getattr(Hyperparameters.from_overrides({name: value}), name) == value


def test_window_events_and_lgbm_params():
    hp = Hyperparameters(label_window="15:45.5", label_events="play, like,", num_leaves=31)
    assert hp.window == LabelWindow(15.0, 45.5)
    assert hp.events == ("play", "like")
    params = hp.lgbm_params()
    assert tuple(params) == LGBM_KEYS
    assert params["num_leaves"] == 31
    assert params["max_bin"] == 63


def test_cli_shortcuts_win_over_pairs_and_none_is_not_given():
    hp = Hyperparameters.from_cli(
        ["min_plays=5", "split=random", "seed = 2"],
        {"min_plays": 7, "split": None, "label_window": None},
    )
    assert (hp.min_plays, hp.split, hp.seed, hp.label_window) == (7, "random", 2, "30:60")


def test_cli_pair_without_equals():
    with pytest.raises(HyperparameterError, match="key=value"):
        Hyperparameters.from_cli(["seed"], {})


def test_hyperparameters_json(tmp_path: Path):
    path = tmp_path / "hyperparameters.json"
    assert Hyperparameters.from_json(path) == Hyperparameters()  # no file: the defaults
    path.write_text(json.dumps({"bootstrap": "200", "sagemaker_region": "eu-west-1"}))
    assert Hyperparameters.from_json(path).bootstrap == 200
    path.write_text("[1, 2]")
    with pytest.raises(HyperparameterError, match="expected a JSON object"):
        Hyperparameters.from_json(path)
