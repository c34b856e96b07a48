"""DynamoDB throttling injected into the real boto3 clients our code creates, with botocore's
event hooks: a matching request gets DynamoDB's throttling answer (HTTP 400,
``ProvisionedThroughputExceededException``) and is never carried out, so botocore's own retry
logic sees exactly what DynamoDB would send."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse

THROTTLED = "ProvisionedThroughputExceededException"
Match = Callable[[dict[str, Any]], bool]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body


@dataclass
class Injected:
    """How many requests were throttled, and how many matched in all."""

    throttled: int = 0
    matched: int = 0


def throttle_response(
    request: Any, code: str = THROTTLED, reasons: list[str] | None = None
) -> AWSResponse:
    """DynamoDB's throttling answer to ``request``. Every ``before-send`` handler sees a request
    (the first answer wins), so the request is also pointed where in-process moto serves
    nothing: it must not be carried out."""
    url = request.url
    request.url = "http://throttled.invalid/"
    document: dict[str, Any] = {
        "__type": f"com.amazonaws.dynamodb.v20120810#{code}",
        "message": "throttled (injected)",
    }
    if reasons:  # a cancelled transaction says why, item by item
        document["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
    return AWSResponse(url, 400, headers, _Raw(body))


@contextmanager
def throttled(
    client: Any,
    operation: str,
    times: int | None = None,
    match: Match = lambda request: True,
    code: str = THROTTLED,
    reasons: list[str] | None = None,
) -> Iterator[Injected]:
    """Throttle ``operation`` calls of ``client`` whose JSON request ``match`` accepts: the first
    ``times`` of them, or every one (``None``). Registered first, so moto never sees them."""
    injected = Injected()

    def before_send(request: Any, **kwargs: Any) -> AWSResponse | None:
        if not match(json.loads(request.body or b"{}")):
            return None
        injected.matched += 1
        if times is not None and injected.throttled >= times:
            return None
        injected.throttled += 1
        return throttle_response(request, code, reasons)

    event = f"before-send.dynamodb.{operation}"
    client.meta.events.register_first(event, before_send, unique_id=f"fault-{id(injected)}")
    try:
        yield injected
    finally:
        client.meta.events.unregister(event, unique_id=f"fault-{id(injected)}")


def writes_user_events(request: dict[str, Any]) -> bool:
    """A PutItem of a listener's event item (not the event_id marker)."""
    return str(request.get("Item", {}).get("pk", {}).get("S", "")).startswith("user#")


@dataclass
class Unprocessed:
    """What :func:`flaky_batch_writes` did."""

    calls: int = 0
    throttled: int = 0
    left_unprocessed: int = 0


@contextmanager
def flaky_batch_writes(
    client: Any, every: int = 4, max_throttles: int | None = None
) -> Iterator[Unprocessed]:
    """BatchWriteItem as DynamoDB answers under pressure, on ``client``: of every ``every``
    calls, one is throttled outright (no item written; at most ``max_throttles`` in all), one
    writes only the first half of its items and returns the rest as ``UnprocessedItems``."""
    report = Unprocessed()
    local = threading.local()
    lock = threading.Lock()

    def before_send(request: Any, **kwargs: Any) -> AWSResponse | None:
        with lock:
            report.calls += 1
            turn = report.calls % every
        local.dropped = None
        if turn == 1 and (max_throttles is None or report.throttled < max_throttles):
            report.throttled += 1
            return throttle_response(request)
        document = json.loads(request.body)
        if turn == 2:
            (name, requests), *_ = document["RequestItems"].items()
            if len(requests) > 1:
                half = len(requests) // 2
                local.dropped = {name: requests[half:]}
                document["RequestItems"][name] = requests[:half]
                request.body = json.dumps(document).encode()
                request.headers["Content-Length"] = str(len(request.body))
                with lock:
                    report.left_unprocessed += len(requests) - half
        return None

    def after_call(parsed: dict[str, Any], **kwargs: Any) -> None:
        dropped = getattr(local, "dropped", None)
        if dropped:  # still DynamoDB's typed form: boto3's own hook converts it afterwards
            parsed["UnprocessedItems"] = dropped
            local.dropped = None

    hooks: dict[str, Callable[..., Any]] = {"before-send": before_send, "after-call": after_call}
    names = {stage: f"fault-flaky-{stage}-{id(report)}" for stage in hooks}  # ids are global
    for stage, hook in hooks.items():
        client.meta.events.register_first(f"{stage}.dynamodb.BatchWriteItem", hook, names[stage])
    try:
        yield report
    finally:
        for stage in hooks:
            event = f"{stage}.dynamodb.BatchWriteItem"
            client.meta.events.unregister(event, unique_id=names[stage])
