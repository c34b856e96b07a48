"""Rare answer values, counted in process and reported as a CloudWatch metric.

An answer the model saw in training too rarely to keep as a level (a zip prefix of a handful of
training users, say) encodes as missing: an expected property of the model, not a problem with
the request, so it is not repeated in every answer's ``warnings`` nor in every log line. Each
worker process instead counts such values per input field and, at most once a minute (and at
shutdown), writes the counts to stdout as CloudWatch Embedded Metric Format (EMF) log lines:

.. code-block:: json

    {"_aws": {"Timestamp": 1733500000000,
              "CloudWatchMetrics": [{"Namespace": "MusicRec/Inference",
                                     "Dimensions": [["Field"]],
                                     "Metrics": [{"Name": "RareAnswerValues", "Unit": "Count"}]}]},
     "Field": "zip_prefix", "RareAnswerValues": 42}

one line per field, all written at once. SageMaker sends the container's stdout to CloudWatch
Logs, which turns such lines into the metric ``MusicRec/Inference RareAnswerValues`` by
``Field``. Each distinct (field, value) is also logged once per process at INFO, with the
encoder's note (``zip_prefix: '123' seen 3 times in training, fewer than the minimum 5:
treated as missing``); their number is bounded by the dropped levels the model remembers.

Counting is a dictionary update on the request path; writing happens off it, and a write that
fails is logged and its counts dropped: metrics never fail a request.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping

import orjson

from training.model.features import RareValue

log = logging.getLogger("container.metrics")

NAMESPACE = "MusicRec/Inference"
METRIC = "RareAnswerValues"
DIMENSION = "Field"
FLUSH_EVERY_S = 60.0


def emf_lines(counts: Mapping[str, int], timestamp_ms: int, namespace: str = NAMESPACE) -> str:
    """The EMF documents for ``counts`` (rare values per field), one line each, sorted by field."""
    directive = {
        "Namespace": namespace,
        "Dimensions": [[DIMENSION]],
        "Metrics": [{"Name": METRIC, "Unit": "Count"}],
    }
    return "".join(
        orjson.dumps(
            {
                "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [directive]},
                DIMENSION: field,
                METRIC: counts[field],
            }
        ).decode()
        + "\n"
        for field in sorted(counts)
    )


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout in one call and flush it (SageMaker ships stdout to CloudWatch)."""
    sys.stdout.write(text)
    sys.stdout.flush()


class RareValueMetrics:
    """Counts rare answer values per field until :meth:`flush` writes them as EMF lines."""

    def __init__(
        self,
        write: Callable[[str], None] = write_stdout,
        namespace: str = NAMESPACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._write = write
        self._namespace = namespace
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._seen: set[tuple[str, str]] = set()
        self._new_notes: list[str] = []

    def count(self, rare: Iterable[RareValue]) -> None:
        """Count rare values (no I/O: the request path calls this)."""
        for value in rare:
            self._counts[value.key] = self._counts.get(value.key, 0) + 1
            pair = (value.key, value.value)
            if pair not in self._seen:
                self._seen.add(pair)
                self._new_notes.append(value.note)

    def take(self) -> tuple[dict[str, int], list[str]]:
        """The counts and the first-seen notes since the last take; counting starts afresh."""
        counts, notes = self._counts, self._new_notes
        self._counts, self._new_notes = {}, []
        return counts, notes

    def write(self, counts: Mapping[str, int], notes: Iterable[str]) -> None:
        """Log the first-seen notes and write the counts as EMF; never raises."""
        try:
            for note in notes:
                log.info("%s", note)
            if counts:
                timestamp_ms = int(self._clock() * 1000)
                self._write(emf_lines(counts, timestamp_ms, self._namespace))
        except Exception:
            log.warning(
                "rare answer values of %d fields not reported: writing the metric failed",
                len(counts),
                exc_info=True,
            )

    def flush(self) -> None:
        """Take what was counted and write it now (at shutdown; never raises)."""
        self.write(*self.take())
