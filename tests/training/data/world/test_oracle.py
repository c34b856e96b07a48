"""The planted structure leaves learnable headroom beyond the onboarding picks.

An oracle that knows each user's true affinity must rank the observed second-month top genre
clearly better than the business rule (the most popular of the selected genres), and the rule
must beat global popularity, without being perfect.
"""

from __future__ import annotations

import numpy as np

from tests.training.data.world.conftest import WorldData


def hit_at_3(scores: np.ndarray, label: np.ndarray) -> float:
    top3 = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    return float((top3 == label[:, None]).any(axis=1).mean())


def test_oracle_beats_the_rule_which_beats_popularity(world: WorldData) -> None:
    counts = world.second_month
    labelled = counts.sum(axis=1) >= 3
    label = counts[labelled].argmax(axis=1)
    assert labelled.mean() > 0.5
    popularity = np.bincount(label, minlength=counts.shape[1]).astype(float)
    selected = world.selected[labelled]
    rule = selected * (popularity.max() + 1) + popularity[None, :]
    oracle = world.truth.affinity(world.users["user_id"].filter(labelled))
    glob = np.broadcast_to(popularity, selected.shape)

    rule_hit = hit_at_3(rule, label)
    oracle_hit = hit_at_3(oracle, label)
    global_hit = hit_at_3(glob, label)
    assert oracle_hit >= 1.25 * rule_hit
    assert rule_hit > global_hit
    assert rule_hit < 0.8  # the picks are informative, not the answer
    assert oracle_hit < 0.95  # the second month is a noisy sample of the true taste
