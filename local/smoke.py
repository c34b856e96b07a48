"""``python -m local.smoke`` (``make smoke``): call every route of a running stack and check the
answers; exits 1 on the first one that is wrong."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

from local.stack import Stack

TIMEOUT_S = 10


class SmokeError(AssertionError):
    """A route that answered wrongly."""


def call(stack: Stack, method: str, path: str, body: Any = None, admin: bool = False,
         key: str | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """One request through the gateway: status and JSON body."""
    headers = {"Content-Type": "application/json"}
    if admin:
        headers["x-admin-key"] = stack.admin_key
    else:
        headers["x-api-key"] = stack.api_key if key is None else key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(stack.gateway_url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeError(what)
    print(f"ok  {what}")


def smoke(stack: Stack) -> None:
    user = f"smoke-{uuid.uuid4().hex[:8]}"
    answers = {"user_id": user, "age": 30, "gender": "m", "region": "us-tx",
               "selected_genres": ["Rock", "Country"]}  # fmt: skip
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
    status, body = call(stack, "POST", "/v1/onboarding/recommendations", {"age": -3})
    expect(status == 400 and body.get("field") == "age", "validation: 400 naming the field")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.smoke", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dir", default=".local")
    args = parser.parse_args(argv)
    try:
        smoke(Stack.load(args.dir))
    except (SmokeError, FileNotFoundError, OSError) as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    print("smoke: every route answered as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
