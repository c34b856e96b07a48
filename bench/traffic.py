"""Realistic requests to the API with ids that exist in a running local stack: the request
catalogue of the gateway benchmark (:mod:`bench.api_gateway`), the load test
(:mod:`bench.load_test`) and their tests. The ids come from :func:`bench.api_gateway.find_ids`.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from bench.loadgen import Request
from local.cognito import listener_headers
from local.stack import Stack

EVENT_TYPES = {"play": 60, "skip": 18, "like": 6, "follow": 3, "impression": 9, "click": 4}


@dataclass(frozen=True)
class Ids:
    """Ids that exist in the running stack: listeners with personal lists, songs and artists
    with similar lists, and (region, selected genres) of the dataset's listeners."""

    listeners: tuple[str, ...]
    songs: tuple[str, ...]
    artists: tuple[str, ...]
    profiles: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass
class Traffic:
    """Realistic requests with real ids; event and onboarding ids are unique to this run
    (``run_id``: this run's stored events can be told from others'). ``new_listeners_only``:
    events only for listeners this run onboarded (on a shared stack whose real listeners other
    tests watch). Every request carries the app's key and the ID token of the listener it acts
    for, as that listener's app would send them (tokens are fetched when a request is made, so
    plan requests before timing them)."""

    stack: Stack
    ids: Ids
    run_id: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex[:8]}")
    seed: int = 7
    new_listeners_only: bool = False
    # listener -> the credential headers of a request acting for them (default: the app's key
    # and the listener's ID token from the stack's user pool)
    credentials: Callable[[str], dict[str, str]] | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.serial = 0
        self.onboarded: list[str] = []

    def headers(self, listener: str) -> tuple[tuple[str, str], ...]:
        """The headers of a request acting for ``listener``."""
        if self.credentials is not None:
            credentials = self.credentials(listener)
        else:
            credentials = listener_headers(self.stack, listener)
        return (*credentials.items(), ("Content-Type", "application/json"))

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _get(self, path: str, label: str, listener: str) -> Request:
        return Request("GET", path, headers=self.headers(listener), label=label)

    def onboarding(self) -> Request:
        region, genres = self.rng.choice(self.ids.profiles)
        user = f"{self.run_id}-u{self._next()}"
        self.onboarded.append(user)
        body = {"user_id": user, "age": self.rng.randint(14, 70),
                "gender": self.rng.choice("fmx"), "region": region,
                "selected_genres": list(genres), "limit": 10}  # fmt: skip
        return Request("POST", "/v1/onboarding/recommendations", json.dumps(body).encode(),
                       self.headers(user), "onboarding")  # fmt: skip

    def personal_songs(self) -> Request:
        user = self.rng.choice(self.ids.listeners)
        path = f"/v1/users/{quote(user)}/recommendations?kind=songs&limit=10"
        return self._get(path, "personal songs", user)

    def personal_artists(self) -> Request:
        user = self.rng.choice(self.ids.listeners)
        path = f"/v1/users/{quote(user)}/recommendations?kind=artists&limit=10"
        return self._get(path, "personal artists", user)

    def user_artists(self) -> Request:
        user = self.rng.choice(self.ids.listeners)
        return self._get(f"/v1/users/{quote(user)}/artists?limit=10", "user artists", user)

    def similar_items(self) -> Request:
        song = quote(self.rng.choice(self.ids.songs))
        user = self.rng.choice(self.ids.listeners)
        path = f"/v1/items/{song}/similar?user_id={quote(user)}&limit=10"
        return self._get(path, "similar items", user)

    def similar_artists(self) -> Request:
        artist = quote(self.rng.choice(self.ids.artists))
        user = self.rng.choice(self.ids.listeners)
        return self._get(f"/v1/artists/{artist}/similar?limit=10", "similar artists", user)

    def event_listener(self) -> str:
        if self.new_listeners_only or (self.onboarded and self.rng.random() < 0.3):
            if not self.onboarded:
                self.onboarding()  # a new listener of this run's to play as
            return self.rng.choice(self.onboarded)
        return self.rng.choice(self.ids.listeners)

    def event_body(
        self, user: str, n: int, serial: str | None = None
    ) -> dict[str, list[dict[str, object]]]:
        """A session's ``n`` events: plays, skips, likes, follows, impressions and clicks."""
        types = self.rng.choices(list(EVENT_TYPES), list(EVENT_TYPES.values()), k=n)
        now = int(time.time() * 1000)
        events = []
        for i, kind in enumerate(types):
            event_id = f"{self.run_id}-e{serial or self._next()}-{i}"
            event: dict[str, object] = {"event_id": event_id, "user_id": user, "type": kind,
                                        "ts": now - (n - i) * 30_000}  # fmt: skip
            if kind == "follow":
                event["artist_id"] = self.rng.choice(self.ids.artists)
            elif kind in ("impression", "click"):  # of no answer the server issued: not counted
                event["recommendation_id"] = f"{self.run_id}-r{self.rng.randrange(10**6)}"
            else:
                event["item_id"] = self.rng.choice(self.ids.songs)
            events.append(event)
        return {"events": events}

    def events(self, serial: str | None = None) -> Request:
        """1 to 5 events of one listener (``serial``: a placeholder for wrk's counter)."""
        return self.events_of_listener(serial)[0]

    def events_of_listener(self, serial: str | None = None) -> tuple[Request, str, tuple[str, ...]]:
        """An events request, its listener and its event ids."""
        user = self.event_listener()
        body = self.event_body(user, self.rng.choice((1, 1, 2, 3, 5)), serial)
        ids = tuple(str(event["event_id"]) for event in body["events"])
        request = Request(
            "POST", "/v1/events", json.dumps(body).encode(), self.headers(user), "events"
        )
        return request, user, ids

    def availability(self) -> Request:
        song = quote(self.rng.choice(self.ids.songs))
        headers = (("x-admin-key", self.stack.admin_key), ("Content-Type", "application/json"))
        return Request("PUT", f"/v1/catalog/items/{song}/availability", b'{"available": true}',
                       headers, "catalog availability")  # fmt: skip
