"""Retrying what DynamoDB left undone (a batch call's unprocessed items or keys), with exponential
backoff and full jitter, as AWS advises for throttling."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import TypeVar

Work = TypeVar("Work", bound=Sized)


class GaveUpError(RuntimeError):
    """Work still undone after the last attempt (``left``)."""

    def __init__(self, left: Sized, attempts: int) -> None:
        super().__init__(f"{len(left)} left undone after {attempts} attempts")
        self.left = left
        self.attempts = attempts


@dataclass(frozen=True)
class Backoff:
    """At most ``max_attempts`` attempts; before attempt ``n + 1`` (from 0) a wait drawn
    uniformly from 0 to ``min(cap_s, base_s * 2**n)`` seconds."""

    max_attempts: int
    base_s: float
    cap_s: float = math.inf

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry ``retry`` (the first is 0)."""
        return min(self.cap_s, self.base_s * 2**retry)

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        return self.ceiling(retry) * rand()


def until_done(
    attempt: Callable[[Work], Work],
    work: Work,
    backoff: Backoff,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Call ``attempt(work)``, which returns the part of ``work`` still undone, then again on
    that part after a backoff wait, until nothing is left. Raises :class:`GaveUpError` (with
    what is left) when ``backoff.max_attempts`` attempts leave some undone. ``sleep`` defaults
    to ``time.sleep``."""
    for n in range(backoff.max_attempts):
        if n:
            (sleep or time.sleep)(backoff.delay(n - 1))
        work = attempt(work)
        if not len(work):
            return
    raise GaveUpError(work, backoff.max_attempts)
