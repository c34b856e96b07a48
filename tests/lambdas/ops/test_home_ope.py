"""Off-policy evaluation of the home screen end to end: home screens served by the real route
(``GET /v1/users/{userId}/home``) under a state whose softmax spreads the first carousel over
every kind, their first carousels seen and clicked (``POST /v1/events``) with a known click
rate per kind, then ``python -m lambdas.ops.experiments ope``: the current softmax (the logging
policy) is estimated at the observed click rate exactly, and the intervals of the other targets
cover their true values, computed from the click model; an empty log says so."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator

import boto3
import pytest

from lambdas.handlers import events, recommendations
from lambdas.logic import bandit, home, home_evaluation
from lambdas.logic.bandit_state import posterior_of
from lambdas.logic.services import services
from lambdas.ops.experiments import main, off_policy
from lambdas.store.dynamodb import Store
from tests.lambdas.api.home_world import home_world
from tests.lambdas.api.loaded import Loaded, call
from tests.lambdas.conftest import PREFIX

KNOWN = "u-ope"  # a batch list, onboarded, one play: every kind is a candidate
NOBODY = "u-nobody"  # nothing: region_chart and artists_for_you only
SCREENS = {KNOWN: 100, NOBODY: 25}
# the known click model: the probability that a first carousel of each kind is clicked
CTR = {"for_you": 0.30, "because_you_played": 0.10, "region_chart": 0.50,
       "artists_for_you": 0.10, "genre_station": 0.20, "fans_also_like": 0.05}  # fmt: skip


def test_an_empty_log_says_so(tables, capsys):
    store = Store({"experiments": boto3.resource("dynamodb").Table(f"{PREFIX}-experiments")})
    result = off_policy(store, hours=0.25)
    assert (result.decisions, result.observed, result.results) == (0, None, [])
    assert main(["ope", "--table", f"{PREFIX}-experiments", "--hours", "0.25"]) == 0
    assert "nothing to evaluate" in capsys.readouterr().out
    assert main(["ope", "--table", f"{PREFIX}-experiments", "--hours", "0.25", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decisions"] == 0


def flat_state() -> dict[str, object]:
    """A state that has seen every kind clicked at 0.20 (region_chart at 0.22) in both
    listeners' contexts: the softmax puts any kind first, region_chart most often."""
    contexts = [home.Context(has_list=True, onboarded=True, plays=1, days_since_signup=0.0),
                home.Context()]  # fmt: skip
    observations = []
    for context in contexts:
        for kind in home.KINDS:
            rate = 0.22 if kind == "region_chart" else 0.20
            x = home.vector(kind, context)
            observations += [bandit.Obs(x, 1.0 if i < rate * 400 else 0.0) for i in range(400)]
    stats = bandit.update(bandit.empty(home.FEATURES), observations)
    return {"stats": bandit.dumps(stats), "watermark": int(time.time() // 60) + 1000}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Home screens served and their first carousels seen and clicked (``CTR``)."""
    with home_world(tmp_path_factory.mktemp("ope"), "o1", KNOWN) as found:
        # the watermark ahead: no refresh folds these clicks while the test runs
        assert services().store.put_bandit_state("home", flat_state(), 1, None)
        clicks = random.Random(18)
        n = 0
        for user, screens in SCREENS.items():
            for _ in range(screens):
                status, answer = call(recommendations, "GET", f"/v1/users/{user}/home",
                                      query="limit=2&carousels=2")  # fmt: skip
                assert (status, answer["policy"]["version"]) == (200, "1"), answer
                shown = answer["carousels"]
                n += 1
                posted = [{"event_id": f"i{n}-{c['position']}", "user_id": user,
                           "type": "impression", "recommendation_id": c["recommendation_id"]}
                          for c in shown]  # fmt: skip
                first = shown[0]
                if clicks.random() < CTR[first["kind"]]:
                    posted.append({"event_id": f"c{n}", "user_id": user, "type": "click",
                                   "recommendation_id": first["recommendation_id"],
                                   "item_id": first["items"][0]["id"]})  # fmt: skip
                status, ack = call(events, "POST", "/v1/events", {"events": posted})
                assert (status, ack["counted"]) == (200, len(posted)), ack
        yield found


def truth(found: list[home_evaluation.Decision], target: home_evaluation.Target) -> float:
    """A target's true value on the logged contexts: Σ π(a | x) CTR(a), averaged."""
    values = [sum(p * CTR[kind] for p, kind in zip(target(d), d.candidates, strict=True))
              for d in found]  # fmt: skip
    return sum(values) / len(values)


def test_the_logging_policy_is_its_observed_rate_and_the_others_are_covered(served):
    store = services().store
    report = off_policy(store, hours=0.25, resamples=2000, level=0.999)
    assert report.decisions == sum(SCREENS.values())
    assert report.policy_versions == {"1": report.decisions}
    assert report.state_version == "1"
    # the second carousels' impressions are left out
    assert report.skipped.other_positions == report.decisions
    assert (report.skipped.unissued, report.skipped.clicks_without_impression) == (0, 0)
    by_target = {r.name: r for r in report.results}
    assert set(by_target) == set(home_evaluation.TARGETS)
    # the current softmax logged everything: weights 1, every estimate the observed value
    softmax = by_target["softmax"].estimates
    assert softmax["ips"].max_weight == pytest.approx(1.0, abs=1e-6)
    assert softmax["ips"].ess == pytest.approx(report.decisions, rel=1e-6)
    for method in ("ips", "snips"):
        assert softmax[method].value == pytest.approx(report.observed, abs=1e-6)
        assert softmax[method].covers(report.observed)
    # DR with w = 1: the observed value plus the mean of Σ π r̂ - r̂(logged), 0 in expectation
    assert softmax["dr"].value == pytest.approx(report.observed, abs=0.02)
    assert softmax["dr"].covers(report.observed)
    # the others: their true values from the click model, covered by every interval
    rewards, _ = home_evaluation.first_carousels(
        e for minute in range(int(time.time() // 60) - 16, int(time.time() // 60) + 1)
        for e in store.bandit_log("home", minute)
    )  # fmt: skip
    found, missing = home_evaluation.decisions(rewards, store.issued_many(rewards))
    assert (len(found), missing) == (report.decisions, 0)
    _, post = posterior_of(store.bandit_state("home", cached=False), home.SPEC)
    targets = home_evaluation.targets(post)
    # greedy puts region_chart first (its state's best), worth CTR 0.5; the prior, for_you
    assert truth(found, targets["greedy"]) == pytest.approx(CTR["region_chart"])
    assert 0.3 < truth(found, targets["prior"]) < 0.4
    assert truth(found, targets["softmax"]) == pytest.approx(report.observed, abs=0.15)
    for name in ("greedy", "prior"):
        true_value = truth(found, targets[name])
        result = by_target[name]
        assert result.estimates["ips"].max_weight > 1.5  # another policy than the logging one
        for method, estimate in result.estimates.items():
            assert estimate.covers(true_value), (name, method, estimate, true_value)


def test_the_command_prints_every_target_and_its_json(served, capsys):
    assert main(["ope", "--hours", "0.25", "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert f"decisions {sum(SCREENS.values())}" in out
    for name in home_evaluation.TARGETS:
        for method in home_evaluation.METHODS:
            assert f"{name:<9}{method:<7}" in out
    assert main(["ope", "--hours", "0.25", "--resamples", "200", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["decisions"] == sum(SCREENS.values())
    assert [t["target"] for t in document["targets"]] == list(home_evaluation.TARGETS)
    softmax = document["targets"][2]
    assert softmax["estimates"]["ips"]["value"] == pytest.approx(document["observed"], abs=1e-6)
    with pytest.raises(SystemExit):
        main(["ope", "--hours", "200"])  # beyond the log's 7 days
