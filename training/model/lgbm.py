"""The production model: LightGBM multiclass on the feature matrix, native categoricals,
early stopping on a validation slice of the training users.

Classes are the genres that are some training user's label (``class_genres``, codes into the
vocabulary), so genres nobody has as top genre cost no trees.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Before LightGBM loads OpenMP: idle threads sleep instead of spinning. With spinning threads a
# busy 2-core machine ran training rounds 10x slower (measured); see docs/model.md.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
from tqdm import tqdm

from training.model.calibration import Calibration, apply_calibration
from training.model.features import FeatureSpec

NAME = "lightgbm"

#: LightGBM parameters used unless a hyperparameter overrides them.
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "num_leaves": 7,
    "max_bin": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.5,
    "lambda_l2": 10.0,
    "max_cat_to_onehot": 8,
    "cat_smooth": 10.0,
    "min_data_per_group": 50,
    "num_threads": 0,  # 0: all cores (one below SMALL_DATA_ROWS)
}


#: Below this many training rows LightGBM runs on one thread unless told otherwise.
SMALL_DATA_ROWS = 20_000


@dataclass
class LgbmModel:
    """A booster, the genre codes of its classes, and the calibration of its probabilities."""

    booster: lgb.Booster
    class_genres: np.ndarray  # genre code of each class
    n_genres: int
    best_iteration: int
    calibration: Calibration = field(default_factory=Calibration)

    def class_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, n_classes) LightGBM's own probabilities, before calibration."""
        proba = np.asarray(self.booster.predict(x), dtype=np.float64)
        return proba.reshape(len(x), -1)

    def raw_scores(self, x: np.ndarray, proba: np.ndarray | None = None) -> np.ndarray:
        """(n, n_genres) LightGBM's own probabilities; genres that are no class get 0.
        ``proba``: :meth:`class_proba` of ``x`` when already computed (predicting is the cost)."""
        proba = self.class_proba(x) if proba is None else proba
        return expand_scores(proba, self.class_genres, self.n_genres)

    def scores(self, x: np.ndarray, proba: np.ndarray | None = None) -> np.ndarray:
        """(n, n_genres) the served probabilities (calibrated, or blended with the prior);
        ``proba`` as for :meth:`raw_scores`."""
        proba = self.class_proba(x) if proba is None else proba
        return expand_scores(apply_calibration(proba, self.calibration), self.class_genres,
                             self.n_genres)  # fmt: skip

    def class_index(self, genres: np.ndarray) -> np.ndarray:
        """The class of each genre code, -1 for genres that are no class."""
        to_class = np.full(self.n_genres, -1, dtype=np.int64)
        to_class[self.class_genres] = np.arange(len(self.class_genres))
        return to_class[np.asarray(genres, dtype=np.int64)]


def expand_scores(proba: np.ndarray, class_genres: np.ndarray, n_genres: int) -> np.ndarray:
    """Class probabilities (n, n_classes) as scores over the whole vocabulary (n, n_genres)."""
    proba = np.asarray(proba, dtype=np.float64).reshape(len(proba), -1)
    out = np.zeros((len(proba), n_genres))
    out[:, np.asarray(class_genres, dtype=np.int64)] = proba
    return out


def _progress(total: int, enabled: bool) -> tuple[Callable[[Any], None], tqdm]:
    bar = tqdm(total=total, unit="round", desc="lightgbm", disable=not enabled)

    def callback(env: Any) -> None:
        bar.update(1)
        scores = getattr(env, "evaluation_result_list", None) or []
        if scores:
            bar.set_postfix_str(f"valid logloss {scores[0][2]:.4f}", refresh=False)

    return callback, bar


def fit_lgbm(
    spec: FeatureSpec,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    n_genres: int,
    params: Mapping[str, Any] | None = None,
    num_boost_round: int = 500,
    early_stopping_rounds: int = 20,
    seed: int = 7,
    progress: bool = True,
) -> LgbmModel:
    """Fit the multiclass booster; stops when validation log loss has not improved for
    ``early_stopping_rounds`` rounds (no validation users: all rounds)."""
    class_genres = np.unique(y_fit)
    if len(class_genres) < 2:
        raise ValueError("one class only: every training user has the same top genre")
    to_class = np.full(n_genres, -1, dtype=np.int64)
    to_class[class_genres] = np.arange(len(class_genres))
    full = {
        **DEFAULT_PARAMS,
        **dict(params or {}),
        "objective": "multiclass",
        "num_class": len(class_genres),
        "metric": "multi_logloss",
        "seed": seed,
        "verbose": -1,
    }
    if not full.get("num_threads") and len(x_fit) < SMALL_DATA_ROWS:
        full["num_threads"] = 1  # threads cost more than they save on small data
    common: dict[str, Any] = {
        "feature_name": safe_names(spec.columns),
        "categorical_feature": spec.categorical_columns,
        "free_raw_data": False,
    }
    train_set = lgb.Dataset(x_fit, label=to_class[y_fit], params={"verbose": -1}, **common)
    valid_sets = []
    callbacks: list[Any] = []
    valid_y = to_class[y_valid]
    keep = valid_y >= 0  # validation users whose genre is no class cannot be scored
    if keep.any():
        valid_sets.append(
            lgb.Dataset(x_valid[keep], label=valid_y[keep], reference=train_set, **common)
        )
        callbacks.append(lgb.early_stopping(early_stopping_rounds, verbose=False))
    callback, bar = _progress(num_boost_round, progress)
    callbacks.append(callback)
    with bar:
        booster = lgb.train(
            full,
            train_set,
            num_boost_round=num_boost_round,
            valid_sets=valid_sets,
            valid_names=["valid"] if valid_sets else None,
            callbacks=callbacks,
        )
    best = booster.best_iteration or booster.current_iteration()
    if booster.best_iteration and booster.best_iteration < booster.current_iteration():
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return LgbmModel(booster, class_genres, n_genres, int(best))


def safe_names(names: list[str]) -> list[str]:
    """Unique feature names LightGBM accepts (it forbids JSON special characters)."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        safe = "".join(ch if ch.isalnum() or ch in "_-=.+" else "_" for ch in name) or "_"
        while safe in seen:
            safe += "_"
        seen.add(safe)
        out.append(safe)
    return out
