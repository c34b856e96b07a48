"""The onboarding model trained on the real MovieLens 100K, with the settings of docs/model.md.

The dataset is imported with the project's importer and trained with the trainer's defaults (a
time split). The baselines' figures are then computed here from the imported tables with pandas
(labels, time split, genre popularity, the rule), and LightGBM's from its written artifact through
the serve-time encoder, not from the pipeline's own evaluation code; the paired bootstrap is this
module's own too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from training.data.dataset_io import read_table
from training.data.datasets.movielens import import_movielens
from training.model.artifact import load_artifact
from training.model.features import encode_instances
from training.model.stages import Result
from training.model.train import train

pytestmark = pytest.mark.realdata

#: The defaults of docs/model.md: label window 30:60 days, at least 3 plays, latest 20 % of
#: signups are the test users.
WINDOW_DAYS = (30, 60)
MIN_PLAYS = 3
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Trained:
    data_dir: Path
    model_dir: Path
    code: int
    result: Result


@pytest.fixture(scope="session")
def ml100k_trained(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """MovieLens 100K imported and trained once per session (a few seconds)."""
    root = tmp_path_factory.mktemp("ml100k-model")
    data_dir, model_dir = root / "data", root / "model"
    import_movielens(ml100k_dir, data_dir)
    code, result = train(data_dir, model_dir, progress=False, verbose=False)
    return Trained(data_dir, model_dir, code, result)


@dataclass(frozen=True)
class Cohort:
    users: pd.DataFrame  # the test users' rows of `users`, with their label
    popularity: list[str]  # every genre, most popular among the training users first


def _test_users(data_dir: Path) -> Cohort:
    """Labels, time split and genre popularity, recomputed from the tables with pandas."""
    users = read_table(data_dir, "users").to_pandas()
    items = read_table(data_dir, "items", ["item_id", "genre"]).to_pandas()
    events = read_table(data_dir, "interactions").to_pandas()
    data_end = events["ts"].max()
    start, end = (pd.Timedelta(days=d) for d in WINDOW_DAYS)

    plays = events[events["event"] == "play"].merge(users[["user_id", "signup_ts"]])
    plays = plays.merge(items, on="item_id")
    since = plays["ts"] - plays["signup_ts"]
    window = plays[(since >= start) & (since < end)]
    counts = window.groupby(["user_id", "genre"]).size().rename("plays").reset_index()
    # Top genre; ties go to the alphabetically first one.
    top = counts.sort_values(["user_id", "plays", "genre"], ascending=[True, False, True])
    top = top.drop_duplicates("user_id").set_index("user_id")["genre"]
    totals = counts.groupby("user_id")["plays"].sum()

    over = users["signup_ts"] + end <= data_end
    enough = users["user_id"].map(totals).fillna(0) >= MIN_PLAYS
    labelled = users[over & enough].copy()  # in the users table's order
    labelled["label"] = labelled["user_id"].map(top)

    n_test = round(len(labelled) * TEST_FRACTION)
    by_signup = labelled.sort_values("signup_ts", kind="stable")
    test, train_users = by_signup.iloc[-n_test:], by_signup.iloc[:-n_test]

    # Popularity: share of training users whose top genre it is, ties by their window plays.
    label_counts = train_users["label"].value_counts()
    train_plays = window[window["user_id"].isin(train_users["user_id"])]
    play_counts = train_plays["genre"].value_counts()
    genres = sorted(items["genre"].dropna().unique())
    popularity = sorted(genres, key=lambda g: (-label_counts.get(g, 0), -play_counts.get(g, 0), g))
    return Cohort(test.reset_index(drop=True), popularity)


def _hits(top3: list[list[str]], labels: pd.Series, k: int) -> np.ndarray:
    """1.0 where the label is among a user's first ``k`` genres."""
    return np.array([label in top[:k] for top, label in zip(top3, labels, strict=True)], float)


def _rule_top3(selected, popularity: list[str]) -> list[str]:
    chosen = set(selected)
    ordered = [g for g in popularity if g in chosen] + [g for g in popularity if g not in chosen]
    return ordered[:3]


def _instance(row: dict) -> dict[str, Any]:
    """A user's answers as a JSON instance: lists as lists, missing answers left out."""
    return {
        str(k): list(v) if isinstance(v, np.ndarray) else v for k, v in row.items() if v is not None
    }


def _lightgbm_top3(model_dir: Path, users: pd.DataFrame) -> list[list[str]]:
    """The served model's three best genres for each user, through the serve-time encoder."""
    artifact = load_artifact(model_dir)
    answers = users.drop(columns=["user_id", "signup_ts", "label"])
    instances = [_instance(row) for row in answers.to_dict("records")]
    proba = artifact.predict_proba(encode_instances(artifact.spec, instances).matrix)
    classes = np.array(artifact.class_labels)
    order = np.argsort(-proba, axis=1, kind="stable")[:, :3]
    return [classes[row].tolist() for row in order]


def _paired_diff_interval(a: np.ndarray, b: np.ndarray, n_boot: int = 4000) -> tuple[float, float]:
    """95 % percentile interval of mean(a) - mean(b) over resamples of the users."""
    rng = np.random.default_rng(20240607)
    draws = rng.integers(0, len(a), size=(n_boot, len(a)))
    diffs = (a[draws] - b[draws]).mean(axis=1)
    low, high = np.quantile(diffs, [0.025, 0.975])
    return float(low), float(high)


@pytest.fixture(scope="module")
def hits(ml100k_trained: Trained) -> dict[str, dict[str, np.ndarray]]:
    """Per test user hit@1 and hit@3 of each model, computed in this module."""
    test = _test_users(ml100k_trained.data_dir)
    labels = test.users["label"]
    top3 = {
        "global_popular": [test.popularity[:3]] * len(labels),
        "rule_selected_popular": [
            _rule_top3(s, test.popularity) for s in test.users["selected_genres"]
        ],
        "lightgbm": _lightgbm_top3(ml100k_trained.model_dir, test.users),
    }
    return {
        metric: {name: _hits(top, labels, k) for name, top in top3.items()}
        for metric, k in (("hit@1", 1), ("hit@3", 3))
    }


def test_gate_on_movielens_fails_only_for_want_of_a_clear_win(ml100k_trained):
    """The gate never finds LightGBM worse than the best baseline here; with 188 test users its
    lead at hit@1 (+0.05 over the rule) is about 1.5 standard errors, so whether it is "better
    beyond noise" is not settled by this test set (docs/model.md, "Results on MovieLens 100K")."""
    gate = ml100k_trained.result.gate
    assert ml100k_trained.code == (0 if gate.passed else 1), gate.reason
    assert [c["check"] for c in gate.checks] == [
        "hit@1 not worse than the best baseline",
        "hit@3 not worse than the best baseline",
        "better than the best baseline beyond noise",
    ]
    assert gate.checks[0]["passed"]
    assert gate.checks[1]["passed"], gate.reason
    assert gate.checks[0]["baseline"] == "rule_selected_popular"
    assert gate.checks[1]["baseline"] == "global_popular"


def test_pipeline_evaluates_the_same_test_users_and_models(ml100k_trained, hits):
    """The pipeline's figures equal the ones recomputed here from the tables and the artifact."""
    result = ml100k_trained.result
    assert result.n_test == len(hits["hit@3"]["lightgbm"])
    for metric, per_model in hits.items():
        for name, per_user in per_model.items():
            got = result.evaluation.metrics[name][metric]
            assert got == pytest.approx(per_user.mean(), abs=1e-12), (name, metric)


def _best_baseline(per_model: dict[str, np.ndarray]) -> str:
    return max(("global_popular", "rule_selected_popular"), key=lambda n: per_model[n].mean())


def test_the_best_baselines_are_the_rule_at_hit1_and_popularity_at_hit3(hits):
    # On MovieLens "the most popular of the selected genres" is the better first guess, but
    # global popularity the better top three (docs/model.md, "Reading").
    assert _best_baseline(hits["hit@1"]) == "rule_selected_popular"
    assert _best_baseline(hits["hit@3"]) == "global_popular"


@pytest.mark.parametrize("metric", ["hit@1", "hit@3"])
def test_lightgbm_not_below_the_best_baseline(hits, metric):
    """Issue 19's acceptance on the time split: not below the best baseline of either metric,
    neither on the point estimate nor beyond noise (the paired interval reaches zero)."""
    per_model = hits[metric]
    best = _best_baseline(per_model)
    assert per_model["lightgbm"].mean() >= per_model[best].mean(), (metric, best)
    _, high = _paired_diff_interval(per_model["lightgbm"], per_model[best])
    assert high >= 0, f"lightgbm {metric} below {best} beyond noise (upper bound {high:+.4f})"


def test_lightgbm_puts_the_right_genre_first_more_often_than_both_baselines(hits):
    # A model that learnt nothing from the answers (class priors only) ranks like global
    # popularity: its hit@1 would be popularity's, below the rule's.
    at1 = hits["hit@1"]
    assert at1["lightgbm"].mean() > at1["rule_selected_popular"].mean()
    assert at1["lightgbm"].mean() > at1["global_popular"].mean()
