"""Off-policy evaluation of the onboarding bandit's first station on synthetic logs (the log
entries and issued records in the shapes the routes write) drawn from a known click model with
known propensities: the logged policy is estimated at its observed click rate exactly, the
other targets' 95 % intervals cover their truth in most seeded repetitions, and every entry left
out is counted and said."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from lambdas.logic import bandit, onboarding_bandit, onboarding_evaluation
from lambdas.logic.bandit_state import prior
from lambdas.logic.onboarding_evaluation import Decision
from lambdas.store import keys

STATIONS = ("st-rock", "st-jazz", "st-pop", "st-folk", "st-metal")
GENRE_P = {"st-rock": 0.6, "st-jazz": 0.25, "st-pop": 0.1, "st-folk": 0.04, "st-metal": 0.01}
BASE_CTR = {"st-rock": 0.20, "st-jazz": 0.45, "st-pop": 0.30, "st-folk": 0.10, "st-metal": 0.05}
USERS = 6
# the logging policies: the prior's with much exploration (version "prior") and a state's,
# annealed (version "1"); each decision records its own
EXPLORING = bandit.Policy("softmax", temperature=0.05, optimism=0.5, epsilon=0.5)
ANNEALED = bandit.Policy("softmax", temperature=0.03, optimism=0.2, epsilon=0.3)


def click_probability(user: int, station: str) -> float:
    """The known click model: each station's rate, a selected genre's 10 points more."""
    return BASE_CTR[station] + (0.10 if selected(user, station) else 0.0)


def truth(user_id: str | None, stations: Sequence[str]) -> list[float]:
    user = int(str(user_id).removeprefix("u"))
    return [click_probability(user, s) for s in stations]


def selected(user: int, station: str) -> bool:
    return STATIONS.index(station) == user % len(STATIONS)


def candidates(user: int) -> list[dict[str, Any]]:
    """Four of the stations (which ones depends on the listener), with their features."""
    chosen = [s for i, s in enumerate(STATIONS) if i != (user + 2) % len(STATIONS)]
    return [{"key": s, "features": {
        "bias": Decimal(1), "model_logit": Decimal(str(round(bandit.logit(GENRE_P[s]), 6))),
        **({"selected": Decimal(1)} if selected(user, s) else {}),
        **({"regional": Decimal(1)} if user % 2 and s == "st-pop" else {}),
        "chart": Decimal(1)}} for s in chosen]  # fmt: skip


def vectors(cands: list[dict[str, Any]]) -> list[list[float]]:
    values = [{k: float(v) for k, v in c["features"].items()} for c in cands]
    return [bandit.encode(onboarding_bandit.FEATURES, v) for v in values]


def learnt() -> bandit.Posterior:
    """A state that has seen Jazz clicked more than Rock (what ``greedy`` ranks by)."""
    x = bandit.encode(onboarding_bandit.FEATURES, {"bias": 1.0, "chart": 1.0})
    seen = [bandit.Obs(x, float(i < 45), "st-jazz") for i in range(100)]
    seen += [bandit.Obs(x, float(i < 20), "st-rock") for i in range(100)]
    stats = bandit.update(bandit.empty(onboarding_bandit.FEATURES), seen)
    return bandit.posterior(onboarding_bandit.MODEL, stats)


def issued(user: int, cands: list[dict[str, Any]], shown: list[int], props: list[float],
           version: str, policy: bandit.Policy) -> dict[str, Any]:  # fmt: skip
    """An issued record of the bandit variant, as the route writes it."""
    items = {cands[i]["key"]: {"features": cands[i]["features"], "key": cands[i]["key"],
                               "position": Decimal(pos), "propensity": Decimal(str(p)),
                               "policy_version": version}
             for pos, (i, p) in enumerate(zip(shown, props, strict=True))}  # fmt: skip
    return {"user_id": f"u{user}", "experiment": "onboarding", "variant": "bandit",
            "decision": {"bandit": "onboarding", "items": items, "candidates": cands,
                         "policy": {"epsilon": Decimal(str(policy.epsilon)),
                                    "temperature": Decimal(str(policy.temperature)),
                                    "optimism": Decimal(str(policy.optimism))}}}  # fmt: skip


def entry(rec: str, event: str, position: int, station: str) -> dict[str, Any]:
    return {"sk": keys.bandit_log_sk(1_000, rec, event, station), "type": event,
            "position": Decimal(position), "key": station}  # fmt: skip


def synthetic_log(
    n: int, seed: int, post: bandit.Posterior
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """n answers of two stations each, the first half logged by the prior (``EXPLORING``), the
    rest by ``post`` (``ANNEALED``, version 1); their impressions and the clicks the click
    model draws."""
    rng = random.Random(seed)
    log: list[dict[str, Any]] = []
    records: dict[str, dict[str, Any]] = {}
    for i in range(n):
        user = rng.randrange(USERS)
        cands = candidates(user)
        by_prior = i < n // 2
        policy, version = (EXPLORING, "prior") if by_prior else (ANNEALED, "1")
        ranking = bandit.rank(prior(onboarding_bandit.SPEC) if by_prior else post,
                              vectors(cands), policy, rng, slots=2,
                              keys=[c["key"] for c in cands])  # fmt: skip
        shown = list(ranking.order)
        rec = f"r{i:05d}"
        records[rec] = issued(user, cands, shown, list(ranking.propensities), version, policy)
        for pos, j in enumerate(shown):
            station = cands[j]["key"]
            log.append(entry(rec, "impression", pos, station))
            if rng.random() < click_probability(user, station):
                log.append(entry(rec, "click", pos, station))
    return log, records


def decisions_of(n: int, seed: int, post: bandit.Posterior) -> list[Decision]:
    log, records = synthetic_log(n, seed, post)
    rewards, skipped = onboarding_evaluation.first_stations(log)
    found, missing = onboarding_evaluation.decisions(rewards, records)
    assert (len(found), missing, skipped.clicks_without_impression) == (n, 0, 0)
    assert skipped.other_positions >= n  # the second stations' impressions (and clicks)
    return found


def test_the_logged_policy_is_estimated_at_its_observed_click_rate():
    post = learnt()
    found = decisions_of(400, 1, post)
    report = onboarding_evaluation.evaluate(found, post, "1", resamples=300)
    assert report.policy_versions == {"prior": 200, "1": 200}
    observed = sum(d.reward for d in found) / len(found)
    assert report.observed == pytest.approx(observed)
    logging = next(r for r in report.results if r.name == "logging").estimates
    assert logging["ips"].max_weight == pytest.approx(1.0)
    assert logging["ips"].ess == pytest.approx(len(found))
    for method in ("ips", "snips"):
        assert logging[method].value == pytest.approx(observed, abs=1e-12)
    assert logging["dr"].value == pytest.approx(observed, abs=0.02)
    # the recorded propensity, not one recomputed: a state since moved on (the prior now
    # current) changes the others' probabilities, never the logged station's
    assert [onboarding_evaluation.logging_probabilities(d, prior(onboarding_bandit.SPEC), "2")
            [d.action] for d in found] == [d.propensity for d in found]  # fmt: skip
    for d in found[:50]:
        assert sum(onboarding_evaluation.logging_probabilities(d, post, "1")) == pytest.approx(1)
    text = onboarding_evaluation.format_evaluation(report)
    for name in onboarding_evaluation.TARGETS:
        for method in onboarding_evaluation.METHODS:
            assert f"{name:<14}{method:<7}" in text


def test_the_intervals_cover_the_truth_in_most_repetitions() -> None:
    """40 logs of 300 answers: each target's IPS and DR 95 % intervals cover its true value
    (computed from the click model) in at least 34 of them."""
    post = learnt()
    covered: dict[tuple[str, str], int] = {}
    reps = 40
    values: dict[str, float] = {}
    for seed in range(reps):
        found = decisions_of(300, 100 + seed, post)
        values = onboarding_evaluation.true_values(found, truth, post, "1")
        report = onboarding_evaluation.evaluate(found, post, "1", resamples=200, seed=seed)
        for result in report.results:
            for method in ("ips", "dr"):
                hit = result.estimates[method].covers(values[result.name])
                covered[(result.name, method)] = covered.get((result.name, method), 0) + hit
    assert values["greedy"] > values["prior-greedy"]  # the state learnt Jazz beats Rock
    assert all(n >= 34 for n in covered.values()), covered


def test_true_values_of_deterministic_and_stochastic_targets():
    post = learnt()
    found = decisions_of(20, 7, post)
    values = onboarding_evaluation.true_values(found, truth, post, "1")
    assert set(values) == set(onboarding_evaluation.TARGETS)
    # prior-greedy: the model's first genre (Rock) whenever it is a candidate
    expected = []
    for d in found:
        p = truth(d.user_id, d.candidates)
        top = max(range(len(d.candidates)), key=lambda i: (GENRE_P[d.candidates[i]], -i))
        expected.append(p[top])
    assert values["prior-greedy"] == pytest.approx(sum(expected) / len(expected))
    # the prior's softmax: its probabilities times the truth, averaged
    targets = onboarding_evaluation.targets(post, "1")
    mean = sum(sum(q * r for q, r in zip(targets["prior"](d), truth(d.user_id, d.candidates),
                                         strict=True)) for d in found) / len(found)  # fmt: skip
    assert values["prior"] == pytest.approx(mean)
    assert onboarding_evaluation.true_values([], truth, post) == {}


def test_what_is_left_out_is_counted_and_said():
    post = learnt()
    log, records = synthetic_log(6, 3, post)
    recs = sorted(records)
    # an answer of another bandit, one without its record, one whose record has no position 0,
    # one with an impossible propensity, and a click whose impression is outside the window
    records[recs[0]] = {"decision": {"bandit": "home", "kind": "for_you", "position": 0}}
    del records[recs[1]]
    first = next(k for k, v in records[recs[2]]["decision"]["items"].items()
                 if v["position"] == 0)  # fmt: skip
    records[recs[2]]["decision"]["items"][first]["position"] = Decimal(5)
    records[recs[3]]["decision"]["items"][
        next(k for k, v in records[recs[3]]["decision"]["items"].items() if v["position"] == 0)
    ]["propensity"] = Decimal(0)
    log.append(entry("gone", "click", 0, "st-rock"))
    rewards, skipped = onboarding_evaluation.first_stations(log)
    below = sum(1 for e in log if e["position"] != 0)  # the second stations' entries
    assert len(rewards) == 6
    assert (skipped.other_positions, skipped.clicks_without_impression) == (below, 1)
    found, missing = onboarding_evaluation.decisions(rewards, records)
    assert ([d.recommendation_id for d in found], missing) == (recs[4:], 4)
    report = onboarding_evaluation.evaluate(
        found, post, "1",
        onboarding_evaluation.Skipped(skipped.other_positions, missing,
                                      skipped.clicks_without_impression),
        resamples=50,
    )  # fmt: skip
    assert report.as_dict()["skipped"] == {"other_positions": below, "unissued": 4,
                                           "clicks_without_impression": 1}  # fmt: skip
    assert report.as_dict()["unit"].startswith("the first station")
    text = onboarding_evaluation.format_evaluation(report)
    assert (f"left out: {below} entries of other positions, 4 without their issued record, "
            "1 orphan clicks") in text  # fmt: skip
    empty = onboarding_evaluation.evaluate([], post)
    assert "nothing to evaluate" in onboarding_evaluation.format_evaluation(empty)
    assert (empty.decisions, empty.observed, empty.as_dict()["targets"]) == (0, None, [])


def test_a_deterministic_target_the_log_never_agreed_with_says_so():
    """Every logged first station is Jazz; prior-greedy would show Rock: IPS and DR estimate
    it from the reward model and nothing else, SNIPS cannot and says why."""
    post = learnt()
    cands = candidates(0)
    jazz = next(i for i, c in enumerate(cands) if c["key"] == "st-jazz")
    records = {f"r{i}": issued(0, cands, [jazz], [0.5], "prior", EXPLORING) for i in range(5)}
    found, _ = onboarding_evaluation.decisions(dict.fromkeys(records, 1.0), records)
    report = onboarding_evaluation.evaluate(found, post, resamples=20)
    result = next(r for r in report.results if r.name == "prior-greedy")
    assert result.estimates["ips"].value == 0.0
    assert "snips" in result.errors
    assert "—" in onboarding_evaluation.format_evaluation(report)
