"""The three kinds of credentials as the API receives them: a listener's ID token with the app
key, SigV4 signatures that the local gateway's IAM authoriser (botocore, as API Gateway checks
them) accepts, and the operators' credentials."""

from __future__ import annotations

import pytest
from musicrec_client import (
    AdminKeyAuth,
    ListenerAuth,
    MusicRec,
    OperatorAuth,
    ServerAuth,
    static_credentials,
)
from musicrec_client.auth import SigV4Signer

from local.authorisers import Grant, Refusal, Request, SigV4Authoriser
from tests.clients.python.conftest import FAST
from tests.clients.python.fake_api import Received, Reply

REGION = "us-east-1"  # the local gateway's (local.aws.REGION)
LOCAL = static_credentials("test", "test")
AVAILABILITY = {"item_id": "s/1", "available": False, "recommendation_id": "r",
                "variant": "none", "model_version": "v"}  # fmt: skip
ACK = {"accepted": 1, "stored": 1, "duplicates": 0, "counted": 0, "recommendation_id": "r",
       "variant": "none", "model_version": "v"}  # fmt: skip


def verdict(received: Received) -> Grant | Refusal:
    """What the local gateway's SigV4 authoriser says of a request as the server received it."""
    request = Request(received.method, received.target, list(received.headers.items()),
                      received.body or None)  # fmt: skip
    return SigV4Authoriser().authorise(request)


def test_a_listener_sends_the_app_key_and_the_raw_id_token(api):
    tokens = iter(["token-1", "token-2"])
    api.reply(Reply(503, {"code": "not_ready", "message": "later"}), Reply(200, AVAILABILITY))
    with MusicRec(api.url, ListenerAuth("app-key", lambda: next(tokens)), retry=FAST) as client:
        client.set_availability("s/1", False)
    assert [r.headers["authorization"] for r in api.received] == ["token-1", "token-2"]
    assert {r.headers["x-api-key"] for r in api.received} == {"app-key"}


def test_a_backend_signs_with_sigv4_and_sends_the_app_key(api):
    api.default = Reply(200, ACK)
    with MusicRec(api.url, ServerAuth("app-key", REGION, LOCAL)) as client:
        client.post_events(
            [{"event_id": "e1", "user_id": "a@b/c", "type": "play", "item_id": "s1"}]
        )
        api.default = Reply(200, {"user_id": "a@b/c", "kind": "songs", "source": "personal",
                                  "items": [], "recommendation_id": "r", "variant": "v",
                                  "model_version": "v"})  # fmt: skip
        client.recommendations("a@b/c", limit=5, region="us-tx")
    post, get = api.received
    assert get.target == "/v1/users/a%40b%2Fc/recommendations?kind=songs&limit=5&region=us-tx"
    for received in (post, get):
        assert received.headers["x-api-key"] == "app-key"
        granted = verdict(received)
        assert isinstance(granted, Grant), granted
        assert granted.identity["accessKey"] == "test"
    assert "x-api-key" in post.headers["authorization"]  # the key is signed too


def test_a_signature_by_the_wrong_secret_is_refused(api):
    api.default = Reply(200, ACK)
    wrong = static_credentials("test", "not-the-secret")
    with MusicRec(api.url, ServerAuth("app-key", REGION, wrong)) as client:
        client.post_events([{"event_id": "e1", "user_id": "u1", "type": "play", "item_id": "s1"}])
    refusal = verdict(api.received[0])
    assert isinstance(refusal, Refusal)
    assert refusal.message.startswith("The request signature we calculated does not match")


def test_each_attempt_is_signed_afresh(api):
    api.reply(Reply(503, {"code": "not_ready", "message": "later"}), Reply(200, AVAILABILITY))
    with MusicRec(api.url, OperatorAuth(REGION, LOCAL), retry=FAST) as client:
        assert client.set_availability("s/1", False).available is False
    assert len(api.received) == 2
    for received in api.received:
        assert isinstance(verdict(received), Grant)
        assert "x-api-key" not in received.headers  # the admin route: IAM alone


def test_temporary_credentials_send_their_session_token(api):
    api.default = Reply(200, AVAILABILITY)
    session = static_credentials("test", "test", "the-session-token")
    with MusicRec(api.url, OperatorAuth(REGION, session)) as client:
        client.set_availability("s/1", False)
    assert api.received[0].headers["x-amz-security-token"] == "the-session-token"


def test_the_local_operator_sends_the_admin_key(api):
    api.default = Reply(200, AVAILABILITY)
    with MusicRec(api.url, AdminKeyAuth("local-admin-key")) as client:
        client.set_availability("s/1", False)
    [received] = api.received
    assert received.headers["x-admin-key"] == "local-admin-key"
    assert received.json() == {"available": False}
    assert received.target == "/v1/catalog/items/s%2F1/availability"


def test_sigv4_needs_a_region(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ValueError, match="region"):
        SigV4Signer(None, LOCAL)


def test_credentials_are_not_printed():
    assert "secret" not in repr(ListenerAuth("k", "secret"))
    assert "secret" not in repr(AdminKeyAuth("secret"))
    assert repr(ServerAuth("k", REGION, LOCAL)) == "ServerAuth(region='us-east-1')"
