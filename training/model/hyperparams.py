"""Hyperparameters: one typed, validated object with its defaults, built from ``--hp key=value``
pairs (and the CLI's shortcuts) or SageMaker's hyperparameters.json.

Values are converted to the type of their field (SageMaker passes every value as a string) and
checked; errors name the field. Unknown keys are an error, except SageMaker's own
(``sagemaker_*``, ``_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from training.model.calibration import METHODS as CALIBRATIONS
from training.model.labels import LabelWindow
from training.model.lgbm import DEFAULT_PARAMS
from training.model.splits import SPLITS

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


class HyperparameterError(ValueError):
    """An unknown hyperparameter, a value of the wrong type or out of range."""


@dataclass(frozen=True)
class Hyperparameters:
    """Every hyperparameter with its default; the comments say why the default."""

    # labels
    label_window: str = "30:60"  # days after signup: the second month (DESIGN section 4)
    min_plays: int = 3  # fewer plays in the window say too little about taste
    label_events: str = "play"  # comma-separated events that count as listening
    # split
    split: str = "time"  # "time" (train on earlier signups, test on later) or "random"
    test_fraction: float = 0.2
    valid_fraction: float = 0.1  # share of training users for early stopping
    max_train_users: int = 100_000  # cap on fitting+validation users (0: none): see docs/model.md
    seed: int = 7
    # features
    min_level_count: int = 5  # categorical levels seen fewer times encode as unknown
    max_levels: int = 500
    # "auto": a first-selected-genre feature when the selections' order carries information
    # (it is not one fixed order for every user); "yes" / "no" force it
    selection_order: str = "auto"
    # LightGBM (LGBM_KEYS), defaults from training.model.lgbm.DEFAULT_PARAMS
    learning_rate: float = DEFAULT_PARAMS["learning_rate"]
    num_leaves: int = DEFAULT_PARAMS["num_leaves"]
    max_bin: int = DEFAULT_PARAMS["max_bin"]
    min_data_in_leaf: int = DEFAULT_PARAMS["min_data_in_leaf"]
    feature_fraction: float = DEFAULT_PARAMS["feature_fraction"]
    lambda_l2: float = DEFAULT_PARAMS["lambda_l2"]
    num_threads: int = DEFAULT_PARAMS["num_threads"]  # 0: all cores
    num_boost_round: int = 500
    early_stopping_rounds: int = 20
    # hyperparameter search (Optuna TPE on validation log loss; see docs/model.md)
    search_trials: int = 20  # this many trials (0: no search, the parameters above)
    # A safety cap, not a budget: a search stopped by time depends on the machine's speed, so
    # the same data and seed could give another model (which the gate may then refuse against
    # the previous one). 20 trials take 66 s at 1M listeners on a quiet 2-core machine.
    search_seconds: float = 120.0  # at most this long (a started trial finishes; 0: no limit)
    search_max_users: int = 10_000  # fitting users the search fits on (a seeded sample)
    search_folds: int = 5  # k-fold CV instead of the validation slice when all training users fit
    # calibration: "auto" (none, temperature or a blend with the popularity prior, whichever
    # has the lowest cross-validated log loss on the validation users) or one of them
    calibration: str = "auto"
    # logistic regression
    logistic_c: float = 1.0
    logistic_max_iter: int = 300
    logistic_max_train_users: int = 50_000  # lbfgs on a one-hot design saturates early
    # evaluation
    bootstrap: int = 1000  # resamples for the 95 % intervals
    segment_bootstrap: int = 300

    def __post_init__(self) -> None:
        """Convert every value to its field's type, then check it is in range."""
        for name, kind in _TYPES.items():
            object.__setattr__(self, name, _convert(name, getattr(self, name), kind))
        for name, (ok, requirement) in _RULES.items():
            value = getattr(self, name)
            if not ok(value):
                raise HyperparameterError(f"hyperparameter {name}={value!r}: {requirement}")

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any]) -> Hyperparameters:
        """The defaults updated with ``overrides`` (SageMaker's own keys are ignored)."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in overrides.items() if not k.startswith(("sagemaker_", "_"))}
        unknown = sorted(set(given) - known)
        if unknown:
            raise HyperparameterError(
                f"unknown hyperparameter(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(known))
            )
        return cls(**given)

    @classmethod
    def from_cli(cls, pairs: Iterable[str], shortcuts: Mapping[str, Any]) -> Hyperparameters:
        """``--hp key=value`` pairs, then the shortcut flags that were given (not None)."""
        overrides: dict[str, Any] = parse_pairs(pairs)
        overrides.update({k: v for k, v in shortcuts.items() if v is not None})
        return cls.from_overrides(overrides)

    @classmethod
    def from_json(cls, path: str | Path) -> Hyperparameters:
        """SageMaker's hyperparameters.json (a missing file means the defaults)."""
        return cls.from_overrides(read_json(path))

    @property
    def window(self) -> LabelWindow:
        """The label window, days after signup."""
        return LabelWindow.parse(self.label_window)

    @property
    def events(self) -> tuple[str, ...]:
        """The events that count as listening."""
        return _events(self.label_events)

    def lgbm_params(self) -> dict[str, Any]:
        """The LightGBM parameters (:data:`LGBM_KEYS`)."""
        return {key: getattr(self, key) for key in LGBM_KEYS}

    def fixed_lgbm_params(self) -> list[str]:
        """The LightGBM parameters set to anything but their default: the search keeps them."""
        return [key for key in LGBM_KEYS if getattr(self, key) != DEFAULT_PARAMS[key]]

    def to_dict(self) -> dict[str, Any]:
        """Every hyperparameter by name, in declaration order (model.json)."""
        return asdict(self)


_HINTS = get_type_hints(Hyperparameters)
#: Each field's type: the type its value is converted to.
_TYPES: dict[str, type] = {f.name: _HINTS[f.name] for f in fields(Hyperparameters)}


def _events(text: str) -> tuple[str, ...]:
    return tuple(e.strip() for e in str(text).split(",") if e.strip())


def _is_window(text: str) -> bool:
    try:
        LabelWindow.parse(text)
    except ValueError:
        return False
    return True


def _at_least(low: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v >= low), f"must be at least {low:g}"


def _positive() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v > 0), "must be greater than 0"


#: Each checked hyperparameter: a test of its (converted) value and what it requires.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "label_window": (_is_window, "expected START:END days after signup, START < END, e.g. 30:60"),
    "min_plays": _at_least(0),
    "label_events": (lambda v: bool(_events(v)), "expected comma-separated events, e.g. play"),
    "split": (lambda v: v in SPLITS, f"expected one of {', '.join(SPLITS)}"),
    "test_fraction": (lambda v: 0 < v < 1, "must be between 0 and 1 (both excluded)"),
    "valid_fraction": (lambda v: 0 <= v < 1, "must be at least 0 and below 1"),
    "max_train_users": _at_least(0),
    "seed": _at_least(0),
    "min_level_count": _at_least(0),
    "max_levels": _at_least(0),
    "selection_order": (lambda v: v in ("auto", "yes", "no"), "expected auto, yes or no"),
    "learning_rate": _positive(),
    "num_leaves": _at_least(2),
    "max_bin": _at_least(2),
    "min_data_in_leaf": _at_least(0),
    "feature_fraction": (lambda v: 0 < v <= 1, "must be above 0 and at most 1"),
    "lambda_l2": _at_least(0),
    "num_threads": _at_least(0),
    "num_boost_round": _at_least(1),
    "early_stopping_rounds": _at_least(1),
    "search_trials": _at_least(0),
    "search_seconds": _at_least(0),
    "search_max_users": _at_least(0),
    "search_folds": _at_least(0),
    "calibration": (
        lambda v: v in ("auto", *CALIBRATIONS),
        f"expected auto, {', '.join(CALIBRATIONS)}",
    ),
    "logistic_c": _positive(),
    "logistic_max_iter": _at_least(1),
    "logistic_max_train_users": _at_least(0),
    "bootstrap": _at_least(1),
    "segment_bootstrap": _at_least(1),
}


def _convert(name: str, value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (int, float or str); an int must be a whole number."""
    try:
        if kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError, OverflowError):
        raise HyperparameterError(
            f"hyperparameter {name}={value!r}: expected {kind.__name__}"
        ) from None


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
