"""Train the onboarding model: ``python -m training.model.train --data DIR --model-dir DIR``.

    python -m training.model.train --data /tmp/w100k --model-dir /tmp/model \\
        [--report DIR] [--baseline-model DIR|model.tar.gz] [--label-window 30:60] \\
        [--min-plays 3] [--split time|random] [--hp key=value ...]

Prints the metrics table and writes the artifact (model.txt, model.json, model.tar.gz),
metrics.json and run.json (the run record: training.model.run_record) into ``--model-dir``.
Exit status: 0 when the quality gate passed, 1 when it rejected the model (the artifact is still
written, marked rejected), 2 on bad data or usage.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from training.model.artifact import (
    APPROVED,
    METRICS_FILE,
    REJECTED,
    ArtifactError,
    write_artifact,
    write_json,
)
from training.model.features import FeatureSpecError
from training.model.hyperparams import HyperparameterError, Hyperparameters
from training.model.run_record import RUN_FILE, run_document
from training.model.stages import MODELS, DataError, Result, run_pipeline

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT = 0, 1, 2
LIBRARIES = ("numpy", "pyarrow", "lightgbm", "scikit-learn", "optuna")


class TrainError(Exception):
    """A failure with a short human reason (bad data, bad arguments)."""


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def metrics_document(result: Result) -> dict[str, Any]:
    """metrics.json: test users, each model's metrics, the gate, and the lifts."""
    evaluated = result.evaluation
    doc: dict[str, Any] = {
        "n_test_users": int(result.n_test),
        "models": {name: evaluated.metrics[name] for name in MODELS},
        "gate": {"passed": bool(result.gate.passed), "reason": result.gate.reason},
        "gate_checks": result.gate.checks,
        "intervals": evaluated.intervals,
        "lifts": [lift.to_dict() for lift in evaluated.lifts],
        "segments": evaluated.segments,
        "served": evaluated.served,
    }
    if evaluated.previous is not None:
        doc["previous_model"] = {**evaluated.previous, **evaluated.metrics["previous_model"]}
    return doc


def artifact_document(result: Result, model_text: str, metrics: Mapping[str, Any]) -> dict:
    """model.json: what serving needs (spec, classes) and what auditing needs (the rest)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    digest = hashlib.sha256(model_text.encode()).hexdigest()[:10]
    genres, models = result.data.genres, result.models
    classes = [genres[int(c)] for c in models.lightgbm.class_genres]
    return {
        "model_version": f"onboarding-{stamp}-{digest}",
        "model_type": "lightgbm-multiclass",
        "task": "top genre in the label window after signup, from onboarding answers",
        "status": APPROVED if result.gate.passed else REJECTED,
        "gate": result.gate.to_dict(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "feature_spec": models.spec.to_dict(),
        "class_labels": classes,
        "best_iteration": models.lightgbm.best_iteration,
        "calibration": models.lightgbm.calibration.to_dict(),
        "training_data": result.data.training_data,
        "hyperparameters": result.hp.to_dict(),
        "lightgbm_params": models.search.best_params if models.search else result.hp.lgbm_params(),
        "search": models.search.to_dict() if models.search else None,
        "library_versions": library_versions(),
        "metrics": metrics,
        "popularity": {g: float(p) for g, p in zip(genres, models.popularity, strict=True)},
    }


def format_table(result: Result) -> str:
    """The metrics table, plain text: one row per model, hit@3 lifts over both baselines."""
    from training.model.evaluation import find_lift

    metrics, lifts = result.evaluation.metrics, result.evaluation.lifts
    lines = [
        f"test users: {result.n_test:,} ({result.data.split.kind} split), "
        f"label window days {result.hp.window}",
        f"{'model':<24}{'hit@1':>8}{'hit@3':>8}{'mrr':>8}"
        f"   {'hit@3 vs rule (95% CI)':<30}hit@3 vs global (95% CI)",
    ]
    names = list(MODELS) + (["previous_model"] if result.evaluation.previous else [])
    for name in names:
        m = metrics[name]
        cells = []
        for baseline in ("rule_selected_popular", "global_popular"):
            lift = find_lift(lifts, name, baseline, "hit@3")
            cells.append(
                f"{lift.lift:+.1%} ({lift.lift_low:+.1%} .. {lift.lift_high:+.1%})" if lift else ""
            )
        lines.append(
            f"{name:<24}{m['hit@1']:>8.4f}{m['hit@3']:>8.4f}{m['mrr']:>8.4f}"
            f"   {cells[0]:<30}{cells[1]}".rstrip()
        )
    lines.append(f"gate: {'PASSED' if result.gate.passed else 'REJECTED'} - {result.gate.reason}")
    return "\n".join(lines)


def train(
    data: str | Path,
    model_dir: str | Path,
    hp: Hyperparameters | None = None,
    report_dir: str | Path | None = None,
    baseline_model: str | Path | None = None,
    validate: bool = True,
    progress: bool = True,
    verbose: bool = True,
) -> tuple[int, Result]:
    """Run the pipeline, write artifact + metrics.json (+ report); return (exit code, result).

    Raises :class:`TrainError` with a short reason on bad data or arguments.
    """
    started = time.time()
    try:
        result = run_pipeline(
            data,
            hp or Hyperparameters(),
            baseline_model=baseline_model,
            validate_first=validate,
            progress=progress,
            verbose=verbose,
        )
    except (DataError, ArtifactError, FeatureSpecError, ValueError) as exc:
        raise TrainError(str(exc)) from exc
    model_text = result.models.lightgbm.booster.model_to_string()
    metrics = metrics_document(result)
    document = artifact_document(result, model_text, metrics)
    metrics["model_version"] = document["model_version"]
    metrics["status"] = document["status"]
    write_artifact(model_dir, model_text, document)
    write_json(Path(model_dir) / METRICS_FILE, metrics)
    run = run_document(result, document, data, started, time.time())
    write_json(Path(model_dir) / RUN_FILE, run)  # passed or refused: the pipeline records it
    if report_dir is not None:
        from training.model.report import write_report

        write_report(result, document, report_dir)
    return (EXIT_OK if result.gate.passed else EXIT_REJECTED), result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.model.train",
        description="Train and evaluate the onboarding model (LightGBM vs baselines).",
    )
    parser.add_argument("--data", required=True, type=Path, help="the dataset directory")
    parser.add_argument("--model-dir", required=True, type=Path, help="where to write the model")
    parser.add_argument("--report", type=Path, help="write an HTML report into this directory")
    parser.add_argument(
        "--baseline-model",
        type=Path,
        help="a previous model (directory or model.tar.gz) the new one must not be worse than",
    )
    parser.add_argument("--label-window", help="days after signup, START:END (default 30:60)")
    parser.add_argument("--min-plays", type=int, help="fewest window plays for a label (3)")
    parser.add_argument("--split", choices=("time", "random"), help="test split (default time)")
    parser.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyperparameter (repeatable); see training/model/hyperparams.py",
    )
    parser.add_argument("--no-validate", action="store_true", help="skip the dataset validator")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shortcuts = {key: getattr(args, key) for key in ("label_window", "min_plays", "split")}
    try:
        hp = Hyperparameters.from_cli(args.hp, shortcuts)
    except HyperparameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        code, result = train(
            args.data,
            args.model_dir,
            hp,
            report_dir=args.report,
            baseline_model=args.baseline_model,
            validate=not args.no_validate,
            progress=not args.no_progress,
        )
    except TrainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_table(result))
    if code != EXIT_OK:
        print(
            f"model rejected; artifact written to {args.model_dir} marked rejected", file=sys.stderr
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
