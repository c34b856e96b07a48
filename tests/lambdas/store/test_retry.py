"""Retrying what a batch call left undone: how often, how long in between, and giving up."""

from __future__ import annotations

import pytest

from lambdas.store.loader import WRITE_BACKOFF, LoadError, write_batch
from lambdas.store.retry import Backoff, GaveUpError, until_done


class Flaky:
    """Does one unit of work per call (the first of what it is given)."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, work: list[int]) -> list[int]:
        self.calls.append(work)
        return work[1:]


def test_attempts_until_nothing_is_left_waiting_before_each_retry() -> None:
    flaky = Flaky()
    waits: list[float] = []

    until_done(flaky, [1, 2, 3], Backoff(max_attempts=5, base_s=0.1), sleep=waits.append)

    assert flaky.calls == [[1, 2, 3], [2, 3], [3]]
    assert len(waits) == 2  # none before the first attempt, none after the last


def test_done_at_once_does_not_wait() -> None:
    waits: list[float] = []
    until_done(lambda work: [], [1], Backoff(max_attempts=3, base_s=1.0), sleep=waits.append)
    assert waits == []


def test_waits_stay_under_the_doubling_ceiling_and_its_cap() -> None:
    backoff = Backoff(max_attempts=10, base_s=0.05, cap_s=2.0)
    waits: list[float] = []

    with pytest.raises(GaveUpError):
        until_done(lambda work: work, [1], backoff, sleep=waits.append)

    ceilings = [min(2.0, 0.05 * 2**n) for n in range(9)]
    assert [backoff.ceiling(n) for n in range(9)] == ceilings
    assert len(waits) == 9
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=True))


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    backoff = Backoff(max_attempts=3, base_s=0.01)
    assert backoff.delay(2, rand=lambda: 0.0) == 0.0
    assert backoff.delay(2, rand=lambda: 1.0) == pytest.approx(0.04)


def test_gives_up_after_max_attempts_with_what_is_left() -> None:
    flaky = Flaky()

    with pytest.raises(GaveUpError) as raised:
        until_done(flaky, [1, 2, 3, 4, 5], Backoff(max_attempts=3, base_s=0), sleep=lambda s: None)

    assert len(flaky.calls) == 3
    assert (raised.value.left, raised.value.attempts) == ([4, 5], 3)
    assert "2 left undone after 3 attempts" in str(raised.value)


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Backoff(max_attempts=0, base_s=0.1)


def test_the_loader_gives_up_on_a_batch_after_eight_attempts(tables, monkeypatch):
    monkeypatch.setattr("lambdas.store.loader.time.sleep", lambda s: None)
    client = tables.lists.meta.client
    calls = []

    def all_unprocessed(http_response, parsed, model, **kwargs):
        calls.append(1)
        parsed["UnprocessedItems"] = kwargs["context"]["request"]

    def remember(params, context, **kwargs):
        context["request"] = params["RequestItems"]

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", remember)
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", all_unprocessed)
    items = [{"pk": f"k{n}", "doc": "{}", "expires_at": 0} for n in range(3)]

    with pytest.raises(LoadError, match="3 items still unprocessed after retries"):
        write_batch(client, tables.lists.name, items)
    assert len(calls) == WRITE_BACKOFF.max_attempts == 8
