"""The onboarding experiment's ``bandit`` variant through the handlers: the stations a
contextual bandit chose among the model's genres and the selected ones, each recorded with its
features, position and propensity; the prior's order without a state and a learnt one with
it; the stations' impressions and clicks logged for the bandit (the songs' not) and folded by
the refresh. The batch version is tests/lambdas/logic/chart_world.py's."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.handlers import events, onboarding
from lambdas.logic import bandit, onboarding_bandit
from lambdas.logic.bandit_state import refresh
from lambdas.logic.onboarding import EVERY_GENRE
from lambdas.logic.services import services
from tests.lambdas.api.loaded import ONBOARDING, FakeModel, Loaded, call, loaded, user_with
from tests.lambdas.logic.chart_world import PLAYS, SONGS, catalog, charts
from tests.lambdas.store.small_batch import write_version

STATE = {"pk": "bandit#onboarding", "sk": "state"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = tmp_path_factory.mktemp("onboarding-bandit")
    path = write_version(root, "ob1", {"catalog": [catalog(SONGS)], "regional": [charts(PLAYS)]})
    with loaded(Path(path), FakeModel(["Rock", "Jazz", "Pop"])) as found:
        yield found


@pytest.fixture
def no_state(stack: Loaded) -> Iterator[None]:
    table = services().store.tables["experiments"]
    table.delete_item(Key=STATE)
    yield
    table.delete_item(Key=STATE)


def onboard(user: str, limit: int = 3, selected: tuple[str, ...] = ("Jazz",)) -> dict[str, Any]:
    body = {"user_id": user, "region": "xx-b", "selected_genres": list(selected), "limit": limit}
    status, answer = call(onboarding, "POST", ONBOARDING, body)
    assert status == 200, answer
    return answer


def test_the_bandit_chooses_the_stations_and_records_each_decision(stack, no_state):
    user = user_with("bandit")
    answer = onboard(user, limit=3)
    assert (answer["variant"], answer["source"]) == ("bandit", "model")
    assert stack.model.asked[-1]["top_k"] == EVERY_GENRE  # every genre's probability
    shown = [s["id"] for s in answer["stations"]]
    assert len(shown) == 3
    assert all(s["chart"].endswith("#" + s["genre"]) for s in answer["stations"])
    assert [g["genre"] for g in answer["genres"]] == ["Rock", "Jazz", "Pop"]  # the model's
    issued = services().store.issued(answer["recommendation_id"])
    assert issued is not None
    assert (issued["user_id"], issued["experiment"], issued["variant"]) == (
        user, "onboarding", "bandit")  # fmt: skip
    decision = issued["decision"]
    assert decision["bandit"] == "onboarding"
    assert list(decision["items"]) == shown
    for position, station in enumerate(shown):
        mine = decision["items"][station]
        assert (mine["key"], int(mine["position"]), mine["policy_version"]) == (
            station, position, "prior")  # fmt: skip
        assert 0 < float(mine["propensity"]) <= 1
    candidates = {c["key"] for c in decision["candidates"]}
    assert candidates == {"st-xx-b", "st-rock", "st-jazz", "st-pop"}  # xx-b's, of every genre
    regional = next(c for c in decision["candidates"] if c["key"] == "st-xx-b")
    assert {k: float(v) for k, v in regional["features"].items()}["regional"] == 1.0
    jazz = next(c for c in decision["candidates"] if c["key"] == "st-jazz")
    assert float(jazz["features"]["selected"]) == 1.0


def test_the_other_variants_answer_as_before(stack, no_state):
    answer = onboard(user_with("model"))
    assert answer["variant"] == "model"
    issued = services().store.issued(answer["recommendation_id"])
    assert issued is not None
    assert "decision" not in issued


def test_without_a_state_the_models_genres_come_first_and_a_state_reorders(stack, no_state):
    """The prior puts a Rock station (the model's first genre) first nearly always; a state in
    which the Pop station is clicked whenever shown puts it first instead."""
    user = user_with("bandit")
    firsts = Counter(onboard(user, limit=1)["stations"][0]["genre"] for _ in range(40))
    assert firsts["Rock"] >= 32, firsts
    x = bandit.encode(onboarding_bandit.FEATURES, {"bias": 1.0, "chart": 1.0})
    stats = bandit.update(bandit.empty(onboarding_bandit.FEATURES),
                          [bandit.Obs(x, 1.0, "st-pop")] * 300
                          + [bandit.Obs(x, 0.0, "st-rock")] * 300
                          + [bandit.Obs(x, 0.0, "st-xx-b")] * 300)  # fmt: skip
    now = int(time.time())
    state = {"stats": bandit.dumps(stats), "watermark": now // 60, "updated_at": now,
             "impressions": stats.n, "clicks": stats.rewards}  # fmt: skip
    assert services().store.put_bandit_state("onboarding", state, 1, None)
    learnt = Counter(onboard(user, limit=1)["stations"][0]["id"] for _ in range(40))
    assert learnt["st-pop"] >= 32, learnt
    answer = onboard(user, limit=1)
    issued = services().store.issued(answer["recommendation_id"])
    assert issued is not None
    assert issued["decision"]["items"][answer["stations"][0]["id"]]["policy_version"] == "1"
    assert float(issued["decision"]["policy"]["epsilon"]) < 0.05  # annealed by 900 impressions


def test_station_events_are_logged_for_the_bandit_and_folded(stack, no_state):
    user = user_with("bandit")
    answer = onboard(user, limit=2)
    rec = answer["recommendation_id"]
    stations = [s["id"] for s in answer["stations"]]
    song = answer["songs"][0]["id"]
    now = int(time.time() * 1000)
    posted = [
        *({"type": "impression", "item_id": s} for s in stations),
        {"type": "click", "item_id": stations[0]},
        {"type": "impression", "item_id": song},
        {"type": "click", "item_id": song},
    ]
    batch = [{"event_id": uuid.uuid4().hex, "user_id": user, "recommendation_id": rec,
              "ts": now, **e} for e in posted]  # fmt: skip
    status, stored = call(events, "POST", "/v1/events", {"events": batch})
    assert status == 200, stored
    minute = int(time.time() // 60)
    logged = [e for m in (minute - 1, minute) for e in services().store.bandit_log("onboarding", m)
              if str(e["sk"]).split("#", 1)[1].startswith(rec)]  # fmt: skip
    assert sorted((e["type"], e["key"]) for e in logged) == sorted(
        [*(("impression", s) for s in stations), ("click", stations[0])])  # fmt: skip
    done = refresh(services(), onboarding_bandit.SPEC, now=time.time() + 180)
    assert done.written
    assert (done.impressions, done.clicks) >= (2, 1)
    stored_state = services().store.bandit_state("onboarding", cached=False)
    assert stored_state is not None
    assert set(bandit.loads(bytes(stored_state["stats"])).actions) >= set(stations)


def test_the_bandit_variant_shows_as_many_stations_as_the_model_variant(stack, no_state):
    """The bandit's candidates, then the charts' stations: never a shorter list than the model
    arm's when the catalogue has more (xx-b has 4 stations in all)."""
    for limit in (1, 2, 4, 10):
        chosen = onboard(user_with("bandit"), limit=limit)["stations"]
        charted = onboard(user_with("model"), limit=limit)["stations"]
        assert len(chosen) == len(charted) == min(limit, 4), limit
        assert len({s["id"] for s in chosen}) == len(chosen)  # each station once
