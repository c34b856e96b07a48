"""The onboarding training pipeline as one pure-ish function: dataset in, evaluated models out.

    validate -> labels -> split -> features -> baselines, logistic, LightGBM (+ previous model)
    -> metrics, lifts, segments -> quality gate

Writing the artifact, metrics.json and the report is left to the caller
(:mod:`training.model.train`), so tests can inspect every intermediate result.
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
from training.model import baselines, evaluation, lgbm, logistic
from training.model.artifact import Artifact, load_artifact
from training.model.feature_table import encode_table, fit_feature_spec
from training.model.features import FeatureSpec
from training.model.gate import PREVIOUS, GateResult, quality_gate
from training.model.hyperparams import LGBM_KEYS
from training.model.labels import (
    Labels,
    LabelWindow,
    WindowCounts,
    count_window_plays,
    genre_codes,
    top_genre_labels,
)
from training.model.splits import Split, make_split

#: The models of the comparison, production model first.
MODELS = (lgbm.NAME, logistic.NAME, baselines.RULE, baselines.GLOBAL)


class DataError(ValueError):
    """The dataset cannot train a model: invalid, no labels in the window, one class only."""


@dataclass
class Result:
    """Everything the pipeline computed; :mod:`training.model.train` writes it out."""

    hp: dict[str, Any]
    window: LabelWindow
    genres: list[str]
    spec: FeatureSpec
    labels: Labels
    counts: WindowCounts
    split: Split
    lgbm_model: lgbm.LgbmModel
    logistic_model: logistic.LogisticModel
    popularity: np.ndarray
    metrics: dict[str, dict[str, float]]
    intervals: dict[str, dict[str, list[float]]]
    lifts: list[evaluation.Lift]
    segments: list[dict[str, Any]]
    gate: GateResult
    data_window: dict[str, Any]
    listening: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    previous: dict[str, Any] | None = None

    @property
    def n_test(self) -> int:
        return len(self.split.test)


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


def _iso(ms: float) -> str | None:
    if not np.isfinite(ms):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ms) / 1000.0))


def _listening(
    counts: np.ndarray, users: pa.Table, rows: np.ndarray, genres: list[str]
) -> dict[str, Any]:
    """Window plays by genre for each gender and age band (labelled users), for the report."""
    sub = counts[rows].astype(np.float64)
    out: dict[str, Any] = {"genres": genres}
    dims = {
        "gender": evaluation.category_values(users.column("gender").take(rows).to_pylist()),
        "age band": evaluation.age_bands(_floats(users, "age", rows)),
    }
    for name, labels in dims.items():
        values = sorted(set(labels.tolist()), key=evaluation._segment_order)
        table = []
        for value in values:
            mask = labels == value
            plays = sub[mask].sum(axis=0)
            table.append(
                {"segment": value, "users": int(mask.sum()), "plays": plays.astype(int).tolist()}
            )
        out[name] = table
    return out


def _floats(users: pa.Table, column: str, rows: np.ndarray) -> np.ndarray:
    if column not in users.column_names:
        return np.full(len(rows), np.nan)
    values = users.column(column).take(pa.array(rows)).cast(pa.float64())
    return np.asarray(pc.fill_null(values, np.nan), dtype=np.float64)


def _previous_scores(
    previous: Artifact, users: pa.Table, genres: list[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    x = encode_table(previous.spec, users)
    info = {"model_version": previous.model_version, "status": previous.document.get("status")}
    return previous.scores(x, genres), info


def run_pipeline(
    data_dir: str | Path,
    hp: dict[str, Any],
    baseline_model: str | Path | None = None,
    validate_first: bool = True,
    progress: bool = True,
    verbose: bool = True,
) -> Result:
    """Train and evaluate every model on ``data_dir`` with hyperparameters ``hp`` (resolved)."""
    clock = _Clock(verbose)
    window = LabelWindow.parse(hp["label_window"])
    if validate_first:
        check_dataset(data_dir, progress)
        clock.done("validate")
    previous: Artifact | None = None
    if baseline_model:
        previous = load_artifact(baseline_model)

    try:
        users = read_table(data_dir, "users")
        items = read_table(data_dir, "items", ["item_id", "genre"])
    except (DatasetError, OSError) as exc:
        raise DataError(str(exc)) from None
    genres = sorted(set(pc.unique(items.column("genre").drop_null()).to_pylist()))
    if not genres:
        raise DataError("items: no genres, so nothing to predict")
    signup_ms = np.asarray(
        pc.fill_null(users.column("signup_ts").cast(pa.int64()), 0), dtype=np.int64
    )
    clock.done("read users and items", f"{users.num_rows:,} users, {len(genres)} genres")

    events = tuple(e.strip() for e in str(hp["label_events"]).split(",") if e.strip())
    counts = count_window_plays(
        str(data_dir),
        users.column("user_id"),
        signup_ms,
        items.column("item_id"),
        genre_codes(items, genres),
        len(genres),
        window,
        events=events,
        progress=progress,
    )
    labels = top_genre_labels(counts.counts, signup_ms, counts.data_end_ms, window, hp["min_plays"])
    clock.done("labels", f"{labels.n_labelled:,} labelled users")
    _check_labels(labels, window, hp)

    split = make_split(
        signup_ms[labels.rows],
        kind=hp["split"],
        test_fraction=hp["test_fraction"],
        valid_fraction=hp["valid_fraction"],
        max_train_users=hp["max_train_users"],
        seed=hp["seed"],
    )
    train_pos = np.concatenate([split.train, split.valid])
    if len(np.unique(labels.label[split.train])) < 2:
        raise DataError(
            "one class only: every training user has the same top genre "
            f"({genres[int(labels.label[split.train][0])]}); nothing to learn"
        )
    labelled = users.take(pa.array(labels.rows))
    spec = fit_feature_spec(
        labelled.take(pa.array(train_pos)),
        genres,
        min_level_count=hp["min_level_count"],
        max_levels=hp["max_levels"],
    )
    x = encode_table(spec, labelled)
    y = labels.label
    clock.done("split and features", f"{split.summary()}, {spec.n_columns} columns")

    test, fit, valid = split.test, split.train, split.valid
    popularity = baselines.genre_popularity(
        y[train_pos], counts.counts[labels.rows[train_pos]].sum(axis=0), len(genres)
    )
    selected = x[test][:, _genre_columns(spec)]
    scores: dict[str, np.ndarray] = {
        baselines.RULE: baselines.rule_scores(selected, popularity),
        baselines.GLOBAL: baselines.global_popular_scores(popularity, len(test)),
    }

    rng = np.random.default_rng(hp["seed"] + 2)
    lr_rows = fit
    cap = hp["logistic_max_train_users"]
    if cap and len(lr_rows) > cap:
        lr_rows = np.sort(rng.choice(lr_rows, size=cap, replace=False))
    logistic_model = logistic.fit_logistic(
        spec, x[lr_rows], y[lr_rows], len(genres), hp["logistic_c"], hp["logistic_max_iter"]
    )
    scores[logistic.NAME] = logistic_model.scores(x[test])
    clock.done("logistic regression", f"{len(lr_rows):,} users")

    lgbm_model = lgbm.fit_lgbm(
        spec,
        x[fit],
        y[fit],
        x[valid],
        y[valid],
        len(genres),
        params={k: hp[k] for k in LGBM_KEYS},
        num_boost_round=hp["num_boost_round"],
        early_stopping_rounds=hp["early_stopping_rounds"],
        seed=hp["seed"],
        progress=progress,
    )
    scores[lgbm.NAME] = lgbm_model.scores(x[test])
    clock.done("lightgbm", f"{lgbm_model.best_iteration} rounds, {len(fit):,} users")

    previous_info = None
    if previous is not None:
        scores[PREVIOUS], previous_info = _previous_scores(
            previous, labelled.take(pa.array(test)), genres
        )

    y_test = y[test]
    per_user = {
        name: evaluation.per_user_metrics(evaluation.true_ranks(s, y_test))
        for name, s in scores.items()
    }
    metrics = {name: evaluation.summarize(m) for name, m in per_user.items()}
    base_names = [baselines.RULE, baselines.GLOBAL] + ([PREVIOUS] if previous else [])
    all_lifts, intervals = evaluation.compare(
        per_user,
        [lgbm.NAME, logistic.NAME, baselines.RULE],
        base_names,
        n_boot=hp["bootstrap"],
        seed=hp["seed"],
    )
    test_users = labelled.take(pa.array(test))
    segments = {
        "age band": evaluation.age_bands(_floats(test_users, "age", np.arange(len(test)))),
        "gender": evaluation.category_values(test_users.column("gender").to_pylist()),
        "selected genres": evaluation.count_bands(selected.sum(axis=1)),
        "region group": evaluation.region_groups(
            evaluation.category_values(test_users.column("region").to_pylist())
        ),
    }
    segment_rows = evaluation.segment_table(
        per_user,
        segments,
        lgbm.NAME,
        baselines.RULE,
        n_boot=hp["segment_bootstrap"],
        seed=hp["seed"],
    )
    gate = quality_gate(all_lifts, lgbm.NAME, has_previous=previous is not None)
    clock.done("evaluation and gate", "passed" if gate.passed else "rejected")

    train_signups = signup_ms[labels.rows[train_pos]]
    test_signups = signup_ms[labels.rows[test]]
    data_window = {
        "label_window_days": [window.start_days, window.end_days],
        "label_events": list(events),
        "min_plays": hp["min_plays"],
        "train_signups": [_iso(train_signups.min()), _iso(train_signups.max())],
        "test_signups": [_iso(test_signups.min()), _iso(test_signups.max())],
        "data_end": _iso(counts.data_end_ms),
        "interactions": counts.n_interactions,
        "labels": labels.summary(),
        "split": split.summary(),
    }
    return Result(
        hp=hp,
        window=window,
        genres=genres,
        spec=spec,
        labels=labels,
        counts=counts,
        split=split,
        lgbm_model=lgbm_model,
        logistic_model=logistic_model,
        popularity=popularity,
        metrics=metrics,
        intervals=intervals,
        lifts=all_lifts,
        segments=segment_rows,
        gate=gate,
        data_window=data_window,
        listening=_listening(counts.counts, users, labels.rows, genres),
        timings=clock.timings,
        previous=previous_info,
    )


def _genre_columns(spec: FeatureSpec) -> list[int]:
    for block, offset in spec.block_offsets():
        if block.source == spec.genre_source and block.encoding == "multi_hot":
            return list(range(offset, offset + block.width))
    raise DataError("feature spec has no selected-genres block")


def _check_labels(labels: Labels, window: LabelWindow, hp: dict[str, Any]) -> None:
    if labels.n_labelled == 0:
        raise DataError(
            f"no labels: no user has at least {hp['min_plays']} plays in days {window} after "
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
