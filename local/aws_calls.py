"""Who calls AWS, and with what: an opt-in record of the AWS API calls that the Lambda functions
and the retraining pipeline's steps make when they run locally.

With ``MUSICREC_AWS_CALLS=<file>`` in the environment, :func:`install_from_env` (``local.up`` and
``local.pipeline`` call it when they start) makes every boto3 client of the process append one JSON
line per distinct call to ``<file>``: who made it (what :func:`acting_as` says: the local gateway
names the function it invokes, the local pipeline the step it runs), the service, the operation
and the parameters that name the resource (table, bucket and key, endpoint...). The test suite
sets the variable and checks each recorded call against the IAM policies of the synthesized CDK
templates (tests/infra/test_iam_coverage.py). Without the variable nothing is recorded and
:func:`acting_as` only sets a context variable.

A call from a thread that the caller started without its context (a thread pool's worker, e.g.
the loader's writers or an S3 upload's parts) is attributed to the invocation under way in the
process, when there is one (one chain of nested callers); otherwise it is not recorded.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

ENV = "MUSICREC_AWS_CALLS"
# a function, a pipeline step (its job's role for SageMaker jobs), or the state machine itself
# around a step (the states AWS runs before it, e.g. batch-score's read of the active version)
Kind = Literal["function", "step", "state"]
# Parameters that name what a call acts on (kept); the others (items, bodies...) are not recorded.
RESOURCE_PARAMS = (
    "TableName",
    "IndexName",
    "Bucket",
    "Key",
    "Prefix",
    "CopySource",
    "EndpointName",
    "EndpointConfigName",
    "ModelName",
    "TrainingJobName",
    "ProcessingJobName",
    "TopicArn",
    "TargetArn",
    "FunctionName",
    "StateMachineArn",
    "AlarmNames",
    "LogGroupName",
    "Name",  # EventBridge Scheduler's schedule (GetSchedule...)
    "GroupName",
)
EVENT = "before-parameter-build"  # emitted with the caller's own parameters, before any request

_caller: ContextVar[tuple[str, ...]] = ContextVar("musicrec_aws_caller", default=())
_lock = threading.Lock()
_running: list[tuple[str, ...]] = []  # the callers under way in this process, outermost first
_seen: set[str] = set()
_path: Path | None = None


@contextmanager
def acting_as(kind: Kind, name: str) -> Iterator[None]:
    """AWS calls made in this block are made by function or step ``name`` (nested blocks: the
    innermost one is who calls, e.g. the loader function within the pipeline's ``load`` step)."""
    chain = (*_caller.get(), f"{kind}:{name}")
    token = _caller.set(chain)
    with _lock:
        _running.append(chain)
    try:
        yield
    finally:
        with _lock:
            _running.remove(chain)
        _caller.reset(token)


def caller() -> tuple[str, ...]:
    """Who is calling: this context's chain of callers, else (a worker thread) the one chain of
    nested callers under way in the process, else nobody (``()``)."""
    chain = _caller.get()
    if chain:
        return chain
    with _lock:
        running = sorted(set(_running), key=len)
    if running and all(running[-1][: len(c)] == c for c in running):
        return running[-1]
    return ()


def resource_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a call that name its resources (batch and transaction items: their
    tables and kinds of write)."""
    kept: dict[str, Any] = {}
    for name in RESOURCE_PARAMS:
        value = params.get(name)
        if isinstance(value, dict) and name == "CopySource":
            value = f"{value.get('Bucket')}/{value.get('Key')}"
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            kept[name] = value
    if isinstance(params.get("RequestItems"), dict):
        kept["RequestItems"] = sorted(params["RequestItems"])
    if isinstance(params.get("TransactItems"), list):
        kept["TransactItems"] = [
            [kind, body.get("TableName")]
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    return kept


def _record(params: dict[str, Any], model: Any, **_: Any) -> None:
    """botocore's ``before-parameter-build`` handler: one line per distinct call and caller."""
    path, chain = _path, caller()
    if path is None or not chain:
        return
    line = json.dumps(
        {
            "caller": list(chain),
            "service": model.service_model.service_name,
            "operation": model.name,
            "params": resource_params(params),
        },
        sort_keys=True,
    )
    with _lock:
        if line in _seen:
            return
        _seen.add(line)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def install(path: str | Path) -> None:
    """Record to ``path`` the calls of every boto3 client created from now on (and of the default
    session's future clients, if it exists already)."""
    global _path
    import boto3
    import botocore.handlers

    _path = Path(path)
    if (EVENT, _record) not in botocore.handlers.BUILTIN_HANDLERS:  # every new session's
        botocore.handlers.BUILTIN_HANDLERS.append((EVENT, _record))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.register(EVENT, _record, unique_id=f"{__name__}._record")


def uninstall() -> None:
    """Stop recording (clients keep the handler, which then does nothing)."""
    global _path
    _path = None
    with _lock:
        _seen.clear()


def not_recorded(client: Any) -> Any:
    """``client``, its calls left out of the record: the local stack's own plumbing (e.g. the
    gateway's metrics, :mod:`local.metrics`), which stands in for AWS and is no function's."""
    client.meta.events.unregister(EVENT, _record)
    client.meta.events.unregister(EVENT, unique_id=f"{__name__}._record")
    return client


def install_from_env() -> None:
    """:func:`install` when ``MUSICREC_AWS_CALLS`` names a file."""
    if os.environ.get(ENV):
        install(os.environ[ENV])
