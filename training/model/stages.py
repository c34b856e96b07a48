"""The onboarding training run as typed stages: dataset in, evaluated models out.

    check_dataset -> read_source -> label_users (check_labels) -> split_users -> encode_users
    -> baseline_popularity, fit_logistic_model, fit_lightgbm_model
    -> score_test_users -> evaluate -> gate_verdict -> summarize_data

Each stage takes and returns small frozen dataclasses (:class:`Source`, :class:`Labelled`,
:class:`SplitData`, :class:`Models`, :class:`Evaluation`, :class:`DataSummary`);
:func:`run_pipeline` calls them in order and returns a :class:`Result`. Writing the artifact,
metrics.json and the report is left to the caller (:mod:`training.model.train`), so tests can
inspect every intermediate result.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from training.data.dataset_io import DatasetError, read_table
from training.model import baselines, calibration, evaluation, lgbm, logistic
from training.model.artifact import Artifact, load_artifact
from training.model.feature_table import encode_table, fit_feature_spec
from training.model.features import FeatureSpec
from training.model.gate import PREVIOUS, GateResult, quality_gate
from training.model.hyperparams import Hyperparameters
from training.model.labels import (
    Labels,
    WindowCounts,
    count_window_plays,
    genre_codes,
    top_genre_labels,
)
from training.model.lgbm import LgbmModel
from training.model.logistic import LogisticModel
from training.model.search import SearchResult, search_lgbm, subsample
from training.model.splits import Split, make_split

#: The models of the comparison, production model first.
MODELS = (lgbm.NAME, logistic.NAME, baselines.RULE, baselines.GLOBAL)
#: The models compared with the baselines, and the baselines (plus the previous model, if any).
CHALLENGERS = (lgbm.NAME, logistic.NAME, baselines.RULE)
BASELINES = (baselines.RULE, baselines.GLOBAL)


class DataError(ValueError):
    """The dataset cannot train a model: invalid, no labels in the window, one class only."""


# --- what the stages pass on -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The users and the genre vocabulary, as read from the dataset."""

    users: pa.Table
    items: pa.Table  # item_id, genre
    genres: list[str]  # the items' genres, sorted: genre code = position
    signup_ms: np.ndarray  # per row of ``users``, 0 where missing


@dataclass(frozen=True)
class Labelled:
    """Window plays per user and genre, and the labels (top genres) they give."""

    counts: WindowCounts
    labels: Labels


@dataclass(frozen=True)
class SplitData:
    """The labelled users, split, and encoded with a feature spec fitted on training users."""

    split: Split  # positions into ``users``
    users: pa.Table  # the labelled users (rows ``labels.rows`` of the users table)
    spec: FeatureSpec
    x: np.ndarray  # the feature matrix of ``users``
    y: np.ndarray  # the label (genre code) of each of ``users``

    @property
    def n_genres(self) -> int:
        return len(self.spec.genres)

    @property
    def train_positions(self) -> np.ndarray:
        """Fitting and validation users: everyone the models may learn from."""
        return train_positions(self.split)

    def test_users(self) -> pa.Table:
        return self.users.take(pa.array(self.split.test))

    def test_selected_genres(self) -> np.ndarray:
        """The test users' multi-hot of selected genres (columns = the genre vocabulary)."""
        return self.x[self.split.test][:, _genre_columns(self.spec)]


@dataclass(frozen=True)
class Models:
    """The fitted models: LightGBM (production), logistic regression, and the genre
    popularity both baselines rank by."""

    spec: FeatureSpec
    popularity: np.ndarray
    logistic: LogisticModel
    lightgbm: LgbmModel
    search: SearchResult | None = None  # the hyperparameter search, when one ran


@dataclass(frozen=True)
class Evaluation:
    """Every model on the test users: metrics, 95 % intervals, lifts, per-segment rows."""

    metrics: dict[str, dict[str, float]]
    intervals: dict[str, dict[str, list[float]]]
    lifts: list[evaluation.Lift]
    segments: list[dict[str, Any]]
    previous: dict[str, Any] | None = None  # the previous model's version and status
    #: LightGBM on the test users before and after calibration (log loss, ECE, hit@k), and how
    #: often its top 3 is global popularity's
    served: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSummary:
    """What the models learnt from and were tested on, for model.json and the report."""

    genres: list[str]
    labels: Labels
    counts: WindowCounts
    split: Split
    training_data: dict[str, Any]  # model.json's ``training_data``
    listening: dict[str, Any]  # window plays by genre per gender and age band


@dataclass(frozen=True)
class Result:
    """Everything the run computed; :mod:`training.model.train` writes it out."""

    hp: Hyperparameters
    data: DataSummary
    models: Models
    evaluation: Evaluation
    gate: GateResult
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_test(self) -> int:
        return len(self.data.split.test)


# --- the run -----------------------------------------------------------------------------------


class _Clock:
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.start = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def done(self, step: str, note: str = "") -> None:
        now = time.perf_counter()
        self.timings[step] = round(now - self.last, 3)
        self.last = now
        if self.verbose:
            extra = f" ({note})" if note else ""
            print(f"[{now - self.start:7.1f}s] {step}{extra}", file=sys.stderr, flush=True)


def run_pipeline(
    data_dir: str | Path,
    hp: Hyperparameters,
    baseline_model: str | Path | None = None,
    validate_first: bool = True,
    progress: bool = True,
    verbose: bool = True,
) -> Result:
    """Train and evaluate every model on ``data_dir``; gate the LightGBM model."""
    clock = _Clock(verbose)
    if validate_first:
        check_dataset(data_dir, progress)
        clock.done("validate")
    previous = load_artifact(baseline_model) if baseline_model else None
    source = read_source(data_dir)
    clock.done(
        "read users and items", f"{source.users.num_rows:,} users, {len(source.genres)} genres"
    )
    labelled = label_users(data_dir, source, hp, progress)
    clock.done("labels", f"{labelled.labels.n_labelled:,} labelled users")
    check_labels(labelled.labels, hp)
    split = split_users(source, labelled.labels, hp)
    data = encode_users(source, labelled.labels, split, hp)
    clock.done("split and features", f"{data.split.summary()}, {data.spec.n_columns} columns")
    rows = logistic_rows(data.split.train, hp.logistic_max_train_users, hp.seed)
    logistic_model = fit_logistic_model(data, rows, hp)
    clock.done("logistic regression", f"{len(rows):,} users")
    found = search_hyperparameters(data, hp)
    if found is not None:
        timed_out = found.stopped_by == "time"
        clock.done(
            "hyperparameter search",
            f"{found.n_trials} trials, validation log loss {found.default_value:.4f} "
            f"(defaults) -> {found.best_value:.4f}"
            + (
                ", stopped by search_seconds: not reproducible from the seed alone"
                if timed_out
                else ""
            ),
        )
    popularity = baseline_popularity(data, labelled)
    lightgbm = fit_lightgbm_model(data, hp, progress, found)
    lightgbm.calibration = calibrate(data, lightgbm, hp)
    clock.done(
        "lightgbm",
        f"{lightgbm.best_iteration} rounds, {len(data.split.train):,} users, "
        f"calibration {lightgbm.calibration.method}",
    )
    models = Models(data.spec, popularity, logistic_model, lightgbm, found)
    test_proba = lightgbm.class_proba(data.x[data.split.test])  # predicted once, used twice
    scores = score_test_users(data, models, previous, test_proba)
    evaluated = evaluate(data, scores, hp, previous_info(previous))
    evaluated.served.update(served_figures(data, models, test_proba))
    gate = gate_verdict(evaluated)
    clock.done("evaluation and gate", "passed" if gate.passed else "rejected")
    summary = summarize_data(source, labelled, data, hp)
    return Result(hp, summary, models, evaluated, gate, clock.timings)


# --- data and labels ---------------------------------------------------------------------------


def check_dataset(data_dir: str | Path, progress: bool) -> None:
    """Run the validator; raise :class:`DataError` listing the problems."""
    from training.data.validate import validate

    if not Path(data_dir).is_dir():
        raise DataError(f"{data_dir}: no such dataset directory")
    problems = validate(data_dir, progress=progress)
    if problems:
        shown = "\n  ".join(str(p) for p in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise DataError(
            f"{data_dir} is not a valid dataset ({len(problems)} problem(s)):\n  {shown}{more}"
        )


def read_source(data_dir: str | Path) -> Source:
    """The users, the items and the genre vocabulary (the items' genres, sorted)."""
    try:
        users = read_table(data_dir, "users")
        items = read_table(data_dir, "items", ["item_id", "genre"])
    except (DatasetError, OSError) as exc:
        raise DataError(str(exc)) from None
    genres = sorted(set(pc.unique(items.column("genre").drop_null()).to_pylist()))
    if not genres:
        raise DataError("items: no genres, so nothing to predict")
    signup = pc.fill_null(users.column("signup_ts").cast(pa.int64()), 0)
    return Source(users, items, genres, np.asarray(signup, dtype=np.int64))


def label_users(
    data_dir: str | Path, source: Source, hp: Hyperparameters, progress: bool
) -> Labelled:
    """Count each user's window plays per genre; label users with their top genre."""
    counts = count_window_plays(
        str(data_dir),
        source.users.column("user_id"),
        source.signup_ms,
        source.items.column("item_id"),
        genre_codes(source.items, source.genres),
        len(source.genres),
        hp.window,
        events=hp.events,
        progress=progress,
    )
    labels = top_genre_labels(
        counts.counts, source.signup_ms, counts.data_end_ms, hp.window, hp.min_plays
    )
    return Labelled(counts, labels)


def check_labels(labels: Labels, hp: Hyperparameters) -> None:
    """Raise :class:`DataError` unless the labels can train and test a model: some labelled
    users, at least two classes, at least ten users."""
    if labels.n_labelled == 0:
        raise DataError(
            f"no labels: no user has at least {hp.min_plays} plays in days {hp.window} after "
            f"signup ({labels.n_users:,} users; {labels.n_censored:,} whose window is not over "
            f"by the end of the data, {labels.n_too_few_plays:,} with too few plays); "
            "try another --label-window or --hp min_plays=..."
        )
    if len(np.unique(labels.label)) < 2:
        raise DataError(
            f"one class only: all {labels.n_labelled:,} labelled users have the same top genre; "
            "nothing to learn"
        )
    if labels.n_labelled < 10:
        raise DataError(
            f"only {labels.n_labelled} labelled users; too few to train and test a model"
        )


# --- split and features ------------------------------------------------------------------------


def split_users(source: Source, labels: Labels, hp: Hyperparameters) -> Split:
    """Fitting, validation and test positions of the labelled users (see :mod:`splits`)."""
    split = make_split(
        source.signup_ms[labels.rows],
        kind=hp.split,
        test_fraction=hp.test_fraction,
        valid_fraction=hp.valid_fraction,
        max_train_users=hp.max_train_users,
        seed=hp.seed,
    )
    check_training_classes(labels.label[split.train], source.genres)
    return split


def check_training_classes(y_fit: np.ndarray, genres: list[str]) -> None:
    """Raise :class:`DataError` unless the fitting users have at least two top genres."""
    if len(y_fit) == 0:
        raise DataError(
            "no fitting users: every training user went to validation; lower valid_fraction"
        )
    if len(np.unique(y_fit)) < 2:
        raise DataError(
            "one class only: every training user has the same top genre "
            f"({genres[int(y_fit[0])]}); nothing to learn"
        )


def train_positions(split: Split) -> np.ndarray:
    """Fitting then validation positions: everyone the models may learn from."""
    return np.concatenate([split.train, split.valid])


def encode_users(source: Source, labels: Labels, split: Split, hp: Hyperparameters) -> SplitData:
    """Fit the feature spec on the training users and encode every labelled user with it."""
    users = source.users.take(pa.array(labels.rows))
    spec = fit_feature_spec(
        users.take(pa.array(train_positions(split))),
        source.genres,
        min_level_count=hp.min_level_count,
        max_levels=hp.max_levels,
        selection_order=hp.selection_order,
    )
    return SplitData(split, users, spec, encode_table(spec, users), labels.label)


def _genre_columns(spec: FeatureSpec) -> list[int]:
    for block, offset in spec.block_offsets():
        if block.source == spec.genre_source and block.encoding == "multi_hot":
            return list(range(offset, offset + block.width))
    raise DataError("feature spec has no selected-genres block")


# --- models ------------------------------------------------------------------------------------


def baseline_popularity(data: SplitData, labelled: Labelled) -> np.ndarray:
    """Genre popularity among the training users (labels, then window plays): the baselines."""
    positions = data.train_positions
    plays = labelled.counts.counts[labelled.labels.rows[positions]].sum(axis=0)
    return baselines.genre_popularity(data.y[positions], plays, data.n_genres)


def logistic_rows(fit: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """The logistic regression's fitting positions: ``fit``, or a seeded sorted sample of
    ``cap`` of them when there are more (``cap`` 0: no cap)."""
    rng = np.random.default_rng(seed + 2)
    if cap and len(fit) > cap:
        return np.sort(rng.choice(fit, size=cap, replace=False))
    return fit


def fit_logistic_model(data: SplitData, rows: np.ndarray, hp: Hyperparameters) -> LogisticModel:
    """The logistic regression on positions ``rows``."""
    return logistic.fit_logistic(
        data.spec,
        data.x[rows],
        data.y[rows],
        data.n_genres,
        hp.logistic_c,
        hp.logistic_max_iter,
    )


def search_hyperparameters(data: SplitData, hp: Hyperparameters) -> SearchResult | None:
    """Optuna's search of LightGBM's parameters (None when ``search_trials`` is 0): on a
    sample of at most ``search_max_users`` fitting users and the validation slice; by k-fold
    cross-validation over all training users when they are no more than that. LightGBM
    parameters set to anything but their default are kept as set."""
    if hp.search_trials <= 0 or len(data.split.valid) == 0:
        return None
    split = data.split
    n_train = len(split.train) + len(split.valid)
    small = bool(hp.search_max_users) and n_train <= hp.search_max_users
    return search_lgbm(
        data.spec,
        data.x,
        data.y,
        subsample(split.train, hp.search_max_users, hp.seed + 3),
        split.valid,
        data.n_genres,
        defaults=hp.lgbm_params(),
        trials=hp.search_trials,
        seconds=hp.search_seconds,
        folds=hp.search_folds if small else 0,
        fixed=hp.fixed_lgbm_params(),
        num_boost_round=hp.num_boost_round,
        early_stopping_rounds=hp.early_stopping_rounds,
        seed=hp.seed,
    )


def fit_lightgbm_model(
    data: SplitData, hp: Hyperparameters, progress: bool, found: SearchResult | None = None
) -> LgbmModel:
    """LightGBM on the fitting users (with the search's best parameters, when it ran), early
    stopping on the validation users."""
    fit, valid = data.split.train, data.split.valid
    return lgbm.fit_lgbm(
        data.spec,
        data.x[fit],
        data.y[fit],
        data.x[valid],
        data.y[valid],
        data.n_genres,
        params=found.best_params if found is not None else hp.lgbm_params(),
        num_boost_round=hp.num_boost_round,
        early_stopping_rounds=hp.early_stopping_rounds,
        seed=hp.seed,
        progress=progress,
    )


def calibrate(data: SplitData, model: LgbmModel, hp: Hyperparameters) -> calibration.Calibration:
    """The calibration served with ``model``, fitted on the validation users whose genre is a
    class; the prior is the fitting users' label share of each class."""
    valid = data.split.valid
    y = model.class_index(data.y[valid])
    keep = y >= 0
    prior_y = model.class_index(data.y[data.split.train])
    prior = np.bincount(prior_y[prior_y >= 0], minlength=len(model.class_genres))
    methods = calibration.METHODS if hp.calibration == "auto" else (hp.calibration,)
    return calibration.choose_calibration(
        model.class_proba(data.x[valid][keep]), y[keep], prior, methods, seed=hp.seed
    )


# --- evaluation and gate -----------------------------------------------------------------------


def score_test_users(
    data: SplitData, models: Models, previous: Artifact | None, lgbm_proba: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every model's scores over the genres for the test users (baselines first);
    ``lgbm_proba``: LightGBM's class probabilities of the test users, when already predicted."""
    test = data.split.test
    scores = {
        baselines.RULE: baselines.rule_scores(data.test_selected_genres(), models.popularity),
        baselines.GLOBAL: baselines.global_popular_scores(models.popularity, len(test)),
        logistic.NAME: models.logistic.scores(data.x[test]),
        lgbm.NAME: models.lightgbm.scores(data.x[test], lgbm_proba),
    }
    if previous is not None:
        x = encode_table(previous.spec, data.test_users())
        scores[PREVIOUS] = previous.scores(x, data.spec.genres)
    return scores


def served_figures(
    data: SplitData, models: Models, proba: np.ndarray | None = None
) -> dict[str, Any]:
    """LightGBM on the test users, uncalibrated and as served: log loss, top-label ECE, hit@1,
    hit@3; and the share of test users whose served top 3 is global popularity's top 3.
    ``proba``: LightGBM's class probabilities of the test users, when already predicted."""
    test = data.split.test
    y = data.y[test]
    model = models.lightgbm
    x = data.x[test]
    proba = model.class_proba(x) if proba is None else proba
    out: dict[str, Any] = {"calibration": model.calibration.method}
    served = model.scores(x, proba)
    for name, scores in (("uncalibrated", model.raw_scores(x, proba)), ("served", served)):
        hits = evaluation.summarize(evaluation.per_user_metrics(evaluation.true_ranks(scores, y)))
        out[name] = {
            "log_loss": evaluation.log_loss(scores, y),
            "ece": calibration.expected_calibration_error(scores, y),
            "hit@1": hits["hit@1"],
            "hit@3": hits["hit@3"],
        }
    out["top3_same_as_global"] = evaluation.top_k_same_share(served, models.popularity, 3)
    return out


def previous_info(previous: Artifact | None) -> dict[str, Any] | None:
    """The previous model's version and status, for metrics.json."""
    if previous is None:
        return None
    return {"model_version": previous.model_version, "status": previous.document.get("status")}


def segments_of_test_users(data: SplitData) -> dict[str, np.ndarray]:
    """The segment of each test user in each reported dimension."""
    users = data.test_users()
    return {
        "age band": evaluation.age_bands(_floats(users, "age", np.arange(users.num_rows))),
        "gender": evaluation.category_values(users.column("gender").to_pylist()),
        "selected genres": evaluation.count_bands(data.test_selected_genres().sum(axis=1)),
        "region group": evaluation.region_groups(
            evaluation.category_values(users.column("region").to_pylist())
        ),
    }


def evaluate(
    data: SplitData,
    scores: dict[str, np.ndarray],
    hp: Hyperparameters,
    previous: dict[str, Any] | None = None,
) -> Evaluation:
    """Metrics of every model in ``scores``, lifts over the baselines (and the previous model,
    when scored) from one paired bootstrap, and per-segment rows of LightGBM over the rule."""
    y_test = data.y[data.split.test]
    per_user = {
        name: evaluation.per_user_metrics(evaluation.true_ranks(s, y_test))
        for name, s in scores.items()
    }
    metrics = {name: evaluation.summarize(m) for name, m in per_user.items()}
    base_names = [*BASELINES, *([PREVIOUS] if PREVIOUS in scores else [])]
    lifts, intervals = evaluation.compare(
        per_user, list(CHALLENGERS), base_names, n_boot=hp.bootstrap, seed=hp.seed
    )
    segments = evaluation.segment_table(
        per_user,
        segments_of_test_users(data),
        lgbm.NAME,
        baselines.RULE,
        n_boot=hp.segment_bootstrap,
        seed=hp.seed,
    )
    return Evaluation(metrics, intervals, lifts, segments, previous)


def gate_verdict(evaluated: Evaluation) -> GateResult:
    """The quality gate on LightGBM's lifts (with the previous-model check when it was scored)."""
    return quality_gate(evaluated.lifts, lgbm.NAME, has_previous=PREVIOUS in evaluated.metrics)


# --- summaries for the artifact and the report ---------------------------------------------------


def summarize_data(
    source: Source, labelled: Labelled, data: SplitData, hp: Hyperparameters
) -> DataSummary:
    """The data summary of the run: labels, split, model.json's training_data, listening."""
    labels = labelled.labels
    return DataSummary(
        genres=source.genres,
        labels=labels,
        counts=labelled.counts,
        split=data.split,
        training_data=training_data(source.signup_ms, labelled, data.split, hp),
        listening=listening(labelled.counts.counts, source.users, labels.rows, source.genres),
    )


def training_data(
    signup_ms: np.ndarray, labelled: Labelled, split: Split, hp: Hyperparameters
) -> dict[str, Any]:
    """model.json's ``training_data``: window, events, signup ranges, data end, counts."""
    rows = labelled.labels.rows
    train_signups = signup_ms[rows[train_positions(split)]]
    test_signups = signup_ms[rows[split.test]]
    return {
        "label_window_days": [hp.window.start_days, hp.window.end_days],
        "label_events": list(hp.events),
        "min_plays": hp.min_plays,
        "train_signups": [_iso(train_signups.min()), _iso(train_signups.max())],
        "test_signups": [_iso(test_signups.min()), _iso(test_signups.max())],
        "data_end": _iso(labelled.counts.data_end_ms),
        "interactions": labelled.counts.n_interactions,
        "labels": labelled.labels.summary(),
        "split": split.summary(),
    }


def _iso(ms: float) -> str | None:
    if not np.isfinite(ms):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ms) / 1000.0))


def listening(
    counts: np.ndarray, users: pa.Table, rows: np.ndarray, genres: list[str]
) -> dict[str, Any]:
    """Window plays by genre for each gender and age band (labelled users), for the report."""
    sub = counts[rows].astype(np.float64)
    out: dict[str, Any] = {"genres": genres}
    dims = {
        "gender": evaluation.category_values(users.column("gender").take(rows).to_pylist()),
        "age band": evaluation.age_bands(_floats(users, "age", rows)),
    }
    for name, segment in dims.items():
        out[name] = _plays_by_segment(sub, segment)
    return out


def _plays_by_segment(plays: np.ndarray, segment: np.ndarray) -> list[dict[str, Any]]:
    """One row per segment value (in report order): its users and their plays per genre."""
    table = []
    for value in sorted(set(segment.tolist()), key=evaluation._segment_order):
        mask = segment == value
        total = plays[mask].sum(axis=0)
        table.append(
            {"segment": value, "users": int(mask.sum()), "plays": total.astype(int).tolist()}
        )
    return table


def _floats(users: pa.Table, column: str, rows: np.ndarray) -> np.ndarray:
    if column not in users.column_names:
        return np.full(len(rows), np.nan)
    values = users.column(column).take(pa.array(rows)).cast(pa.float64())
    return np.asarray(pc.fill_null(values, np.nan), dtype=np.float64)
