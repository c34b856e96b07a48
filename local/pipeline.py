"""``python -m local.pipeline`` (``make retrain``): the retraining pipeline's steps, run locally in
the order of ``training.pipeline.steps.STEPS`` (the order the state machine runs them in AWS):

train + gate (against the promoted model: ``deployment.promoted``, the local models/current),
then the run's record, passed or refused (the model directory uploaded as SageMaker uploads a
training job's ``model.tar.gz``, to ``s3://<bucket>/models/<job>/output/``, and the loader
Lambda's ``record-run`` on it, as the state machine's record step invokes it) → create model →
update endpoint (the running local stack restarts its inference server on the new model; the
run waits, bounded, until it serves the new model version and answers a canary request, and
only then promotes it; a model the stack rolls back, or that does not come up or
answers wrongly, fails the run: the previous model keeps serving and stays the baseline) → batch
score (two shards; shard 0 applies the batch gate against the active version, the loader's
pointer, whose files are under the stack's batch directory: a refused version fails the run
before it is merged or published, and the active version keeps serving) → merge,
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
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.routes import LOADER
from lambdas.store.loader import active as active_pointer
from local import aws, aws_calls, build, deployment
from local.deployment import Deployment
from local.gateway import LambdaContext, load_handler
from local.publish import upload
from local.stack import Stack
from training.batch.gate import GATE_FILE
from training.pipeline.steps import STEPS

SHARDS = 2
BATCH_ARGS: tuple[str, ...] = ("--no-progress",)  # what the batch-score step adds to each shard
# How long the stack may take to serve a deployed model: its own startup bound (local.up's
# MODEL_STARTUP_S, after which it rolls the model back) and a restart's seconds on top.
DEPLOY_TIMEOUT_S = 150
CANARY = {"age": 24, "gender": "f", "region": "us-tx", "selected_genres": ["Hip Hop", "R&B"]}


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


def publish_artifact(stack: Stack, model_dir: Path, job: str) -> str:
    """The model directory as SageMaker uploads a training job's /opt/ml/model: every file
    tarred at the top level, to ``s3://<bucket>/models/<job>/output/model.tar.gz``; its URI."""
    key = f"models/{job}/output/model.tar.gz"
    with tempfile.TemporaryDirectory() as scratch:
        tarball = Path(scratch) / "model.tar.gz"
        with tarfile.open(tarball, "w:gz") as tar:
            for path in sorted(model_dir.iterdir()):
                tar.add(path, arcname=path.name)
        try:
            aws.client("s3", stack.aws_url).upload_file(str(tarball), stack.bucket, key)
        except (BotoCoreError, ClientError, OSError) as exc:
            where = f"s3://{stack.bucket}/{key}"
            raise PipelineError(f"uploading the model artifact to {where}: {exc}") from exc
    return f"s3://{stack.bucket}/{key}"


def record_run(stack: Stack, model_dir: Path, job: str) -> dict[str, Any] | None:
    """The record step: the run's record under ``runs/`` (the loader's ``record-run``), passed
    or refused. Its failure does not decide the run (as in the state machine, where it goes to
    ``$.record_error``): it is printed, and None returned."""
    try:
        artifact = publish_artifact(stack, model_dir, job)
        return invoke_loader({"action": "record-run", "job": job, "artifact": artifact})
    except PipelineError as exc:
        print(f"retrain: the run was not recorded: {exc}", file=sys.stderr)
        return None


def canary_problem(stack: Stack, model_version: str) -> str | None:
    """What is wrong with the served model's answer to a canary request (None: nothing): it
    must answer 200, with a JSON object, from ``model_version``."""
    request = urllib.request.Request(
        f"{stack.model_url}/invocations",
        data=json.dumps(CANARY).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return f"it answered a canary request with {exc.code}"
    except (OSError, ValueError) as exc:
        return f"its answer to a canary request is not JSON ({exc})"
    if not isinstance(answer, dict) or str(answer.get("model_version")) != model_version:
        found = answer.get("model_version") if isinstance(answer, dict) else answer
        return f"a canary request was answered by model {found!r}"
    return None


def _outcome(stack: Stack, deployed: Deployment, model_version: str, timeout_s: float) -> str:
    """Why the update did not end with ``model_version`` serving and answering ("": it did)."""
    deadline = time.monotonic() + timeout_s
    while (served := served_model_version(stack)) != model_version:
        why = deployment.rolled_back(stack, deployed.model_dir)
        if why:
            return f"the local stack rolled model {model_version} back: {why}"
        if time.monotonic() > deadline:
            return (
                f"the local stack did not serve model {model_version} within {timeout_s:.0f} s"
                f" (it serves {served or 'nothing'})"
            )
        time.sleep(1)
    problem = canary_problem(stack, model_version)
    return f"model {model_version} is served, but {problem}" if problem else ""


def update_endpoint(
    stack: Stack,
    deployed: Deployment,
    last: Deployment | None,
    model_version: str,
    timeout_s: float = DEPLOY_TIMEOUT_S,
) -> None:
    """The local UpdateEndpoint and the wait for its outcome: record the deployment (the
    running stack redeploys it), wait at most ``timeout_s`` until the stack serves
    ``model_version``, then a canary request must be answered by it. Then the model is promoted
    (the next run's gate baseline). Otherwise nothing is promoted, ``last`` is recorded again
    (the stack serves it again, as it already does when it rolled back a model that did not
    start; the next ``make local`` too) and PipelineError says why."""
    before = served_model_version(stack)
    deployment.write(stack, deployed)
    try:
        problem = _outcome(stack, deployed, model_version, timeout_s)
    except BaseException:  # interrupted: the deployment is not left recorded
        _restore(stack, last, None)
        raise
    if not problem:
        deployment.promote(stack, deployed)
        return
    serving_new = served_model_version(stack) == model_version  # it answered wrongly
    initial = Deployment(str((stack.dir / "model").resolve()), deployed.dataset)
    _restore(stack, last, initial if serving_new else None)
    if serving_new and before is not None:  # the stack goes back to the previous model
        deadline = time.monotonic() + timeout_s
        while served_model_version(stack) != before and time.monotonic() < deadline:
            time.sleep(1)
    served = served_model_version(stack)
    if before is None or served == before:
        serving = "the previous model keeps serving" + (f" (model {before})" if before else "")
    else:
        serving = f"the stack serves {served or 'nothing'}, not yet the previous model {before}"
    raise PipelineError(
        f"canary failed, model not promoted: {problem}; {serving}; the baseline is unchanged"
    )


def _restore(stack: Stack, last: Deployment | None, initial: Deployment | None) -> None:
    """Record ``last`` again; without one, ``initial`` (what ``make local`` built, given when
    the stack serves the rejected model, so that it goes back to it), else nothing."""
    if last is not None:
        deployment.write(stack, last)
    elif initial is not None and Path(initial.model_dir).is_dir():
        deployment.write(stack, initial)
    else:
        deployment.discard(stack)


def active_batch(stack: Stack) -> Path | None:
    """The directory of the batch version the loader made active (the batch gate's reference),
    or None: no version is active yet, or its files are not under the stack's batch directory."""
    pointer = active_pointer(build.tables(stack))
    if pointer is None:
        return None
    version_dir = stack.dir / "batch" / str(pointer["version"])
    if not (version_dir / "manifest.json").is_file():
        print(f"retrain: the active batch version has no files at {version_dir}: not gated")
        return None
    return version_dir


def score_batch(
    data: Path, batch_root: Path, version: str, active: Path | None, shards: int = SHARDS
) -> None:
    """The batch-score step: every shard of the version, shard 0 applying the batch gate against
    ``active``. A version the gate refuses raises PipelineError with its reason (the metric and
    its interval): it is not merged, published, loaded or switched."""
    for shard in range(shards):
        command = ["training.batch", "--data", str(data), "--out", str(batch_root),
                   "--version", version, "--shard", f"{shard}/{shards}", *BATCH_ARGS]  # fmt: skip
        if active is not None:
            command += ["--active", str(active)]
        if build.run(command, allowed=(0, 1)) == 0:
            continue
        gate_file = batch_root / version / GATE_FILE
        verdict = json.loads(gate_file.read_text()) if gate_file.is_file() else {"passed": True}
        if verdict["passed"]:
            raise PipelineError(f"`python -m {' '.join(command)}` exited with 1")
        serving = f"the active version {active.name}" if active else "the active version"
        raise PipelineError(f"batch gate: {verdict['reason']}; not published, {serving} serves")


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
    dataset = build.dataset_fingerprint(data)
    promoted = deployment.promoted(stack, dataset)  # the local models/current
    current = Path(promoted.model_dir) if promoted else stack.dir / "model"
    done: dict[str, str] = {}
    for step in STEPS:
        with build.step(f"{step.name} ({step.kind})"), aws_calls.acting_as("step", step.name):
            if step.name == "train":
                passed = build.model(data, model_dir, True, current, hyperparameters)
                metrics = json.loads((model_dir / "metrics.json").read_text())
                recorded = record_run(stack, model_dir, f"local-{stamp}")
                if recorded:
                    done["run_id"] = str(recorded["run_id"])
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
                with aws_calls.acting_as("state", step.name):  # the state machine's GetItem
                    active = active_batch(stack)
                score_batch(data, batch_root, version, active)
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
