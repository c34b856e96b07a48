"""Event batching against a real local HTTP server: batches of the API's limit, flushing on
demand and when a ``with`` block ends, client-generated event ids kept across a retried batch,
and what happens to a batch the API refuses."""

from __future__ import annotations

import pytest
from musicrec_client import ListenerAuth, MusicRec, RateLimited, ServerError
from musicrec_client.events import MAX_PER_REQUEST, EventBuffer, EventType
from musicrec_client.models import Event
from pydantic import ValidationError as ModelError

from tests.clients.python.conftest import FAST
from tests.clients.python.fake_api import Reply


def ack(accepted: int, duplicates: int = 0) -> dict:
    envelope = {"recommendation_id": "r", "variant": "none", "model_version": "v"}
    return {"accepted": accepted, "stored": accepted - duplicates, "duplicates": duplicates,
            "counted": 0, **envelope}  # fmt: skip


def sent(api) -> list[list[dict]]:
    return [r.json()["events"] for r in api.received if r.target == "/v1/events"]


def test_the_batch_limit_is_the_documents():
    assert MAX_PER_REQUEST == 100


def test_track_sends_a_batch_whenever_the_limit_is_reached(api, client):
    api.default = Reply(200, ack(100))
    for i in range(250):
        client.events.track("u1", "play", item_id=f"s{i}")
    assert [len(batch) for batch in sent(api)] == [100, 100]
    assert client.events.pending == 50
    api.default = Reply(200, ack(50))
    [acknowledgement] = client.events.flush()
    assert acknowledgement.accepted == 50
    assert [len(batch) for batch in sent(api)] == [100, 100, 50]
    assert client.events.pending == 0
    assert client.events.stored == 250
    ids = [event["event_id"] for batch in sent(api) for event in batch]
    assert len(set(ids)) == 250  # each event its own id


def test_leaving_the_with_block_flushes(api):
    api.default = Reply(200, ack(3))
    with MusicRec(api.url, ListenerAuth("k", "t")) as client:
        for item in ("s1", "s2", "s3"):
            client.events.track("u1", "like", item_id=item)
        assert sent(api) == []
    [batch] = sent(api)
    assert [e["item_id"] for e in batch] == ["s1", "s2", "s3"]
    assert {e["type"] for e in batch} == {"like"}
    assert all(isinstance(e["ts"], int) for e in batch)


def test_an_event_buffer_is_a_context_manager_of_its_own(api, client):
    api.default = Reply(200, ack(1))
    with client.events as events:
        events.track("u1", "follow", artist_id="a1")
    assert sent(api)[0][0]["artist_id"] == "a1"


def test_a_failed_batch_is_kept_and_sent_again_with_the_same_ids(api, client):
    api.reply(*[Reply(503, {"code": "dependency_unavailable", "message": "down"})] * 3)
    for i in range(5):
        client.events.track("u1", "play", item_id=f"s{i}")
    with pytest.raises(ServerError):
        client.events.flush()  # three attempts, all 503
    assert client.events.pending == 5
    api.reply(Reply(200, ack(5, duplicates=2)))  # the server had stored two of them
    [acknowledgement] = client.events.flush()
    assert acknowledgement.duplicates == 2
    batches = sent(api)
    assert len(batches) == FAST.max_attempts + 1
    assert all(batch == batches[0] for batch in batches)  # same events, same ids, every time


def test_a_throttled_batch_is_kept(api, client):
    api.reply(
        *[Reply(429, {"code": "throttled", "message": "slow down"}, {"Retry-After": "0"})] * 3
    )
    client.events.track("u1", "play", item_id="s1")
    with pytest.raises(RateLimited):
        client.events.flush()
    assert client.events.pending == 1
    api.reply(Reply(200, ack(1)))
    client.events.flush()
    assert client.events.pending == 0


def test_a_refused_batch_is_dropped_into_rejected(api, client):
    refusal = {"code": "forbidden", "message": "events.0.user_id: not yours",
               "field": "events.0.user_id"}  # fmt: skip
    api.reply(Reply(403, refusal))
    event = client.events.track("u2", "play", item_id="s1")
    with pytest.raises(Exception, match=r"events\.0\.user_id"):
        client.events.flush()
    assert client.events.pending == 0
    assert client.events.rejected == [event]


def test_a_bad_event_is_refused_when_tracked_not_sent(api, client):
    with pytest.raises(ModelError, match="item_id"):
        client.events.track("u1", "play")  # a play names its song
    with pytest.raises(ModelError, match="recommendation_id"):
        client.events.track("u1", "click", item_id="s1")
    with pytest.raises(ModelError):
        client.events.track("u 1", "play", item_id="s1")  # not an id
    assert client.events.pending == 0
    assert api.received == []


def test_a_smaller_batch_size(api):
    api.default = Reply(200, ack(10))
    with MusicRec(api.url, None, event_batch_size=10) as client:
        for i in range(25):
            client.events.track("u1", "skip", item_id=f"s{i}")
    assert [len(batch) for batch in sent(api)] == [10, 10, 5]


def test_batch_sizes_beyond_the_api_limit_are_refused():
    with pytest.raises(ValueError, match="batch_size"):
        EventBuffer(lambda events: None, batch_size=101)


def test_the_event_types_are_the_documents():
    assert EventType.__args__ == Event.model_fields["type"].annotation.__args__
