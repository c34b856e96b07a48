"""``python -m local.pipeline`` (``make retrain``): the retraining pipeline's steps, run locally in
the order of ``training.pipeline.steps.STEPS`` (the order the state machine runs them in AWS):

train + gate (against the model being served) → create model → update endpoint (the running
local stack restarts its inference server on the new model) → batch score (two shards) → merge,
and the version published to ``s3://<bucket>/batch/<version>/`` as the processing jobs publish
it → load (the loader Lambda's handler, in-process, once per object under that prefix, as the
Distributed Map calls it) → switch (the same handler). A model that fails the gate stops the
run: nothing is deployed, the old model and lists keep serving.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.routes import LOADER
from local import aws, aws_calls, build, deployment
from local.deployment import Deployment
from local.gateway import LambdaContext, load_handler
from local.publish import upload
from local.stack import Stack
from training.pipeline.steps import STEPS

SHARDS = 2
DEPLOY_TIMEOUT_S = 120


class PipelineError(RuntimeError):
    """A step that failed; later steps did not run."""


def served_model_version(stack: Stack) -> str | None:
    """The model version the stack's inference server reports, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{stack.model_url}/ping", timeout=2) as response:
            return str(json.loads(response.read()).get("model_version"))
    except (OSError, ValueError):
        return None


def batch_keys(stack: Stack, version: str) -> list[str]:
    """The objects under a version's prefix (what the Distributed Map's S3 reader lists)."""
    s3 = aws.client("s3", stack.aws_url)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.bucket, Prefix=f"batch/{version}/"
    ):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def invoke_loader(event: dict[str, Any]) -> dict[str, Any]:
    """The loader Lambda's handler, in this process, as the state machine invokes it."""
    context = LambdaContext(LOADER.name, LOADER.memory_mb, LOADER.timeout_s)
    try:
        with aws_calls.acting_as("function", LOADER.name):
            return load_handler(LOADER.handler)(event, context)
    except Exception as exc:  # a failed task fails the execution, saying which and why
        raise PipelineError(f"loader {event.get('action')} {event.get('key', '')}: {exc}") from exc


def update_endpoint(
    stack: Stack,
    deployed: Deployment,
    last: Deployment | None,
    model_version: str,
    timeout_s: float = DEPLOY_TIMEOUT_S,
) -> None:
    """Record the deployment and wait until the stack serves ``model_version``. A model it does
    not serve in time (one that does not start is rolled back by the stack) is not left
    recorded: ``last`` is recorded again, so the next ``make local`` serves the previous model."""
    deployment.write(stack, deployed)
    deadline = time.monotonic() + timeout_s
    while served_model_version(stack) != model_version:
        if time.monotonic() > deadline:
            if last is None:
                deployment.discard(stack)
            else:
                deployment.write(stack, last)
            raise PipelineError(
                "the local stack did not serve the new model in time; the previous model "
                "keeps serving"
            )
        time.sleep(1)


def run(stack: Stack, data: Path, hyperparameters: list[str]) -> dict[str, str]:
    """Every step in order; what was deployed."""
    os.environ.update(stack.handler_env())  # what the loader Lambda gets, pointed at local AWS
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    model_dir = stack.dir / "models" / stamp
    batch_root = stack.dir / "batch"
    version = f"local-{stamp}"
    version_dir = batch_root / version
    batch_uri = f"s3://{stack.bucket}/batch/{version}"
    last = deployment.read(stack)
    current = Path(last.model_dir) if last else stack.dir / "model"
    dataset = build.dataset_fingerprint(data)
    done: dict[str, str] = {}
    for step in STEPS:
        with build.step(f"{step.name} ({step.kind})"), aws_calls.acting_as("step", step.name):
            if step.name == "train":
                passed = build.model(data, model_dir, True, current, hyperparameters)
                metrics = json.loads((model_dir / "metrics.json").read_text())
                if not passed:
                    raise PipelineError(f"quality gate: {metrics['gate']['reason']}; not deployed")
                done["model_version"] = str(metrics["model_version"])
            elif step.name == "create-model":
                done["model_dir"] = str(model_dir)
            elif step.name == "update-endpoint":
                lists = last.batch_dir if last else None  # until this run's lists switch
                deployed = Deployment(str(model_dir.resolve()), dataset, lists)
                update_endpoint(stack, deployed, last, done["model_version"])
            elif step.name == "batch-score":
                for shard in range(SHARDS):
                    build.run(["training.batch", "--data", str(data), "--out", str(batch_root),
                               "--version", version, "--shard", f"{shard}/{SHARDS}",
                               "--no-progress"])  # fmt: skip
            elif step.name == "merge":
                build.run(["training.batch", "merge", str(version_dir)])
                try:
                    upload(version_dir, batch_uri, aws.client("s3", stack.aws_url))
                except (BotoCoreError, ClientError) as exc:
                    raise PipelineError(f"publishing {batch_uri}: {exc}") from exc
            elif step.name == "load":
                for key in batch_keys(stack, version):
                    invoke_loader({"action": "load-file", "batch": batch_uri, "key": key})
            elif step.name == "switch":
                pointer = invoke_loader({"action": "switch", "batch": batch_uri})
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
    aws_calls.install_from_env()
    try:
        stack = Stack.load(args.dir)
        if served_model_version(stack) is None:
            raise PipelineError(
                f"no local stack answers at {stack.model_url}; start one with `make local`"
            )
        data = Path(json.loads((stack.dir / "model" / "stamp.json").read_text())["data"])
        deployed = run(stack, data, args.hp)
    except (PipelineError, build.BuildError, aws.AwsError, FileNotFoundError) as exc:
        print(f"retrain: {exc}", file=sys.stderr)
        return 1
    print(f"retrain: serving model {deployed['model_version']}, lists {deployed['batch_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
