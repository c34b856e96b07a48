"""Event batching: :meth:`EventBuffer.track` buffers events and sends them in batches of the
API's limit (100 per request), on :meth:`EventBuffer.flush` and when a ``with`` block ends.

Each event gets a client-generated ``event_id`` (and the time it was tracked as ``ts``), so a
batch sent again after a failure is acknowledged as duplicates by the server, not stored twice.
A batch that failed in a way a later try may fix (throttled, the API unavailable, no answer)
stays buffered for the next flush; one the API refused (a 4xx) is dropped into ``rejected``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Literal

from ._openapi import Event, EventBatch
from .errors import ClientError, RateLimited
from .models import EventsAcknowledgement


def batch_limit() -> int:
    """The most events one request takes (EventBatch's ``maxItems`` in the document)."""
    metadata = EventBatch.model_fields["events"].metadata
    found = [m.max_length for m in metadata if isinstance(getattr(m, "max_length", None), int)]
    return min(found) if found else 100


MAX_PER_REQUEST = batch_limit()
MAX_PENDING = 10_000
EventType = Literal["play", "skip", "like", "follow", "click", "impression"]  # Event.type
Send = Callable[[list[Event]], EventsAcknowledgement]


class BufferFullError(RuntimeError):
    """``max_pending`` events wait already (the API has been failing): flush first."""


class EventBuffer:
    """Buffers events and posts them with ``send`` (one ``POST /v1/events`` per batch of at
    most ``batch_size``). Thread-safe; one flush at a time."""

    def __init__(
        self, send: Send, batch_size: int = MAX_PER_REQUEST, max_pending: int = MAX_PENDING
    ) -> None:
        if not 1 <= batch_size <= MAX_PER_REQUEST:
            raise ValueError(f"batch_size: 1 to {MAX_PER_REQUEST}")
        self._send, self.batch_size, self.max_pending = send, batch_size, max_pending
        self._pending: list[Event] = []
        self._lock, self._flushing = threading.Lock(), threading.Lock()
        self.rejected: list[Event] = []  # refused by the API (a 4xx): fix and add them again
        self.stored = self.duplicates = 0  # what the acknowledgements said, in all

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def track(
        self,
        user_id: str,
        type: EventType,
        *,
        item_id: str | None = None,
        artist_id: str | None = None,
        recommendation_id: str | None = None,
        ts: int | None = None,
        event_id: str | None = None,
    ) -> Event:
        """Buffer one event (validated now, so one bad event cannot sink a batch) and send a
        batch when ``batch_size`` wait. ``ts``: milliseconds since the epoch, by default now;
        ``event_id``: by default a random one."""
        fields: dict[str, Any] = {
            "event_id": event_id or uuid.uuid4().hex, "user_id": user_id, "type": type,
            "ts": int(time.time() * 1000) if ts is None else ts,
        }  # fmt: skip
        for name, value in (("item_id", item_id), ("artist_id", artist_id),
                            ("recommendation_id", recommendation_id)):  # fmt: skip
            if value is not None:
                fields[name] = value
        event = Event(**fields)
        self.add([event])
        return event

    def add(self, events: Iterable[Event]) -> None:
        """Buffer events built elsewhere (keep their ``event_id``: retries depend on it)."""
        events = list(events)
        with self._lock:
            if len(self._pending) + len(events) > self.max_pending:
                raise BufferFullError(f"{len(self._pending)} events wait to be sent")
            self._pending.extend(events)
            full = len(self._pending) >= self.batch_size
        if full:
            self._flush(whole_batches_only=True)

    def flush(self) -> list[EventsAcknowledgement]:
        """Send everything buffered; the acknowledgements of this flush's batches."""
        return self._flush(whole_batches_only=False)

    def _flush(self, whole_batches_only: bool) -> list[EventsAcknowledgement]:
        done: list[EventsAcknowledgement] = []
        with self._flushing:
            while True:
                with self._lock:
                    enough = len(self._pending) >= (self.batch_size if whole_batches_only else 1)
                    batch = self._pending[: self.batch_size] if enough else []
                if not batch:
                    return done
                try:
                    acknowledgement = self._send(batch)
                except ClientError as exc:
                    if not isinstance(exc, RateLimited):  # the API refused it: never sendable
                        self._drop(batch, into_rejected=True)
                    raise
                self._drop(batch, into_rejected=False)
                with self._lock:
                    self.stored += acknowledgement.stored
                    self.duplicates += acknowledgement.duplicates
                done.append(acknowledgement)

    def _drop(self, batch: list[Event], into_rejected: bool) -> None:
        with self._lock:
            del self._pending[: len(batch)]  # only this flush removes from the front
            if into_rejected:
                self.rejected.extend(batch)

    def __enter__(self) -> EventBuffer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.flush()
