"""``python -m local.smoke`` (``make smoke``): call every route of a running stack as an app does
(in the listener access mode with the ID token of the listener each call acts for, in the server
mode SigV4-signed) and check the answers, and that API Gateway's part refuses what it must (no
token, another listener's token, a wrong key); exits 1 on the first one that is wrong."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lambdas.routes import ADMIN_PREFIX
from local.authorisers import sign
from local.cognito import TOKEN_HEADER, CognitoError, listener_token, operator_headers
from local.gateway import match
from local.stack import Stack

TIMEOUT_S = 10
AUTO = "<the listener the request acts for>"
ANYONE = "smoke-listener"  # acts for a request that names no listener


class SmokeError(AssertionError):
    """A route that answered wrongly."""


def acting_for(method: str, path: str, body: Any = None) -> str:
    """The listener a request acts for: its path's ``userId``, its query's or body's
    ``user_id``, its first event's; else ``ANYONE``."""
    url = urlsplit(path)
    found = match(method, url.path)
    if found and "userId" in found[1]:
        return found[1]["userId"]
    named = dict(parse_qsl(url.query)).get("user_id")
    if named:
        return named
    if isinstance(body, dict):
        if isinstance(body.get("user_id"), str):
            return str(body["user_id"])
        events = body.get("events")
        if isinstance(events, list) and events and isinstance(events[0], dict):
            return str(events[0].get("user_id") or ANYONE)
    return ANYONE


def app_headers(
    stack: Stack,
    method: str,
    path: str,
    body: bytes | None = None,
    listener: str | None = AUTO,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers an app (listener mode) or a backend (server mode) sends on an app route of
    the stack for ``method path`` (path and query as sent) with ``body`` (the bytes sent): the
    API key, ``headers`` (which may replace it), and the ID token of ``listener`` (default: the
    listener the request acts for) or a SigV4 signature of exactly this request (``headers``
    included). ``listener`` None: no token or signature."""
    sent = {"x-api-key": stack.api_key, **(headers or {})}
    if listener == AUTO:
        listener = acting_for(method, path, _json(body))
    if listener is None:
        return sent
    if stack.access_mode == "listener":
        return {**sent, TOKEN_HEADER: listener_token(listener, stack.aws_url)}
    return sign(method, stack.gateway_url + path, sent, body)


def _json(body: bytes | None) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def call(
    stack: Stack,
    method: str,
    path: str,
    body: Any = None,
    admin: bool = False,
    key: str | None = None,
    listener: str | None = AUTO,
    timeout_s: float = TIMEOUT_S,
) -> tuple[int, dict[str, Any]]:
    """One request through the gateway, as an app makes it: status and JSON body. An app
    route carries the API key (``key``: another one) and what the stack's access mode needs: the
    ID token of ``listener`` (default: the listener the request acts for; None: no token), or
    a SigV4 signature (``listener`` None: unsigned); an admin route, the admin key, or for the
    console's routes (``/v1/admin/...``) the local operator's ID token."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if admin and path.startswith(ADMIN_PREFIX):
        headers.update(operator_headers(stack))
    elif admin:
        headers["x-admin-key"] = stack.admin_key
    else:
        if key is not None:
            headers["x-api-key"] = key
        headers = app_headers(stack, method, path, data, listener, headers)
    request = urllib.request.Request(stack.gateway_url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeError(what)
    print(f"ok  {what}")


def smoke(stack: Stack) -> None:
    user = f"smoke-{uuid.uuid4().hex[:8]}"
    # the dataset's genres (any dataset: the synthetic world's, MovieLens'), as the API names them
    status, body = call(stack, "POST", "/v1/onboarding/recommendations", {"age": 30})
    known = [str(g["genre"]) for g in body.get("genres", [])][:2]
    expect(status == 200 and bool(known), f"onboarding without answers: genres {known}")
    answers = {"user_id": user, "age": 30, "gender": "m",
               "selected_genres": [g.upper() for g in known]}  # any case  # fmt: skip
    status, body = call(stack, "POST", "/v1/onboarding/recommendations", answers)
    genres = len(body.get("genres", []))  # the rules variant ranks only the two selected ones
    expect(status == 200 and 1 <= genres <= 3, f"onboarding: {genres} genres")
    expect(bool(body.get("stations")) and bool(body.get("songs")), "onboarding: stations, songs")
    expect(
        body.get("source") in ("model", "rules", "fallback"), f"onboarding: {body.get('source')}"
    )
    status, body = call(stack, "GET", f"/v1/users/{user}/recommendations?limit=5")
    expect(status == 200 and body["source"] == "onboarding", "recommendations: from onboarding")
    song = body["items"][0]["id"]
    status, body = call(stack, "GET", f"/v1/users/{user}/artists?limit=5")
    expect(status == 200 and bool(body["items"]), "artists for a listener")
    status, body = call(stack, "GET", f"/v1/items/{song}/similar?limit=5")
    expect(status in (200, 404), f"similar songs ({status})")
    artist = None
    if status == 200 and body["items"]:
        artist = body["items"][0]["artist_id"]
    status, body = call(stack, "GET", f"/v1/artists/{artist or 'none'}/similar?limit=5")
    expect(status in (200, 404), f"similar artists ({status})")
    event = {"event_id": uuid.uuid4().hex, "user_id": user, "type": "play", "item_id": song}
    status, body = call(stack, "POST", "/v1/events", {"events": [event]})
    expect(status == 200 and body["stored"] == 1, "events: stored")
    status, body = call(stack, "POST", "/v1/events", {"events": [event]})
    expect(status == 200 and body["duplicates"] == 1, "events: a retry is not stored twice")
    status, body = call(stack, "PUT", f"/v1/catalog/items/{song}/availability",
                        {"available": True}, admin=True)  # fmt: skip
    expect(status == 200, "catalog: availability")
    status, body = call(stack, "GET", f"/v1/users/{user}/recommendations", key="wrong")
    expect(status == 403, "a wrong API key gets 403")
    access(stack, user)
    status, body = call(stack, "POST", "/v1/onboarding/recommendations", {"age": -3})
    expect(status == 400 and body.get("field") == "age", "validation: 400 naming the field")


def access(stack: Stack, user: str) -> None:
    """API Gateway's authoriser of the access mode, and the handlers' rule that a listener's
    token acts only for that listener."""
    path = f"/v1/users/{user}/recommendations"
    if stack.access_mode == "listener":
        status, body = call(stack, "GET", path, listener=None)
        expect((status, body) == (401, {"message": "Unauthorized"}), "no token gets 401")
        status, body = call(stack, "GET", path, listener=f"{user}-other")
        expect(status == 403, f"another listener's token gets 403 ({status} {body})")
        event = {"event_id": uuid.uuid4().hex, "user_id": user, "type": "play", "item_id": "s"}
        status, body = call(stack, "POST", "/v1/events", {"events": [event]}, listener=f"{user}-o")
        expect(status == 403, f"another listener's events get 403 ({status} {body})")
    else:
        status, body = call(stack, "GET", path, listener=None)
        expect((status, body.get("message")) == (403, "Missing Authentication Token"),
               "an unsigned call gets 403")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.smoke", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dir", default=".local")
    args = parser.parse_args(argv)
    try:
        smoke(Stack.load(args.dir))
    except (SmokeError, FileNotFoundError, OSError, CognitoError) as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    print("smoke: every route answered as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
