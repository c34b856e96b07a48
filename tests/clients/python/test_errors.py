"""Error answers become exceptions of their status family carrying the API's code, message and
field; API Gateway's own refusals (no code) get the code of their error type."""

from __future__ import annotations

import pytest
from musicrec_client import (
    NO_RETRIES,
    ApiError,
    AuthError,
    ClientError,
    ListenerAuth,
    MusicRec,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
)

from tests.clients.python.fake_api import Reply


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, ValidationError), (413, ValidationError), (415, ValidationError),
     (401, AuthError), (403, AuthError), (404, NotFound), (429, RateLimited),
     (409, ClientError), (500, ServerError), (502, ServerError), (503, ServerError)],
)  # fmt: skip
def test_each_status_has_its_exception(api, status, kind):
    api.reply(Reply(status, {"code": "some_code", "message": "what went wrong", "field": "x.0"}))
    client = MusicRec(api.url, ListenerAuth("k", "t"), retry=NO_RETRIES)
    with client, pytest.raises(kind) as caught:
        client.similar_artists("a1")
    error = caught.value
    assert isinstance(error, ApiError)
    assert (error.status, error.code, error.message, error.field) == (
        status, "some_code", "what went wrong", "x.0"
    )  # fmt: skip
    assert str(error) == f"{status} some_code: what went wrong"


def test_a_gateway_refusal_gets_its_error_type_as_code(api, client):
    api.reply(
        Reply(401, {"message": "Unauthorized"}, {"x-amzn-ErrorType": "UnauthorizedException"})
    )
    with pytest.raises(AuthError) as caught:
        client.home("u1")
    assert (caught.value.code, caught.value.message, caught.value.field) == (
        "UnauthorizedException", "Unauthorized", None
    )  # fmt: skip


def test_an_error_without_json_keeps_its_text(api, client):
    api.reply(Reply(502, b"Bad Gateway from a proxy"))
    with pytest.raises(ServerError) as caught:
        client.with_options(retry=NO_RETRIES).home("u1")
    assert (caught.value.code, caught.value.message) == ("bad_gateway", "Bad Gateway from a proxy")


def test_an_answer_missing_a_field_fails_loudly(api, client):
    from pydantic import ValidationError as ModelError

    api.reply(Reply(200, {"user_id": "u1"}))
    with pytest.raises(ModelError):
        client.home("u1")
