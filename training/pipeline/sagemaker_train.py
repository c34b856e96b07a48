"""SageMaker's ``train`` for the onboarding model: ``python -m training.pipeline.sagemaker_train``.

Reads the layout SageMaker mounts (``--prefix``, default ``/opt/ml``)::

    input/data/train/                     the dataset directory (the "train" channel)
    input/data/baseline/                  optional: a previous model.tar.gz (or model dir)
    input/config/hyperparameters.json     optional: {"key": "value", ...} (strings)

and writes ``model/`` (the artifact and metrics.json; SageMaker uploads it), the HTML report
into ``output/data/report/``, and on failure ``output/failure`` (a short human reason, which
SageMaker shows as the job's FailureReason) with a non-zero exit: 1 when the quality gate
rejected the model (the artifact is still written, marked rejected), 2 on bad data or
configuration.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from training.model.artifact import TARBALL
from training.model.hyperparams import HyperparameterError, Hyperparameters
from training.model.train import EXIT_BAD_INPUT, EXIT_OK, TrainError, format_table, train

DEFAULT_PREFIX = Path("/opt/ml")
#: SageMaker truncates FailureReason; keep the file short.
MAX_FAILURE_CHARS = 1000


def find_baseline(channel: Path) -> Path | None:
    """The previous model in the baseline channel: a model.tar.gz, a model dir, or nothing."""
    if not channel.is_dir():
        return None
    if (channel / TARBALL).is_file() or (channel / "model.json").is_file():
        return channel
    tarballs = sorted(channel.rglob("*.tar.gz"))
    return tarballs[0] if tarballs else None


def write_failure(prefix: Path, reason: str) -> Path:
    path = prefix / "output" / "failure"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = reason.strip()
    if len(text) > MAX_FAILURE_CHARS:
        text = text[: MAX_FAILURE_CHARS - 3] + "..."
    path.write_text(text + "\n", encoding="utf-8")
    return path


def run(prefix: Path, progress: bool = True) -> int:
    """Train from the /opt/ml-like layout under ``prefix``; return the exit code."""
    data = prefix / "input" / "data" / "train"
    if not data.is_dir():
        reason = f"no training data: the 'train' channel {data} does not exist"
        write_failure(prefix, reason)
        print(f"error: {reason}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        hp = Hyperparameters.from_json(prefix / "input" / "config" / "hyperparameters.json")
        code, result = train(
            data,
            prefix / "model",
            hp,
            report_dir=prefix / "output" / "data" / "report",
            baseline_model=find_baseline(prefix / "input" / "data" / "baseline"),
            progress=progress,
        )
    except (TrainError, HyperparameterError) as exc:
        write_failure(prefix, str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # SageMaker must get a failure file, whatever broke
        traceback.print_exc()
        write_failure(prefix, f"training failed unexpectedly: {type(exc).__name__}: {exc}")
        return EXIT_BAD_INPUT
    print(format_table(result))
    if code != EXIT_OK:
        write_failure(prefix, f"quality gate {result.gate.reason}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.pipeline.sagemaker_train",
        description="SageMaker training entrypoint for the onboarding model.",
    )
    parser.add_argument("--prefix", type=Path, default=DEFAULT_PREFIX, help="default /opt/ml")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    return run(args.prefix, progress=not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
