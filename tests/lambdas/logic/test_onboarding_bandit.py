"""The onboarding bandit's pure parts: annealed exploration, the fold of keyed impressions and
clicks, and the per-station decisions an answer's events are attributed to."""

from __future__ import annotations

import random

import pytest

from lambdas.logic import bandit, onboarding_bandit
from lambdas.logic.attribution import observed
from lambdas.logic.bandit_state import PolicyState, fold, prior

BASE = bandit.Policy("softmax", temperature=0.02, optimism=1.0, epsilon=0.05)


def test_annealing_halves_exploration_at_its_half_life_and_keeps_its_floors():
    anneal = bandit.Annealing(half_life=500.0, epsilon_floor=0.01, temperature_floor=0.002)
    assert anneal.policy(BASE, 0) == BASE
    half = anneal.policy(BASE, 500)
    assert (half.epsilon, half.optimism, half.temperature) == pytest.approx((0.025, 0.5, 0.01))
    late = anneal.policy(BASE, 10**9)
    assert (late.epsilon, late.temperature) == (0.01, 0.002)
    assert late.optimism == pytest.approx(0.0, abs=1e-6)
    assert anneal.policy(BASE, -5) == BASE  # a damaged count never explores more than at start
    with pytest.raises(bandit.BanditError):
        bandit.Annealing(epsilon_floor=0.0)


def test_a_policy_state_anneals_only_a_bandit_that_anneals():
    state = PolicyState(prior(onboarding_bandit.SPEC), "7", observations=1500.0)
    assert state.policy(onboarding_bandit.SPEC, BASE).epsilon == pytest.approx(0.0125)
    from lambdas.logic import home

    assert state.policy(home.SPEC, BASE) == BASE


def test_the_fold_learns_each_stations_own_clicks():
    features = {"bias": 1.0, "model_logit": -1.0, "chart": 1.0}
    logged = [
        {"type": "impression", "features": features, "key": "st-a"},
        {"type": "click", "features": features, "key": "st-a"},
        {"type": "impression", "features": features, "key": "st-b"},
    ]
    folded, impressions, clicks = fold(bandit.empty(onboarding_bandit.FEATURES), logged)
    assert (impressions, clicks) == (2, 1)
    x = bandit.encode(onboarding_bandit.FEATURES, features)
    updated = bandit.update(bandit.empty(onboarding_bandit.FEATURES),
                            [bandit.Obs(x, 1.0, "st-a"), bandit.Obs(x, 0.0, "st-b")])  # fmt: skip
    assert folded.actions["st-a"].rewards == updated.actions["st-a"].rewards == 1.0
    assert folded.actions["st-b"].n == updated.actions["st-b"].n == 1.0
    assert folded.xr == pytest.approx(updated.xr)
    post = bandit.posterior(onboarding_bandit.MODEL, folded)
    assert post.predict(x, "st-a") > post.predict(x, "st-b")  # the clicked station's own effect


def test_each_station_of_an_answer_is_observed_with_its_own_decision():
    choice = onboarding_bandit.Choice(
        [{"id": "st-a"}],
        {
            "st-a": {
                "features": {"bias": 1.0},
                "key": "st-a",
                "position": 0,
                "propensity": 0.9,
                "policy_version": "3",
            }
        },
        [onboarding_bandit.Candidate("st-a", "Jazz", "xx-a#Jazz", {"bias": 1.0})],
    )
    issued = {"decision": onboarding_bandit.decision(choice)}
    seen = observed(issued, "st-a")
    assert seen is not None
    assert seen.bandit == "onboarding"
    assert dict(seen.fields) == {"features": {"bias": 1.0}, "key": "st-a", "position": 0,
                                 "propensity": 0.9, "policy_version": "3"}  # fmt: skip
    assert observed(issued, "s001") is None  # a song of the same answer: not the bandit's
    assert observed(issued, None) is None


def test_candidate_genres_are_the_models_then_the_selected_ones():
    ranked = [{"genre": g, "score": 0.1} for g in "ABCDEFG"]
    assert onboarding_bandit.candidate_genres(ranked, ["G", "B"]) == ["A", "B", "C", "D", "E", "G"]


def test_with_no_clicks_the_prior_ranks_stations_by_the_models_probability():
    found = [
        onboarding_bandit.Candidate(
            f"st-{p}", f"g{p}", "*#g", {"bias": 1.0, "chart": 1.0, "model_logit": bandit.logit(p)}
        )
        for p in (0.05, 0.5, 0.2)
    ]
    vectors = [bandit.encode(onboarding_bandit.FEATURES, c.features) for c in found]
    post = prior(onboarding_bandit.SPEC)
    greedy = bandit.rank(post, vectors, bandit.Policy("greedy"), random.Random(0))
    assert [found[i].station for i in greedy.order] == ["st-0.5", "st-0.2", "st-0.05"]
