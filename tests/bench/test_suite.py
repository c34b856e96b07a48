"""The suite's summary: every benchmark's command, time and result, and the budget verdict."""

from __future__ import annotations

from bench.all import OFFLINE, ON_STACK, Outcome, markdown


def test_the_summary_names_each_command_and_judges_the_total_against_30_minutes():
    outcomes = [
        Outcome("world", "python -m bench.world --users 1000000 --doc d.md", 110.0, True),
        Outcome("fuzz", "python -m bench.fuzz --examples 1000 --dir s --doc d.md", 300.0, False),
    ]

    within = markdown(outcomes, total_s=25 * 60, stack_s=120)
    over = markdown(outcomes, total_s=31 * 60, stack_s=120)

    assert "| world | `python -m bench.world --users 1000000` | 1.8 min | passed |" in within
    assert (
        "| fuzz | `python -m bench.fuzz --examples 1000 --dir s` | 5.0 min | **failed** |" in within
    )
    assert "Total: **25.0 min**, under the 30-minute budget." in within
    assert "Total: **31.0 min**, **over** the 30-minute budget." in over


def test_every_figure_the_issue_lists_has_a_benchmark():
    names = {name for name, _ in OFFLINE + ON_STACK}
    assert {"world", "train", "inference", "batch", "api handlers", "lambda asset",
            "dynamodb load", "quality", "load test", "api gateway", "fuzz",
            "a/b simulation"} <= names  # fmt: skip
