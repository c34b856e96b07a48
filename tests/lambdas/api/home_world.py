"""The batch version the home-screen tests serve (tests/lambdas/logic/chart_world.py's charts
with one listener's lists and similar lists), loaded, with that listener onboarded (Jazz, Rock)
and one play of s001: every carousel kind has something to show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lambdas.handlers import events, onboarding
from tests.lambdas.api.loaded import ONBOARDING, FakeModel, Loaded, call, loaded
from tests.lambdas.logic.chart_world import PLAYS, SONGS, catalog, charts
from tests.lambdas.store.small_batch import write_version


@contextmanager
def home_world(root: Path, version: str, listener: str) -> Iterator[Loaded]:
    """Load the version into moto, onboard ``listener`` and post their play."""
    songs = [f"s{i:03d}" for i in range(20, 40)]
    path = write_version(root, version, {
        "catalog": [catalog(SONGS)],
        "regional": [charts(PLAYS)],
        "personal": [[{"user_id": listener, "ids": songs,
                       "scores": [1 - i / 40 for i in range(20)]}]],
        "artists": [[{"user_id": listener, "ids": ["a001", "a002"], "scores": [1.0, 0.5]}]],
        "similar-items": [[{"item_id": "s001", "ids": [f"s{i:03d}" for i in range(40, 55)],
                            "scores": [0.9] * 15}]],
        "similar-artists": [[{"artist_id": "a001", "ids": ["a005", "a006", "a007"],
                              "scores": [0.9, 0.8, 0.7]}]],
    })  # fmt: skip
    with loaded(Path(path), FakeModel(["Jazz", "Rock"])) as found:
        body = {"user_id": listener, "region": "xx-b", "selected_genres": ["Jazz", "Rock"]}
        assert call(onboarding, "POST", ONBOARDING, body)[0] == 200
        play = {"event_id": "p1", "user_id": listener, "type": "play", "item_id": "s001"}
        assert call(events, "POST", "/v1/events", {"events": [play]})[0] == 200
        yield found
