"""Re-ranking at its edges: an empty batch list, batch scores of zero or below one."""

from __future__ import annotations

from lambdas.logic.rerank import blend


def test_without_a_batch_list_the_recent_plays_decide():
    assert blend([], [[("a", 1.0), ("b", 0.5)]]) == [("a", 0.4), ("b", 0.2)]
    assert blend([], []) == []


def test_batch_scores_are_scaled_to_the_best_even_below_one():
    assert blend([("a", 0.5), ("b", 0.25)], []) == [("a", 0.6), ("b", 0.3)]


def test_batch_scores_all_zero_count_nothing_and_do_not_divide_by_zero():
    assert blend([("a", 0.0), ("b", 0.0)], [[("b", 0.5)]]) == [("b", 0.2), ("a", 0.0)]
    assert blend([("a", -1.0)], []) == [("a", 0.0)]
