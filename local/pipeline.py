"""``python -m local.pipeline`` (``make retrain``): the retraining pipeline's steps, run locally in
the order of ``training.steps.STEPS`` (the order the state machine runs them in AWS):

train + gate (against the model being served) → create model → update endpoint (the running
local stack restarts its inference server on the new model) → batch score (two shards) → merge →
load → switch. A model that fails the gate stops the run: nothing is deployed, the old model and
lists keep serving.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from lambdas.batch_source import BatchSource
from lambdas.load import load_file, switch
from local import build, deployment
from local.deployment import Deployment
from local.stack import Stack
from training.steps import STEPS

SHARDS = 2
DEPLOY_TIMEOUT_S = 120


class PipelineError(RuntimeError):
    """A step that failed; later steps did not run."""


def served_version(stack: Stack) -> str | None:
    try:
        with urllib.request.urlopen(f"{stack.model_url}/ping", timeout=2) as response:
            return str(json.loads(response.read()).get("model_version"))
    except (OSError, ValueError):
        return None


def run(stack: Stack, data: Path, hyperparameters: list[str]) -> dict[str, str]:
    """Every step in order; what was deployed."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    model_dir = stack.dir / "models" / stamp
    batch_root = stack.dir / "batch"
    version_dir = batch_root / f"local-{stamp}"
    last = deployment.read(stack)
    current = Path(last.model_dir) if last else stack.dir / "model"
    dataset = build.dataset_fingerprint(data)
    done: dict[str, str] = {}
    for step in STEPS:
        with build.step(f"{step.name} ({step.kind})"):
            if step.name == "train":
                passed = build.model(data, model_dir, True, current, hyperparameters)
                if not passed:
                    metrics = json.loads((model_dir / "metrics.json").read_text())
                    raise PipelineError(f"quality gate: {metrics['gate']['reason']}; not deployed")
                done["model_version"] = json.loads((model_dir / "metrics.json").read_text())[
                    "model_version"
                ]
            elif step.name == "create-model":
                done["model_dir"] = str(model_dir)
            elif step.name == "update-endpoint":
                lists = last.batch_dir if last else None  # until this run's lists switch
                deployment.write(stack, Deployment(str(model_dir.resolve()), dataset, lists))
                deadline = time.monotonic() + DEPLOY_TIMEOUT_S
                while served_version(stack) != done["model_version"]:
                    if time.monotonic() > deadline:
                        raise PipelineError("the local stack did not serve the new model in time")
                    time.sleep(1)
            elif step.name == "batch-score":
                for shard in range(SHARDS):
                    build.run(["training.batch", "--data", str(data), "--out", str(batch_root),
                               "--version", version_dir.name, "--shard", f"{shard}/{SHARDS}",
                               "--no-progress"])  # fmt: skip
            elif step.name == "merge":
                build.run(["training.batch", "merge", str(version_dir)])
            elif step.name == "load":
                source, tables = BatchSource(str(version_dir)), build.tables(stack)
                manifest = source.manifest()
                for family, listing in manifest["families"].items():
                    for entry in listing["files"]:  # the Distributed Map: one file per iteration
                        load_file(source, family, entry, manifest["version"], tables)
            elif step.name == "switch":
                pointer = switch(BatchSource(str(version_dir)).manifest(), build.tables(stack))
                done["batch_version"] = str(pointer["version"])
                deployed = Deployment(str(model_dir.resolve()), dataset, str(version_dir.resolve()))
                deployment.write(stack, deployed)
            else:
                raise PipelineError(f"no local runner for step {step.name!r}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.pipeline", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dir", default=".local")
    parser.add_argument("--hp", action="append", default=[], help="a training hyperparameter")
    args = parser.parse_args(argv)
    try:
        stack = Stack.load(args.dir)
        data = Path(json.loads((stack.dir / "model" / "stamp.json").read_text())["data"])
        deployed = run(stack, data, args.hp)
    except (PipelineError, build.BuildError, FileNotFoundError) as exc:
        print(f"retrain: {exc}", file=sys.stderr)
        return 1
    print(f"retrain: serving model {deployed['model_version']}, lists {deployed['batch_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
