"""The training stages on six hand-made users, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import Lift
from training.model.gate import PREVIOUS
from training.model.hyperparams import Hyperparameters
from training.model.labels import DAY_MS, Labels, WindowCounts
from training.model.splits import Split
from training.model.stages import (
    DataError,
    Evaluation,
    Labelled,
    Source,
    SplitData,
    baseline_popularity,
    check_labels,
    check_training_classes,
    encode_users,
    evaluate,
    gate_verdict,
    listening,
    logistic_rows,
    segments_of_test_users,
    split_users,
    training_data,
)

GENRES = ["Jazz", "Pop", "Rock"]
#: Window plays per user (rows u0..u5) and genre.
COUNTS = np.array([[9, 9, 9], [0, 4, 0], [0, 0, 2], [1, 1, 1], [2, 3, 1], [0, 5, 0]], np.int32)
#: Test users u0, u3, u5; fitting users u1, u2; validation user u4.
SPLIT = Split("time", train=np.array([1, 2]), valid=np.array([4]), test=np.array([0, 3, 5]))
HP = Hyperparameters(min_level_count=1, bootstrap=20, segment_bootstrap=10)


def _source() -> Source:
    users = pa.table(
        {
            "user_id": [f"u{i}" for i in range(6)],
            "signup_ts": pa.array([i * DAY_MS for i in range(6)], pa.timestamp("ms")),
            "age": pa.array([20, 30, None, 40, 70, 16], pa.int32()),
            "gender": ["f", "m", "f", None, "m", "f"],
            "region": ["r1", "r1", "r2", "r2", "r3", "r9"],
            "selected_genres": [["Jazz"], ["Pop", "Rock"], [], GENRES, ["Rock"], ["Pop"]],
        }
    )
    items = pa.table({"item_id": ["i1"], "genre": ["Jazz"]})
    return Source(users, items, GENRES, np.arange(6, dtype=np.int64) * DAY_MS)


def _labels(label: list[int], rows: list[int] | None = None) -> Labels:
    rows = list(range(len(label))) if rows is None else rows
    return Labels(np.array(rows, np.int64), np.array(label, np.int64), 6, 0, 0)


def _labelled() -> Labelled:
    counts = WindowCounts(COUNTS, data_end_ms=100 * DAY_MS, n_interactions=77, n_unknown_items=0)
    return Labelled(counts, _labels([0, 1, 2, 0, 1, 2]))


def _data() -> SplitData:
    return encode_users(_source(), _labelled().labels, SPLIT, HP)


# --- labels and split -------------------------------------------------------------------------


def test_no_labels_says_why_and_what_to_try():
    empty = Labels(np.zeros(0, np.int64), np.zeros(0, np.int64), 1200, 200, 1000)
    with pytest.raises(DataError) as error:
        check_labels(empty, Hyperparameters())
    assert str(error.value) == (
        "no labels: no user has at least 3 plays in days 30:60 after signup (1,200 users; "
        "200 whose window is not over by the end of the data, 1,000 with too few plays); "
        "try another --label-window or --hp min_plays=..."
    )


def test_labels_need_two_classes_and_ten_users():
    with pytest.raises(DataError, match="one class only: all 12 labelled users"):
        check_labels(_labels([1] * 12), HP)
    with pytest.raises(DataError, match="only 9 labelled users"):
        check_labels(_labels([0, 1] * 4 + [0]), HP)
    check_labels(_labels([0, 1] * 5), HP)  # ten users, two classes: enough


def test_time_split_tests_the_latest_signups_of_the_labelled_users():
    source = _source()
    signups = np.array([0, 500, 100, 300, 200, 400]) * DAY_MS
    source = Source(source.users, source.items, GENRES, signups)
    labels = _labels([0, 1, 2, 1], rows=[1, 3, 4, 5])  # signups 500, 300, 200, 400
    hp = Hyperparameters(test_fraction=0.25, valid_fraction=0.0, max_train_users=0)
    split = split_users(source, labels, hp)
    assert split.test.tolist() == [0]  # position 0 is user row 1, the latest signup
    assert split.train.tolist() == [1, 2, 3]
    assert split.valid.tolist() == []


def test_split_refuses_one_class_among_fitting_users():
    labels = _labels([2, 2, 2, 0], rows=[1, 3, 4, 5])  # u5, the latest signup, is the test user
    hp = Hyperparameters(test_fraction=0.25, valid_fraction=0.0)
    with pytest.raises(DataError, match=r"same top genre \(Rock\)"):
        split_users(_source(), labels, hp)


def test_training_classes():
    with pytest.raises(DataError, match="no fitting users"):
        check_training_classes(np.zeros(0, np.int64), GENRES)
    with pytest.raises(DataError, match=r"\(Pop\); nothing to learn"):
        check_training_classes(np.array([1, 1]), GENRES)
    check_training_classes(np.array([0, 2]), GENRES)


# --- features and models ----------------------------------------------------------------------


def test_spec_is_fitted_on_training_users_only():
    data = _data()
    assert data.users.column("user_id").to_pylist() == [f"u{i}" for i in range(6)]
    region, gender = data.spec.blocks[2], data.spec.blocks[1]
    assert region.levels == ("r1", "r2", "r3")  # u1, u2, u4 train; r9 is a test user's only
    assert gender.levels == ("f", "m")
    nan = np.nan
    expected = [
        [20, 0, 0, 1, 0, 0, 1],  # u0: f, r1, Jazz
        [40, nan, 1, 1, 1, 1, 3],  # u3: no gender, r2, all three
        [16, 0, nan, 0, 1, 0, 1],  # u5: f, r9 unknown, Pop
    ]
    np.testing.assert_array_equal(data.x[SPLIT.test], np.array(expected, np.float32))
    np.testing.assert_array_equal(data.test_selected_genres(), [[1, 0, 0], [1, 1, 1], [0, 1, 0]])
    assert data.train_positions.tolist() == [1, 2, 4]


def test_popularity_counts_training_users_only():
    popularity = baseline_popularity(_data(), _labelled())
    # labels of u1, u2, u4: Pop, Rock, Pop; their plays [0,4,0] + [0,0,2] + [2,3,1] = [2, 7, 3]
    expected = np.array([0, 2 / 3, 1 / 3]) + 1e-6 * np.array([2, 7, 3]) / 12
    np.testing.assert_allclose(popularity, expected, rtol=0, atol=1e-15)


def test_logistic_rows_are_capped_by_a_seeded_sample():
    fit = np.arange(10, 20)
    assert logistic_rows(fit, 0, seed=7) is fit
    assert logistic_rows(fit, 10, seed=7) is fit
    sample = logistic_rows(fit, 4, seed=7)
    assert len(sample) == 4
    assert len(set(sample.tolist())) == 4
    assert set(sample.tolist()) <= set(fit.tolist())
    assert sample.tolist() == sorted(sample.tolist())
    np.testing.assert_array_equal(sample, logistic_rows(fit, 4, seed=7))


# --- evaluation and gate ----------------------------------------------------------------------

#: Scores of the three test users (labels Jazz, Jazz, Rock) over Jazz, Pop, Rock.
SCORES = {
    RULE: np.array([[0.1, 0.2, 0.7], [0.3, 0.2, 0.1], [0.3, 0.2, 0.1]]),  # ranks 3, 1, 3
    GLOBAL: np.array([[0.5, 0.3, 0.2]] * 3),  # ranks 1, 1, 3
    "logistic": np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.5, 0.3, 0.2]]),  # ranks 2, 1, 3
    "lightgbm": np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]]),  # ranks 1, 1, 1
}


def test_segments_of_the_test_users():
    segments = segments_of_test_users(_data())
    assert {k: v.tolist() for k, v in segments.items()} == {
        "age band": ["18-24", "35-44", "<18"],
        "gender": ["f", "unknown", "f"],
        "selected genres": ["1", "3", "1"],
        "region group": ["r1", "r2", "r9"],
    }


def test_evaluate_metrics_and_lifts():
    evaluated = evaluate(_data(), SCORES, HP, previous={"model_version": "v0"})
    assert evaluated.previous == {"model_version": "v0"}
    m = evaluated.metrics
    assert list(m) == [RULE, GLOBAL, "logistic", "lightgbm"]
    assert m["lightgbm"] == {"hit@1": 1.0, "hit@3": 1.0, "mrr": 1.0}
    assert m["logistic"] == pytest.approx({"hit@1": 1 / 3, "hit@3": 1.0, "mrr": 11 / 18})
    assert m[RULE] == pytest.approx({"hit@1": 1 / 3, "hit@3": 1.0, "mrr": 5 / 9})
    assert m[GLOBAL] == pytest.approx({"hit@1": 2 / 3, "hit@3": 1.0, "mrr": 7 / 9})
    pairs = [(lf.model, lf.baseline) for lf in evaluated.lifts if lf.metric == "hit@1"]
    assert pairs == [
        ("lightgbm", RULE),
        ("lightgbm", GLOBAL),
        ("logistic", RULE),
        ("logistic", GLOBAL),
        (RULE, GLOBAL),
    ]
    first = evaluated.lifts[0]
    assert (first.model, first.baseline, first.metric) == ("lightgbm", RULE, "hit@1")
    assert (first.lift, first.diff) == pytest.approx((2.0, 2 / 3))  # 1 over 1/3


def test_evaluate_compares_with_the_previous_model_when_scored():
    scores = {**SCORES, PREVIOUS: SCORES[GLOBAL]}
    evaluated = evaluate(_data(), scores, HP)
    baselines = {lf.baseline for lf in evaluated.lifts if lf.model == "lightgbm"}
    assert baselines == {RULE, GLOBAL, PREVIOUS}
    assert {lf.model for lf in evaluated.lifts if lf.baseline == PREVIOUS} == {
        "lightgbm",
        "logistic",
        RULE,
    }


def test_evaluate_segment_rows():
    rows = evaluate(_data(), SCORES, HP).segments
    assert [(r["dimension"], r["segment"], r["n_users"]) for r in rows] == [
        ("age band", "<18", 1),
        ("age band", "18-24", 1),
        ("age band", "35-44", 1),
        ("gender", "f", 2),
        ("gender", "unknown", 1),
        ("selected genres", "1", 2),
        ("selected genres", "3", 1),
        ("region group", "r1", 1),
        ("region group", "r2", 1),
        ("region group", "r9", 1),
    ]
    women = rows[3]["models"]  # u0 and u5: logistic ranks 2 and 3, rule ranks 3 and 3
    assert women["logistic"]["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert women[RULE]["hit@1"] == 0.0


def _lift(baseline: str, metric: str, model_value: float, base: float, high: float) -> Lift:
    diff = model_value - base
    return Lift(
        "lightgbm", baseline, metric, model_value, base,
        diff / base, 0.0, 0.0, diff, diff - 0.05, high,
    )  # fmt: skip


def _evaluation(lifts: list[Lift], models: list[str]) -> Evaluation:
    return Evaluation({m: {} for m in models}, {}, lifts, [])


LIFTS = [
    _lift(b, m, 0.6, v, 0.25) for b, v in ((RULE, 0.5), (GLOBAL, 0.4)) for m in ("hit@1", "hit@3")
]


def test_gate_passes_without_a_previous_model():
    gate = gate_verdict(_evaluation(LIFTS, ["lightgbm", RULE, GLOBAL]))
    assert gate.passed
    assert [c["check"] for c in gate.checks] == [
        "hit@1 not worse than the best baseline",
        "hit@3 not worse than the best baseline",
        "better than the best baseline beyond noise",
    ]


def test_gate_checks_the_previous_model_when_it_was_scored():
    models = ["lightgbm", RULE, GLOBAL, PREVIOUS]
    missing = gate_verdict(_evaluation(LIFTS, models))
    assert not missing.passed
    assert "hit@1 not worse than the previous model failed: no hit@1 comparison" in missing.reason
    worse = [_lift(PREVIOUS, m, 0.6, 0.65, -0.01) for m in ("hit@1", "hit@3")]
    rejected = gate_verdict(_evaluation([*LIFTS, *worse], models))
    assert not rejected.passed
    assert "hit@3 not worse than the previous model failed" in rejected.reason
    noise = [_lift(PREVIOUS, m, 0.6, 0.62, 0.01) for m in ("hit@1", "hit@3")]
    assert gate_verdict(_evaluation([*LIFTS, *noise], models)).passed


# --- summaries --------------------------------------------------------------------------------


def test_training_data_summary():
    doc = training_data(_source().signup_ms, _labelled(), SPLIT, HP)
    assert doc == {
        "label_window_days": [30.0, 60.0],
        "label_events": ["play"],
        "min_plays": 3,
        "train_signups": ["1970-01-02T00:00:00Z", "1970-01-05T00:00:00Z"],  # u1, u2, u4
        "test_signups": ["1970-01-01T00:00:00Z", "1970-01-06T00:00:00Z"],  # u0, u3, u5
        "data_end": "1970-04-11T00:00:00Z",  # day 100
        "interactions": 77,
        "labels": {
            "users": 6,
            "labelled": 6,
            "left_out_window_not_over": 0,
            "left_out_too_few_plays": 0,
        },
        "split": {"kind": "time", "train": 2, "valid": 1, "test": 3},
    }


def test_listening_by_gender_and_age_band():
    out = listening(COUNTS, _source().users, np.arange(6), GENRES)
    assert out["genres"] == GENRES
    assert out["gender"] == [
        {"segment": "f", "users": 3, "plays": [9, 14, 11]},  # u0, u2, u5
        {"segment": "m", "users": 2, "plays": [2, 7, 1]},  # u1, u4
        {"segment": "unknown", "users": 1, "plays": [1, 1, 1]},  # u3
    ]
    assert [(r["segment"], r["plays"]) for r in out["age band"]] == [
        ("<18", [0, 5, 0]),
        ("18-24", [9, 9, 9]),
        ("25-34", [0, 4, 0]),
        ("35-44", [1, 1, 1]),
        ("65+", [2, 3, 1]),
        ("unknown", [0, 0, 2]),
    ]
