"""Hyperparameters: defaults, ``--hp key=value`` pairs and SageMaker's hyperparameters.json.

Values are converted to the type of their default (SageMaker passes every value as a string).
Unknown keys are an error, except SageMaker's own (``sagemaker_*``, ``_*``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from training.model.lgbm import DEFAULT_PARAMS

#: The hyperparameters passed to LightGBM as they are.
LGBM_KEYS = (
    "learning_rate",
    "num_leaves",
    "max_bin",
    "min_data_in_leaf",
    "feature_fraction",
    "lambda_l2",
    "num_threads",
)

#: Every hyperparameter with its default; the comments say why the default.
DEFAULTS: dict[str, Any] = {
    # labels
    "label_window": "30:60",  # days after signup: the second month (DESIGN section 4)
    "min_plays": 3,  # fewer plays in the window say too little about taste
    "label_events": "play",  # comma-separated events that count as listening
    # split
    "split": "time",  # "time" (train on earlier signups, test on later) or "random"
    "test_fraction": 0.2,
    "valid_fraction": 0.1,  # share of training users for early stopping
    "max_train_users": 100_000,  # cap on fitting+validation users (0: none): see docs/model.md
    "seed": 7,
    # features
    "min_level_count": 5,  # categorical levels seen fewer times encode as unknown
    "max_levels": 500,
    # LightGBM: learning_rate, num_leaves, max_bin, min_data_in_leaf, feature_fraction,
    # lambda_l2, num_threads, defaults from training.model.lgbm.DEFAULT_PARAMS
    **{key: DEFAULT_PARAMS[key] for key in LGBM_KEYS},
    "num_boost_round": 500,
    "early_stopping_rounds": 20,
    # logistic regression
    "logistic_c": 1.0,
    "logistic_max_iter": 300,
    "logistic_max_train_users": 50_000,  # lbfgs on a one-hot design saturates early
    # evaluation
    "bootstrap": 1000,  # resamples for the 95 % intervals
    "segment_bootstrap": 300,
}


class HyperparameterError(ValueError):
    """An unknown hyperparameter or a value of the wrong type."""


def _convert(key: str, value: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.strip().lower() in ("1", "true", "yes", "on"):
                    return True
                if value.strip().lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, int):
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        kind = type(default).__name__
        raise HyperparameterError(f"hyperparameter {key}={value!r}: expected {kind}") from None


def resolve(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults updated with ``overrides`` (converted to each default's type)."""
    out = dict(DEFAULTS)
    unknown = []
    for key, value in overrides.items():
        if key.startswith(("sagemaker_", "_")):
            continue
        if key not in DEFAULTS:
            unknown.append(key)
            continue
        out[key] = _convert(key, value, DEFAULTS[key])
    if unknown:
        raise HyperparameterError(
            f"unknown hyperparameter(s) {', '.join(sorted(unknown))}; known: "
            + ", ".join(sorted(DEFAULTS))
        )
    return out


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` into a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise HyperparameterError(f"--hp {pair!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def read_json(path: str | Path) -> dict[str, Any]:
    """SageMaker's hyperparameters.json (a flat object; a missing file means no overrides)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise HyperparameterError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise HyperparameterError(f"{path}: expected a JSON object")
    return doc
