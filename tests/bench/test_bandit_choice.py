"""The bandit library measurement (bench/bandit_choice.py) on a small world: every arm runs, the
fixed and oracle arms bound the learners, and the off-policy check has its three estimators."""

from __future__ import annotations

import json
from pathlib import Path

from bench import bandit_choice


def test_the_measurement_runs_end_to_end_on_a_small_world(small_world: Path, tmp_path: Path):
    out = tmp_path / "bandit.json"
    args = ["--world", str(small_world), "--listeners", "400", "--seeds", "1", "--cold-runs", "1"]
    code = bandit_choice.main([*args, "--no-download", "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    arms = {a["arm"]: a for a in doc["arms"]}
    oracle, random_ = arms["oracle (the truth's best)"], arms["uniform random"]
    for arm in arms.values():
        assert random_["expected_ctr"] - 0.05 <= arm["expected_ctr"] <= oracle["expected_ctr"]
        assert len(arm["curve"]) == 1
    assert arms["ours softmax, refresh every 1"]["expected_ctr"] > random_["expected_ctr"]
    assert {row["target"] for row in doc["ope"]} >= {"uniform random"}
    for row in doc["ope"]:
        for method in ("ips", "snips", "dr"):
            assert row[method]["low"] <= row[method]["value"] <= row[method]["high"]
    assert doc["cold_start_s"]["ours (stdlib)"] > 0
    assert doc["state_bytes"] < 400 * 1024
    assert "| ours softmax, refresh every 100 |" in bandit_choice.table(doc)
