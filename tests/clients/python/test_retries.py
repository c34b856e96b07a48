"""Timeouts, retries with backoff and Retry-After, and the attempt limit, against a real local
HTTP server that answers as scripted."""

from __future__ import annotations

import random
import time

import pytest
from musicrec_client import (
    NO_RETRIES,
    ListenerAuth,
    MusicRec,
    RateLimited,
    RetryPolicy,
    ServerError,
    Timeout,
    TransportError,
    ValidationError,
)
from musicrec_client.retry import RetryPolicy as Policy

from tests.clients.python.conftest import FAST
from tests.clients.python.fake_api import Reply

SONGS = {"user_id": "u1", "kind": "songs", "source": "personal", "items": [],
         "recommendation_id": "r", "variant": "rules", "model_version": "v1"}  # fmt: skip
THROTTLED = {"code": "throttled", "message": "too many requests, retry later"}
UNAVAILABLE = {"code": "dependency_unavailable", "message": "a backing service failed"}


def test_a_503_then_a_success_is_retried(api, client):
    api.reply(Reply(503, UNAVAILABLE), Reply(200, SONGS))
    assert client.recommendations("u1").source == "personal"
    assert len(api.received) == 2


def test_retry_after_is_honoured(api, client):
    api.reply(Reply(429, THROTTLED, {"Retry-After": "1"}), Reply(200, SONGS))
    client.recommendations("u1")
    first, second = api.received
    assert second.at - first.at >= 0.95  # the backoff alone would wait at most 0.01 s


def test_a_retry_after_longer_than_the_policy_allows_is_raised_at_once(api, client):
    api.reply(Reply(429, THROTTLED, {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        client.recommendations("u1")
    assert (caught.value.retry_after, caught.value.code) == (120.0, "throttled")
    assert len(api.received) == 1


def test_after_max_attempts_the_last_error_is_raised(api, client):
    api.default = Reply(503, UNAVAILABLE)
    with pytest.raises(ServerError) as caught:
        client.recommendations("u1")
    assert (caught.value.status, caught.value.code) == (503, "dependency_unavailable")
    assert len(api.received) == FAST.max_attempts


def test_backoff_grows_between_attempts(api):
    policy = RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0)
    api.default = Reply(503, UNAVAILABLE)
    with MusicRec(api.url, ListenerAuth("k", "t"), retry=policy) as client:
        client._transport._rng = _Ceiling()  # the longest wait jitter allows: 0.1, 0.2, 0.4 s
        with pytest.raises(ServerError):
            client.recommendations("u1")
    gaps = [b.at - a.at for a, b in zip(api.received, api.received[1:], strict=False)]
    assert [round(g, 1) for g in gaps] == [0.1, 0.2, 0.4]


class _Ceiling(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_client_errors_are_not_retried(api, client):
    api.reply(
        Reply(400, {"code": "invalid_request", "message": "limit: too big", "field": "limit"})
    )
    with pytest.raises(ValidationError) as caught:
        client.recommendations("u1", limit=1000)
    assert (caught.value.code, caught.value.field) == ("invalid_request", "limit")
    assert len(api.received) == 1


def test_a_slow_answer_times_out_and_is_retried(api):
    api.reply(Reply(200, SONGS, delay_s=1.0), Reply(200, SONGS))
    with MusicRec(api.url, None, timeout=0.2, retry=FAST) as client:
        started = time.monotonic()
        assert client.recommendations("u1").user_id == "u1"
    assert time.monotonic() - started < 0.9  # did not wait for the slow answer
    assert len(api.received) == 2


def test_a_timeout_without_retries_raises_timeout(api):
    api.reply(Reply(200, SONGS, delay_s=1.0))
    with MusicRec(api.url, None, timeout=0.2, retry=NO_RETRIES) as client:
        started = time.monotonic()
        with pytest.raises(Timeout):
            client.recommendations("u1")
    assert time.monotonic() - started < 0.9


def test_with_options_changes_the_timeout_only_for_that_client(api, client):
    api.reply(Reply(200, SONGS, delay_s=0.5), Reply(200, SONGS, delay_s=0.5))
    with pytest.raises(Timeout):
        client.with_options(timeout=0.1, retry=NO_RETRIES).recommendations("u1")
    assert client.recommendations("u1").user_id == "u1"  # 2 s


def test_a_refused_connection_is_retried_then_raised():
    client = MusicRec("http://127.0.0.1:9", None, retry=FAST)  # nothing listens there
    with client, pytest.raises(TransportError):
        client.recommendations("u1")


def test_full_jitter_stays_within_the_exponential_ceiling():
    policy = Policy(base_delay=0.5, max_delay=3.0)
    rng = random.Random(7)
    for retry, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0)):
        waits = [policy.backoff(retry, rng) for _ in range(200)]
        assert min(waits) >= 0
        assert max(waits) <= ceiling
        assert max(waits) > ceiling * 0.8  # spread over the range, not a constant


def test_retry_after_as_an_http_date(api, client):
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    api.reply(Reply(429, THROTTLED, {"Retry-After": later}))
    with pytest.raises(RateLimited) as caught:
        client.recommendations("u1")
    assert 55 <= (caught.value.retry_after or 0) <= 61  # over max_retry_after: raised at once


def test_a_policy_needs_one_attempt():
    with pytest.raises(ValueError, match="max_attempts"):
        Policy(max_attempts=0)
