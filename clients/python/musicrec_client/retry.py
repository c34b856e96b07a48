"""When to retry a call and how long to wait: exponential backoff with full jitter, at most
``max_attempts`` attempts, honouring the API's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_STATUSES = (429, 503)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of a call on a retryable status (429, 503) or a failed connection or timeout.

    The n-th retry waits a random time in [0, min(max_delay, base_delay * 2**(n-1))] ("full
    jitter"), or the answer's Retry-After when it gives one; a Retry-After over
    ``max_retry_after`` is not waited for: the error is raised at once, carrying it."""

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    statuses: tuple[int, ...] = RETRY_STATUSES
    on_transport_errors: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts: at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays: not negative")

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return (rng or random).uniform(0.0, ceiling)

    def delay(
        self, retry: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float | None:
        """The wait before retry number ``retry``: the server's Retry-After if it sent one (None
        when that is longer than ``max_retry_after``: do not retry), else the backoff."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(retry, rng)


NO_RETRIES = RetryPolicy(max_attempts=1)
