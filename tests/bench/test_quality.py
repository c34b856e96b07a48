"""The quality tables, formatted from the real runs of the local stack (training and batch)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.quality import Dataset, batch_table, markdown, onboarding_table


def test_onboarding_table_has_every_model_with_intervals_and_lifts(stack_metrics: dict):
    metrics = stack_metrics
    lines = onboarding_table(metrics)
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| model")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| **lightgbm**",
        "| logistic",
        "| rule_selected_popular",
        "| global_popular",
    ]
    hit3 = metrics["models"]["lightgbm"]["hit@3"]
    low, high = metrics["intervals"]["lightgbm"]["hit@3"]
    assert f"{hit3:.4f} ({low:.4f}-{high:.4f})" in rows[0]
    assert rows[0].count("%") == 6  # two lifts, each with its interval
    assert rows[2].count("%") == 3  # the rule: over global popularity only
    assert rows[3].count("%") == 0  # global popularity: over nothing
    assert f"Test users: {metrics['n_test_users']:,}" in "\n".join(lines)


def test_batch_table_and_the_section(stack_metrics: dict, stack_version: Path):
    batch = json.loads((stack_version / "manifest.json").read_text())["metrics"]
    lines = batch_table(batch)
    personal = next(line for line in lines if line.startswith("| personal"))
    served = batch["personal"]
    assert f"{served['recall@20']:.4f} / {served['ndcg@20']:.4f} (als+regional+content)" in personal
    assert personal.endswith("| yes |" if served["beats_baselines"] else "| no |")

    dataset = Dataset("Synthetic world, 3,000 listeners", "CMD", stack_metrics, batch, 1.0)
    note = "MovieLens 100K left out: not found."
    text = markdown([dataset], "python -m bench.quality --users 3000", [note])
    assert text.startswith("## Model quality")
    assert "### Synthetic world, 3,000 listeners" in text
    assert text.endswith(note)
    assert "Command: `python -m bench.quality --users 3000`." in text
