"""Hyperparameter search for the LightGBM model: Optuna's TPE sampler on the validation slice.

Each trial fits LightGBM with one setting of the searched parameters on (a seeded subsample of)
the fitting users, stopping early on the validation users' log loss; its score is that best
validation log loss. The search is bounded twice: ``trials`` trials, and at most ``seconds``
seconds (a trial that has started finishes) as a safety cap. Bounded by trials alone, the same
data and seed give the same search (Optuna's seeded TPE, one trial at a time), so a retraining on
unchanged data gives the same model; a search stopped by time depends on the machine's speed.
The first trial is always the current defaults, so the search can only keep them or find a
lower validation log loss.

Only training imports this module: serving (:mod:`training.model.artifact`,
:mod:`training.model.features`) never needs Optuna.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.model.evaluation import log_loss
from training.model.features import FeatureSpec
from training.model.lgbm import fit_lgbm

#: The searched LightGBM parameters: (low, high, log scale, integer).
SPACE: dict[str, tuple[float, float, bool, bool]] = {
    "learning_rate": (0.03, 0.3, True, False),
    "num_leaves": (3, 31, True, True),
    "min_data_in_leaf": (5, 400, True, True),
    "feature_fraction": (0.3, 1.0, False, False),
    "lambda_l2": (0.01, 100.0, True, False),
    "min_data_per_group": (5, 200, True, True),
    "cat_smooth": (1.0, 100.0, True, False),
}


@dataclass(frozen=True)
class SearchResult:
    """The best parameters found, and what the search did (for model.json and the report)."""

    best_params: dict[str, Any]
    best_value: float  # validation log loss of the best trial
    default_value: float  # validation log loss of the first trial (the defaults)
    n_trials: int
    seconds: float
    n_fit_users: int
    n_valid_users: int
    stopped_by: str  # "trials", "time" or "skipped"
    trials: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sampler": "optuna TPE",
            "objective": "validation multi_logloss at the early-stopped round",
            "best_params": self.best_params,
            "best_value": self.best_value,
            "default_value": self.default_value,
            "n_trials": self.n_trials,
            "seconds": round(self.seconds, 2),
            "fit_users": self.n_fit_users,
            "valid_users": self.n_valid_users,
            "stopped_by": self.stopped_by,
            "searched": sorted(self.trials[0]["params"]) if self.trials else [],
            "trials": self.trials,
        }


def _suggest(trial: Any, name: str) -> Any:
    low, high, log, integer = SPACE[name]
    if integer:
        return trial.suggest_int(name, int(low), int(high), log=log)
    return trial.suggest_float(name, low, high, log=log)


def _clip_to_space(params: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults as a first trial, inside the search space."""
    out: dict[str, Any] = {}
    for name, (low, high, _, integer) in SPACE.items():
        if name in params:
            value = min(max(params[name], low), high)
            out[name] = round(value) if integer else float(value)
    return out


def cv_pairs(
    fit_rows: np.ndarray, valid_rows: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, validation) rows of each evaluation: the given pair, or ``folds`` folds of all."""
    if folds < 2:
        return [(fit_rows, valid_rows)]
    rows = np.random.default_rng(seed).permutation(np.concatenate([fit_rows, valid_rows]))
    parts = np.array_split(rows, folds)
    return [
        (np.sort(np.concatenate(parts[:i] + parts[i + 1 :])), np.sort(parts[i]))
        for i in range(folds)
    ]


def subsample(rows: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """``rows``, or a seeded sorted sample of ``cap`` of them (``cap`` 0: all)."""
    if cap and len(rows) > cap:
        return np.sort(np.random.default_rng(seed).choice(rows, size=cap, replace=False))
    return rows


def search_lgbm(
    spec: FeatureSpec,
    x: np.ndarray,
    y: np.ndarray,
    fit_rows: np.ndarray,
    valid_rows: np.ndarray,
    n_genres: int,
    defaults: Mapping[str, Any],
    trials: int = 30,
    seconds: float = 40.0,
    folds: int = 0,
    fixed: Collection[str] = (),
    num_boost_round: int = 500,
    early_stopping_rounds: int = 20,
    seed: int = 7,
) -> SearchResult:
    """Search :data:`SPACE` for the lowest validation log loss (``defaults`` is trial 0).

    Parameters in ``fixed`` keep their value in ``defaults`` (they are not searched).
    ``folds`` >= 2: each trial is scored by ``folds``-fold cross-validation over the fitting
    and validation rows together (the pooled out-of-fold log loss), for small data where one
    validation slice is too noisy to choose by; otherwise by the validation rows."""
    import optuna  # training only; serving never imports this module

    n_fit, n_valid = len(fit_rows), len(valid_rows)
    if trials <= 0 or n_valid == 0 or all(name in fixed for name in SPACE):
        return SearchResult(dict(defaults), np.nan, np.nan, 0, 0.0, n_fit, n_valid, "skipped")
    pairs = cv_pairs(fit_rows, valid_rows, folds, seed)
    searched = [name for name in SPACE if name not in fixed]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=8)
    )
    study.enqueue_trial({k: v for k, v in _clip_to_space(defaults).items() if k in searched})

    def objective(trial: Any) -> float:
        params = {**defaults, **{name: _suggest(trial, name) for name in searched}}
        losses, rounds = [], []
        for fit, valid in pairs:
            model = fit_lgbm(
                spec,
                x[fit],
                y[fit],
                x[valid],
                y[valid],
                n_genres,
                params=params,
                num_boost_round=num_boost_round,
                early_stopping_rounds=early_stopping_rounds,
                seed=seed,
                progress=False,
            )
            losses.append(log_loss(model.scores(x[valid]), y[valid]) * len(valid))
            rounds.append(model.best_iteration)
        trial.set_user_attr("best_iteration", int(np.median(rounds)))
        return float(sum(losses) / sum(len(v) for _, v in pairs))

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=seconds if seconds > 0 else None)
    elapsed = time.perf_counter() - start
    done = [t for t in study.trials if t.value is not None]
    rows = [
        {
            "number": t.number,
            "value": float(t.value) if t.value is not None else None,
            "best_iteration": t.user_attrs.get("best_iteration"),
            "seconds": round(t.duration.total_seconds(), 3) if t.duration else None,
            "params": dict(t.params),
        }
        for t in done
    ]
    best = study.best_trial
    return SearchResult(
        best_params={**defaults, **best.params},
        best_value=float(best.value) if best.value is not None else np.nan,
        default_value=float(done[0].value) if done and done[0].value is not None else np.nan,
        n_trials=len(done),
        seconds=elapsed,
        n_fit_users=n_fit,
        n_valid_users=n_valid,
        stopped_by="trials" if len(done) >= trials else "time",
        trials=rows,
    )
