"""The home screen's logged first carousels become off-policy records: the unit (position 0's
impression, its clicks as the reward), what is left out and why, and the targets' weights."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lambdas.logic import bandit, home, home_evaluation
from lambdas.store import keys


def entry(rec: str, event: str, position: int, item: str | None = None) -> dict[str, object]:
    return {"sk": keys.bandit_log_sk(1_000, rec, event, item), "type": event,
            "position": Decimal(position), "kind": "for_you"}  # fmt: skip


def issued(kind: str, propensity: float, position: int = 0) -> dict[str, object]:
    return {"decision": {
        "bandit": "home", "policy_version": "prior", "kind": kind, "position": Decimal(position),
        "propensity": Decimal(str(propensity)), "candidates": ["for_you", "region_chart"],
        "context": {"bias": Decimal(1), "has_list": Decimal(1)},
    }}  # fmt: skip


def test_first_carousels_their_clicks_and_what_is_left_out():
    log = [
        entry("a", "impression", 0), entry("a", "click", 0, "s1"), entry("a", "click", 0, "s2"),
        entry("b", "impression", 0),
        entry("c", "impression", 1), entry("c", "click", 1, "s1"),  # a second carousel
        entry("d", "click", 0, "s1"),  # its impression is outside the window
        entry("e", "impression", 0),  # its issued record expired
        entry("f", "impression", 0),  # recorded at another position than its log says
    ]  # fmt: skip
    rewards, skipped = home_evaluation.first_carousels(log)
    assert rewards == {"a": 2.0, "b": 0.0, "e": 0.0, "f": 0.0}
    assert (skipped.other_positions, skipped.clicks_without_impression) == (2, 1)
    records = {"a": issued("for_you", 0.9), "b": issued("region_chart", 0.1),
               "f": issued("for_you", 0.9, position=1)}  # fmt: skip
    found, missing = home_evaluation.decisions(rewards, records)
    assert missing == 2
    assert [(d.recommendation_id, d.kind, d.action, d.reward) for d in found] == [
        ("a", "for_you", 0, 2.0), ("b", "region_chart", 1, 0.0)]  # fmt: skip
    x = found[0].vectors()[1]
    assert x == home.vector("region_chart", home.Context(has_list=True))


def test_the_targets_weights_and_an_empty_report():
    found = [home_evaluation.Decision("a", "region_chart", 0.25, ("for_you", "region_chart"),
                                      {"bias": 1.0}, "prior", 1.0)]  # fmt: skip
    post = home.prior()
    records = home_evaluation.records(found, home_evaluation.targets(post)["greedy"], post)
    assert records[0].target == 0.0  # the prior's best first carousel is for_you
    best = post.predict(home.vector("for_you", home.Context()))
    assert records[0].baseline == pytest.approx(best)
    prior = home_evaluation.targets(post)["prior"](found[0])
    assert prior == bandit.top_probabilities(post, found[0].vectors(), home.POLICY)
    report = home_evaluation.evaluate(found, post, resamples=50)
    greedy = next(r for r in report.results if r.name == "greedy")
    assert "snips" in greedy.errors  # no logged action the greedy target would take
    assert greedy.estimates["ips"].value == 0.0
    assert "—" in home_evaluation.format_evaluation(report)
    empty = home_evaluation.evaluate([], post)
    assert "nothing to evaluate" in home_evaluation.format_evaluation(empty)
    assert empty.as_dict()["targets"] == []
