"""What CloudWatch receives in AWS, published locally to moto's CloudWatch, so that the console's
time series (:mod:`lambdas.logic.metrics`) read the same metrics on both.

- API Gateway's detailed metrics: after each answer of a route the local gateway calls
  :meth:`Publisher.answered` with the method, the request target, the status and the latency
  (ms, from receiving the request to the answer); the publisher queues ``AWS/ApiGateway``
  ``Count`` (1), ``4XXError`` and ``5XXError`` (0 or 1) and ``Latency`` with the dimensions
  ApiName, Stage, Resource (the route's path template) and Method. A request that matches no
  route is left out, as API Gateway has no method to publish it under.
- The functions' EMF lines: in Lambda, CloudWatch Logs turns the JSON lines Powertools prints
  (``{"_aws": {"CloudWatchMetrics": [...]}, ...}``) into metrics. Here :class:`EmfTee` stands in
  ``sys.stdout`` (the handlers run in this process, on the gateway's worker threads and the
  schedules' threads): it queues each EMF line's metrics with their dimensions and passes every
  other line on to the console.

A daemon thread puts what is queued every ``flush_s`` seconds with PutMetricData (per namespace,
at most :data:`MAX_DATUMS` datums a call; counts as statistic sets, other values as
Values/Counts, which keeps raw values for the percentiles). A failure is printed, never raised
into a request; the queue is bounded and drops its oldest samples when full, counting them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

from local import aws_calls
from local.aws import CREDENTIALS, REGION
from local.gateway import match

API_NAMESPACE = "AWS/ApiGateway"
FLUSH_S = 5.0
MAX_QUEUED = 50_000  # samples; beyond, the oldest are dropped (counted in ``dropped``)
MAX_DATUMS = 200  # per PutMetricData call (AWS: 1,000 datums and 1 MB; 150 values a datum)
MAX_VALUES = 150  # distinct values of one datum's Values
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 2, 10
Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    """One value of one metric at one time (epoch seconds)."""

    namespace: str
    name: str
    dimensions: Dimensions
    value: float
    unit: str
    at: float


def answer_samples(
    api_name: str, stage: str, method: str, target: str, status: int, latency_ms: float, at: float
) -> list[Sample]:
    """API Gateway's detailed metrics of one answer; none for a request no route matches."""
    found = match(method, urlsplit(target).path)
    if found is None:
        return []
    route, _ = found
    dims = (("ApiName", api_name), ("Stage", stage), ("Resource", route.path),
            ("Method", route.method))  # fmt: skip
    counts = (("Count", 1.0), ("4XXError", float(400 <= status < 500)),
              ("5XXError", float(500 <= status < 600)))  # fmt: skip
    samples = [Sample(API_NAMESPACE, name, dims, value, "Count", at) for name, value in counts]
    samples.append(Sample(API_NAMESPACE, "Latency", dims, latency_ms, "Milliseconds", at))
    return samples


def emf_samples(line: str) -> list[Sample]:
    """The metrics of an EMF line, as CloudWatch Logs extracts them (each directive's metrics
    under each of its dimension sets, with the values the line's root holds); none for any
    other line."""
    if '"_aws"' not in line:
        return []
    try:
        document = json.loads(line)
        directives = document["_aws"]["CloudWatchMetrics"]
        at = float(document["_aws"].get("Timestamp", time.time() * 1000)) / 1000
    except (ValueError, KeyError, TypeError):
        return []
    samples = []
    for directive in directives if isinstance(directives, list) else []:
        for dims in _dimension_sets(document, directive):
            for metric in directive.get("Metrics") or []:
                name = metric.get("Name")
                raw = document.get(name)
                for value in raw if isinstance(raw, list) else [raw]:
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        unit = str(metric.get("Unit") or "None")
                        ns = str(directive.get("Namespace"))
                        samples.append(Sample(ns, str(name), dims, float(value), unit, at))
    return samples


def _dimension_sets(document: dict[str, Any], directive: dict[str, Any]) -> Iterator[Dimensions]:
    """Each dimension set whose dimensions the line holds (the others are not extracted)."""
    for names in directive.get("Dimensions") or [[]]:
        if all(isinstance(document.get(n), str) for n in names):
            yield tuple((n, str(document[n])) for n in names)


def datums(samples: Iterable[Sample]) -> dict[str, list[dict[str, Any]]]:
    """PutMetricData's MetricData per namespace: per metric, dimensions, unit and second, the
    counts as one statistic set and other values as Values with their Counts."""
    groups: dict[tuple[str, str, Dimensions, str, int], list[float]] = {}
    for s in samples:
        groups.setdefault((s.namespace, s.name, s.dimensions, s.unit, int(s.at)), []).append(
            s.value
        )
    found: dict[str, list[dict[str, Any]]] = {}
    for (namespace, name, dims, unit, second), values in groups.items():
        base = {
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            "Timestamp": datetime.fromtimestamp(second, UTC),
            "Unit": unit,
        }
        batch = found.setdefault(namespace, [])
        if unit == "Count":
            stats = {"SampleCount": float(len(values)), "Sum": sum(values),
                     "Minimum": min(values), "Maximum": max(values)}  # fmt: skip
            batch.append({**base, "StatisticValues": stats})
            continue
        tally = sorted(Counter(values).items())
        for first in range(0, len(tally), MAX_VALUES):
            part = tally[first : first + MAX_VALUES]
            batch.append({**base, "Values": [v for v, _ in part],
                          "Counts": [float(n) for _, n in part]})  # fmt: skip
    return found


class Publisher:
    """Queues samples and puts them to CloudWatch from a daemon thread (:meth:`start`,
    :meth:`close`); :meth:`answered` is the local gateway's hook."""

    def __init__(
        self,
        cloudwatch: Any,
        api_name: str,
        stage: str,
        flush_s: float = FLUSH_S,
        max_queued: int = MAX_QUEUED,
        log: TextIO | None = None,
    ) -> None:
        self.cloudwatch, self.api_name, self.stage = cloudwatch, api_name, stage
        self.flush_s = flush_s
        self.log = log or sys.stderr
        self.dropped = 0  # samples dropped from a full queue
        self.failed = 0  # samples whose PutMetricData failed
        self.put = 0  # samples put
        self._queue: deque[Sample] = deque(maxlen=max_queued)
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def answered(self, method: str, target: str, status: int, latency_ms: float) -> None:
        """The gateway answered ``method target`` with ``status`` in ``latency_ms``."""
        try:
            self.add(answer_samples(self.api_name, self.stage, method, target, status,
                                    latency_ms, time.time()))  # fmt: skip
        except Exception as exc:  # never into the request
            print(f"local metrics: {method} {target} not recorded: {exc!r}", file=self.log)

    def add(self, samples: Iterable[Sample]) -> None:
        with self._lock:
            for sample in samples:
                if len(self._queue) == self._queue.maxlen:
                    self.dropped += 1
                self._queue.append(sample)

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self) -> int:
        """Put everything queued now; the samples put (failures are printed and counted)."""
        with self._flushing:
            with self._lock:
                samples = list(self._queue)
                self._queue.clear()
            put = 0
            for namespace, data in datums(samples).items():
                count = sum(1 for s in samples if s.namespace == namespace)
                try:
                    for first in range(0, len(data), MAX_DATUMS):
                        self.cloudwatch.put_metric_data(
                            Namespace=namespace, MetricData=data[first : first + MAX_DATUMS]
                        )
                    put += count
                except Exception as exc:  # printed; the requests go on
                    self.failed += count
                    print(f"local metrics: PutMetricData ({namespace}) failed: {exc}",
                          file=self.log, flush=True)  # fmt: skip
            self.put += put
            return put

    def start(self) -> Publisher:
        """Flush every ``flush_s`` seconds from a daemon thread until :meth:`close`."""

        def run() -> None:
            while not self._stop.wait(self.flush_s):
                self.flush()

        self._thread = threading.Thread(target=run, name="local-metrics", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and put what is still queued."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=READ_TIMEOUT_S + self.flush_s)
        self.flush()
        if self.dropped:
            print(f"local metrics: {self.dropped} samples dropped (queue full)", file=self.log)


class EmfTee:
    """``sys.stdout`` for the handlers: EMF lines go to ``on_emf`` (not to the console), every
    other write to ``stream``. Lines are told apart per thread (``print`` writes the text and
    the newline in two calls, and the functions' threads print at the same time); only a line
    starting with ``{`` is held until its newline."""

    def __init__(self, stream: TextIO, on_emf: Callable[[list[Sample]], None]) -> None:
        self.stream, self.on_emf = stream, on_emf
        self._local = threading.local()

    def write(self, text: str) -> int:
        held: str = getattr(self._local, "held", "")
        out = []
        for piece in text.splitlines(keepends=True):
            if not held and not piece.startswith("{"):
                out.append(piece)
                continue
            held += piece
            if held.endswith("\n"):
                samples = emf_samples(held)
                if samples:
                    self.on_emf(samples)
                else:
                    out.append(held)
                held = ""
        self._local.held = held
        if out:
            self.stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        held: str = getattr(self._local, "held", "")
        if held:  # a line without its newline yet: the console gets it as it is
            self.stream.write(held)
            self._local.held = ""
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, encoding, isatty...: the stream's
        return getattr(self.stream, name)


def cloudwatch_client(endpoint_url: str) -> Any:
    """A CloudWatch client for local AWS whose calls are the stack's own (not a function's:
    :mod:`local.aws_calls` leaves them out of the record the IAM tests check)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                    retries={"total_max_attempts": 2, "mode": "standard"})  # fmt: skip
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    return aws_calls.not_recorded(session.client("cloudwatch", endpoint_url=endpoint_url,
                                                 config=config))  # fmt: skip


def start(endpoint_url: str, api_name: str, stage: str, flush_s: float = FLUSH_S) -> Publisher:
    """A publisher to local AWS at ``endpoint_url``, flushing, with :class:`EmfTee` installed as
    ``sys.stdout``; :func:`stop` undoes both."""
    publisher = Publisher(cloudwatch_client(endpoint_url), api_name, stage, flush_s).start()
    sys.stdout = EmfTee(sys.stdout, publisher.add)
    return publisher


def stop(publisher: Publisher) -> None:
    """Put ``sys.stdout`` back and put what is queued."""
    if isinstance(sys.stdout, EmfTee):
        sys.stdout.flush()
        sys.stdout = sys.stdout.stream
    publisher.close()
