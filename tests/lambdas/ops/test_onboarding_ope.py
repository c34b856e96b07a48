"""Off-policy evaluation of the onboarding stations end to end: bandit-variant listeners onboarded
through the real route (``POST /v1/onboarding/recommendations``) under a state whose annealed
softmax spreads the first station over every candidate, their stations seen and clicked
(``POST /v1/events``) with a known click model, then ``python -m lambdas.ops.experiments ope
--bandit onboarding``: the logged policy is estimated at the observed click rate exactly, and the
intervals of the other targets cover their true values, computed from the click model by
:func:`lambdas.logic.onboarding_evaluation.true_values`. The route's rankings are seeded (its
``random.Random``), so the test draws the same log every run. The batch version is
tests/lambdas/logic/chart_world.py's: region xx-b has four candidate stations, its own
(``st-xx-b``, Rock) and the national Rock, Jazz and Pop ones."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lambdas.api import onboarding as onboarding_route
from lambdas.handlers import events, onboarding
from lambdas.logic import bandit, onboarding_bandit, onboarding_evaluation
from lambdas.logic.services import services
from lambdas.ops.experiments import main, off_policy, onboarding_log
from tests.lambdas.api.loaded import ONBOARDING, FakeModel, Loaded, call, loaded
from tests.lambdas.logic.chart_world import PLAYS, SONGS, catalog, charts
from tests.lambdas.store.small_batch import write_version

GENRE = {"st-xx-b": "Rock", "st-rock": "Rock", "st-jazz": "Jazz", "st-pop": "Pop"}
# the known click model: each station's click rate, 15 points more for a selected genre
CTR = {"st-xx-b": 0.45, "st-rock": 0.25, "st-jazz": 0.35, "st-pop": 0.15}
SELECTIONS = (("Jazz",), ("Pop",), ("Rock",))
ANSWERS = 40  # per selection
SECOND_SEEN_EVERY = 8  # of a listener's answers, every 8th's second station is seen too
# the state: each station seen 50 times in the Jazz and the Pop listeners' contexts, clicked at
# these rates; its 400 impressions anneal ε to 0.028 and the temperature to 0.011
STATE_RATES = {"st-xx-b": 0.205, "st-rock": 0.205, "st-jazz": 0.225, "st-pop": 0.20}
SEEN = 50


def listeners() -> dict[str, tuple[str, ...]]:
    """A bandit-variant listener per selection."""
    svc = services()
    ids = [f"ope-{i}" for i in range(2000) if svc.variant(f"ope-{i}") == "bandit"]
    return dict(zip(ids, SELECTIONS, strict=False))


def click_probabilities(chosen: Sequence[str], stations: Sequence[str]) -> list[float]:
    return [CTR[s] + (0.15 if GENRE[s] in chosen else 0.0) for s in stations]


def features(station: str, chosen: Sequence[str]) -> dict[str, float]:
    """A candidate's features as the route computes them for region xx-b (the fake model's
    scores: Rock 1, Jazz 1/2, Pop 1/3)."""
    score = {"Rock": 1.0, "Jazz": 0.5, "Pop": 1 / 3}[GENRE[station]]
    values = {"bias": 1.0, "model_logit": round(bandit.logit(score), 6),
              "selected": float(GENRE[station] in chosen),
              "regional": float(station == "st-xx-b"),
              "chart": 0.5 if station == "st-rock" else 1.0}  # fmt: skip
    return {k: v for k, v in values.items() if v}


def spread_state() -> dict[str, Any]:
    observations = []
    for chosen in SELECTIONS[:2]:
        for station, rate in STATE_RATES.items():
            x = bandit.encode(onboarding_bandit.FEATURES, features(station, chosen))
            observations += [bandit.Obs(x, 1.0 if i < rate * SEEN else 0.0, station)
                             for i in range(SEEN)]  # fmt: skip
    stats = bandit.update(bandit.empty(onboarding_bandit.FEATURES), observations)
    # the watermark ahead: no refresh folds this test's clicks while it runs
    return {"stats": bandit.dumps(stats), "watermark": int(time.time() // 60) + 1000,
            "updated_at": int(time.time()), "impressions": stats.n,
            "clicks": stats.rewards}  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Bandit answers of two stations each, the first seen and clicked by the click model."""
    root = tmp_path_factory.mktemp("onboarding-ope")
    path = write_version(root, "ope1", {"catalog": [catalog(SONGS)], "regional": [charts(PLAYS)]})
    with loaded(Path(path), FakeModel(["Rock", "Jazz", "Pop"])) as found:
        ranking = random.Random(7)
        found.mp.setattr(onboarding_route, "random", SimpleNamespace(Random=lambda: ranking))
        assert services().store.put_bandit_state("onboarding", spread_state(), 1, None)
        clicks = random.Random(18)
        for user, chosen in listeners().items():
            for n in range(ANSWERS):
                body = {"user_id": user, "region": "xx-b", "selected_genres": list(chosen),
                        "limit": 2}  # fmt: skip
                status, answer = call(onboarding, "POST", ONBOARDING, body)
                assert (status, answer["variant"], answer["source"]) == (200, "bandit", "model")
                # the first station seen, clicked by the click model; the second seen now and
                # then (left out: only position 0 is evaluated; each event is a transaction
                # moto makes slower as the table grows, so the log is kept small)
                first, second = [s["id"] for s in answer["stations"]]
                posted: list[dict[str, Any]] = [{"type": "impression", "item_id": first}]
                if clicks.random() < click_probabilities(chosen, [first])[0]:
                    posted.append({"type": "click", "item_id": first})
                if n % SECOND_SEEN_EVERY == 0:
                    posted.append({"type": "impression", "item_id": second})
                batch = [{"event_id": uuid.uuid4().hex, "user_id": user,
                          "recommendation_id": answer["recommendation_id"],
                          "ts": int(time.time() * 1000), **e} for e in posted]  # fmt: skip
                status, ack = call(events, "POST", "/v1/events", {"events": batch})
                assert (status, ack["counted"]) == (200, len(batch)), ack
        yield found


def truth(user_id: str | None, stations: Sequence[str]) -> list[float]:
    return click_probabilities(listeners()[str(user_id)], stations)


DECISIONS = ANSWERS * len(SELECTIONS)


def test_an_empty_window_says_so(served):
    store = services().store
    result = off_policy(store, hours=0.25, now=time.time() - 86_400, bandit="onboarding")
    assert (result.decisions, result.observed, result.results) == (0, None, [])
    assert "nothing to evaluate" in onboarding_evaluation.format_evaluation(result)


def test_the_logging_policy_is_its_observed_rate_and_the_others_are_covered(served):
    store = services().store
    report = off_policy(store, hours=0.25, bandit="onboarding", resamples=2000)
    assert report.decisions == DECISIONS
    assert (dict(report.policy_versions), report.state_version) == ({"1": DECISIONS}, "1")
    # the second stations' impressions are left out
    assert report.skipped.other_positions == len(SELECTIONS) * ANSWERS // SECOND_SEEN_EVERY
    assert (report.skipped.unissued, report.skipped.clicks_without_impression) == (0, 0)
    by_target = {r.name: r for r in report.results}
    assert list(by_target) == list(onboarding_evaluation.TARGETS)
    logging = by_target["logging"].estimates
    assert logging["ips"].max_weight == pytest.approx(1.0)
    assert logging["ips"].ess == pytest.approx(DECISIONS)
    for method in ("ips", "snips"):
        assert logging[method].value == pytest.approx(report.observed, abs=1e-9)
    assert logging["dr"].value == pytest.approx(report.observed, abs=0.02)
    # the truth of every target on the same decisions, from the click model
    log = onboarding_log(store, hours=0.25)
    assert len(log.decisions) == DECISIONS
    # the logging ε recorded per decision: annealed by the state's 400 impressions
    for d in log.decisions:
        assert d.policy.epsilon == pytest.approx(500 / 900 * 0.05)
    values = onboarding_evaluation.true_values(log.decisions, truth, log.posterior, "1")
    # prior-greedy: the model's first genre's regional station (0.45, 0.60 for the Rock
    # listener); greedy: the state's best, Jazz (0.35, 0.50 for the Jazz listener)
    assert values["prior-greedy"] == pytest.approx((0.45 + 0.45 + 0.60) / 3)
    assert values["greedy"] == pytest.approx((0.50 + 0.35 + 0.35) / 3)
    assert len({d.station for d in log.decisions}) == 4  # every candidate was logged first
    # every 95 % interval covers its target's truth
    for name in onboarding_evaluation.TARGETS:
        for method, estimate in by_target[name].estimates.items():
            assert estimate.covers(values[name]), (name, method, estimate, values[name])
    assert by_target["prior-greedy"].estimates["ips"].max_weight > 3  # another policy


def test_the_command_prints_every_target_and_its_json(served, capsys):
    assert main(["ope", "--bandit", "onboarding", "--hours", "0.25", "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("onboarding: off-policy evaluation of the first station")
    assert f"decisions {DECISIONS}" in out
    for name in onboarding_evaluation.TARGETS:
        for method in onboarding_evaluation.METHODS:
            assert f"{name:<14}{method:<7}" in out
    args = ["ope", "--bandit", "onboarding", "--hours", "0.25", "--resamples", "200", "--json"]
    assert main(args) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["decisions"] == DECISIONS
    assert [t["target"] for t in document["targets"]] == list(onboarding_evaluation.TARGETS)
    logging = document["targets"][-1]
    assert logging["estimates"]["ips"]["value"] == pytest.approx(document["observed"], abs=1e-9)
    # the home screen's is still the default, and has nothing here
    assert main(["ope", "--hours", "0.25"]) == 0
    assert capsys.readouterr().out.startswith("home: no logged first carousels")
