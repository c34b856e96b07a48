"""Live data for the console's charts: requests and events sent through the local gateway with
listeners' tokens, as apps send them (onboarding answers with impressions and clicks on their
stations, personal lists with plays and follows from them), then the admin routes read with the
operator's token until they show them (the gateway publishes its metrics to local CloudWatch a
few seconds late)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import load
from local.smoke import call
from local.stack import Stack

WAIT_S = 120.0
POLL_S = 2.0
TIMEOUT_S = 35.0  # the admin function's 29 s and the gateway's own time
PER_VARIANT = 2  # new listeners onboarded in each variant of the onboarding experiment


@dataclass(frozen=True)
class Sent:
    """What was sent: the genres onboarding answered with, and the listeners who acted."""

    genres: list[str]
    listeners: list[str]


def admin(stack: Stack, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    """An admin route with the local operator's token: status and JSON body."""
    return call(stack, method, path, body, admin=True, timeout_s=TIMEOUT_S)


def _ok(answer: tuple[int, dict[str, Any]], what: str) -> dict[str, Any]:
    status, body = answer
    assert status == 200, f"{what}: {status} {body}"
    return body


def _event(user: str, kind: str, **fields: str) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "user_id": user, "type": kind, **fields}


def _onboard(stack: Stack, user: str) -> dict[str, Any]:
    """A new listener onboards, sees the stations and clicks the first one."""
    answer = _ok(call(stack, "POST", "/v1/onboarding/recommendations",
                      {"user_id": user, "age": 30, "limit": 5}), "onboarding")  # fmt: skip
    rec = answer["recommendation_id"]
    shown = [station["id"] for station in answer["stations"]]
    events = [_event(user, "impression", recommendation_id=rec, item_id=s) for s in shown]
    events.append(_event(user, "click", recommendation_id=rec, item_id=shown[0]))
    _ok(call(stack, "POST", "/v1/events", {"events": events}), "onboarding events")
    return answer


def _listen(stack: Stack, user: str) -> None:
    """A known listener opens their lists, plays a recommended song and follows a recommended
    artist (the music KPIs), and opens the home screen."""
    songs = _ok(call(stack, "GET", f"/v1/users/{user}/recommendations?limit=5"), "songs")
    artists = _ok(call(stack, "GET", f"/v1/users/{user}/artists?limit=5"), "artists")
    _ok(call(stack, "GET", f"/v1/users/{user}/home?limit=5"), "home")
    events = [
        _event(user, "play", recommendation_id=songs["recommendation_id"],
               item_id=songs["items"][0]["id"]),
        _event(user, "follow", recommendation_id=artists["recommendation_id"],
               artist_id=artists["items"][0]["id"]),
    ]  # fmt: skip
    _ok(call(stack, "POST", "/v1/events", {"events": events}), "listener events")


def new_listeners() -> list[str]:
    """New listener ids, :data:`PER_VARIANT` of them in each variant of the onboarding
    experiment (the bandit's among them: its log feeds the off-policy estimates)."""
    experiment = load(DEFAULT_EXPERIMENTS)["onboarding"]
    wanted = dict.fromkeys(experiment.variants, PER_VARIANT)
    users: list[str] = []
    while any(wanted.values()):
        user = f"console-{uuid.uuid4().hex[:10]}"
        variant = experiment.assign(user)
        if wanted.get(variant, 0) > 0:
            wanted[variant] -= 1
            users.append(user)
    return users


def send(stack: Stack, known: str) -> Sent:
    """Requests and events of a few new listeners and of the known listener ``known``."""
    users = new_listeners()
    answers = [_onboard(stack, user) for user in users]
    _listen(stack, known)
    genres = [str(g["genre"]) for g in answers[0]["genres"]]
    return Sent(genres, [*users, known])


def has_values(series: dict[str, Any] | None, key: str = "values") -> bool:
    """Whether a series holds a positive number."""
    return any(isinstance(v, int | float) and v > 0 for v in (series or {}).get(key) or [])


def traffic_shown(body: dict[str, Any]) -> bool:
    return any(has_values(route["count"]) for route in body.get("routes", []))


def ctr_shown(body: dict[str, Any]) -> bool:
    return any(has_values(s, "ctr") for e in body.get("experiments", [])
               for s in (e.get("series") or {}).values())  # fmt: skip


def kpis_shown(body: dict[str, Any]) -> bool:
    plays = body.get("plays_from_recommendations", {}).get("total") or 0
    follows = body.get("follows_from_artists", {}).get("total") or 0
    return plays > 0 and follows > 0


def wait_for(stack: Stack, path: str, shown: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The admin route's answer once ``shown`` holds for it (within :data:`WAIT_S`)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        body = _ok(admin(stack, "GET", path), path)
        if shown(body):
            return body
        assert time.monotonic() < deadline, f"{path} showed nothing within {WAIT_S} s: {body}"
        time.sleep(POLL_S)
