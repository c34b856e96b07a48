"""The served re-ranking through the routes (lambdas.logic.personal over the store): a play moves
songs for you a little, plays and follows move artists for you, a skip demotes its artist there,
and similar songs for a listener are re-ranked by their batch list. Songs ``s<i>`` are by
artists ``a<i>`` (tests.lambdas.logic.chart_world)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.handlers import events, recommendations
from lambdas.logic.rerank import ARTISTS, SONGS
from tests.lambdas.api.loaded import FakeModel, Loaded, call, loaded
from tests.lambdas.logic.chart_world import PLAYS, catalog, charts
from tests.lambdas.logic.chart_world import SONGS as N_SONGS
from tests.lambdas.store.small_batch import write_version

LISTENERS = ("u-songs", "u-artists", "u-skip", "u-similar")
BATCH = ["s001", "s002", "s003", "s004", "s005", "s006"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = tmp_path_factory.mktemp("reactivity")
    version = write_version(root, "r1", {
        "catalog": [catalog(N_SONGS)],
        "regional": [charts(PLAYS)],
        "personal": [[{"user_id": u, "ids": BATCH, "scores": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]}
                      for u in LISTENERS]],
        "artists": [[{"user_id": u, "ids": ["a001", "a002", "a003"], "scores": [1.0, 0.9, 0.8]}
                     for u in LISTENERS]],
        "similar-items": [[
            {"item_id": "s010", "ids": ["s006", "s020", "s002"], "scores": [0.9, 0.9, 0.8]},
            {"item_id": "s030", "ids": ["s020", "s002"], "scores": [0.9, 0.8]},
        ]],
        "similar-artists": [[{"artist_id": "a010", "ids": ["a020"], "scores": [0.9]},
                             {"artist_id": "a040", "ids": ["a041"], "scores": [1.0]}]],
    })  # fmt: skip
    with loaded(Path(version), FakeModel(["Jazz"])) as found:
        yield found


def post(user: str, n: int, kind: str, **ids: str) -> None:
    event = {"event_id": f"{user}-{n}", "user_id": user, "type": kind, **ids}
    status, ack = call(events, "POST", "/v1/events", {"events": [event]})
    assert (status, ack["stored"]) == (200, 1), ack


def get(path: str, query: str = "") -> list[str]:
    status, answer = call(recommendations, "GET", path, query=query)
    assert status == 200, answer
    return [item["id"] for item in answer["items"]]


def test_a_play_moves_songs_for_you_by_its_similarity_and_adds_nothing(stack):
    user = "u-songs"
    assert get(f"/v1/users/{user}/recommendations", "limit=6") == BATCH
    post(user, 1, "play", item_id="s010")
    after = get(f"/v1/users/{user}/recommendations", "limit=6")
    # the only play has its whole weight: s002 0.9 + 0.25 x 0.8 passes s001, s006 0.5 + 0.25 x
    # 0.9 passes s004; s020, similar too but not in the batch list, is not added
    assert SONGS.session_weight == 0.25
    assert SONGS.only_base
    assert after == ["s002", "s001", "s003", "s006", "s004", "s005"]


def test_plays_and_follows_move_artists_for_you(stack):
    user = "u-artists"
    assert get(f"/v1/users/{user}/artists", "limit=3") == ["a001", "a002", "a003"]
    post(user, 1, "play", item_id="s010")  # by a010, whose fans also like a020
    # the session part leads: 8 x 0.9 (a020's similarity) is above the best batch score (1.0)
    assert ARTISTS.session_weight * 0.9 > 1.0
    assert get(f"/v1/users/{user}/artists", "limit=4") == ["a020", "a001", "a002", "a003"]
    post(user, 2, "follow", artist_id="a040")  # a041 is like a040; a followed artist leaves
    shown = get(f"/v1/users/{user}/artists", "limit=5")
    # the newest seed weighs most: a041 (1.0 x 1.0) before a020 (0.8 x 0.9), then the batch list
    assert shown == ["a041", "a020", "a001", "a002", "a003"]
    post(user, 3, "follow", artist_id="a001")
    assert "a001" not in get(f"/v1/users/{user}/artists", "limit=5")


def test_a_skip_demotes_its_artist_in_artists_for_you(stack):
    user = "u-skip"
    post(user, 1, "skip", item_id="s001")  # by a001, the batch list's first
    shown = get(f"/v1/users/{user}/artists", "limit=3")
    assert ARTISTS.skip_demotion >= 1.0  # one skip costs the best batch score
    assert shown == ["a002", "a003", "a001"]


def test_similar_songs_for_a_listener_follow_their_batch_list(stack):
    assert get("/v1/items/s030/similar") == ["s020", "s002"]
    user = "u-similar"
    # s002 is in the listener's batch list (0.9): 0.8 / 0.9 + 0.25 x 0.9 > 1.0
    assert get("/v1/items/s030/similar", f"user_id={user}") == ["s002", "s020"]
    post(user, 1, "play", item_id="s002")
    assert get("/v1/items/s030/similar", f"user_id={user}") == ["s020"]  # just heard
