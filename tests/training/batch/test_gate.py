"""The batch gate refuses a version worse than the active one beyond noise, on the same held-out
plays: a version as good passes; a first run passes with a note; the held-out window starts
after the active version's last play; the merge refuses a refused version too."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.training.batch.conftest import PARAMS, world_before
from training.batch import cli, gate
from training.batch.evaluate import evaluate
from training.batch.listening import DAY_MS, load
from training.batch.output import MANIFEST, OutputError, merge, write_json
from training.batch.run import run

# The active version was computed four weeks before the data's end: the start of the held-out
# days of PARAMS (28), so the gate compares on every held-out play.
AGE_DAYS = 28


@pytest.fixture(scope="module")
def active_version(small_world, tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    older = world_before(small_world, root / "older-world", AGE_DAYS)
    version_dir = root / "active"
    version_dir.mkdir()
    run(older, version_dir, PARAMS, progress=False)
    return version_dir


@pytest.fixture(scope="module")
def listening(small_world):
    return load(small_world, progress=False)


@pytest.fixture(scope="module")
def held_out(listening):
    return evaluate(listening, PARAMS).songs


def test_a_version_as_good_as_the_active_one_passes(small_world, active_version, tmp_path):
    version_dir = tmp_path / "good"
    version_dir.mkdir()
    manifest = run(small_world, version_dir, PARAMS, progress=False, active=active_version)
    verdict = json.loads((version_dir / gate.GATE_FILE).read_text())
    assert manifest["metrics"]["gate"] == verdict
    assert verdict["passed"] is True, verdict["reason"]
    assert verdict["active_version"] == "active"
    assert verdict["listeners"] >= gate.MIN_LISTENERS
    assert [c["metric"] for c in verdict["checks"]] == ["recall@20", "ndcg@20"]
    for check in verdict["checks"]:
        low, high = check["interval"]
        assert high >= 0
        assert low <= check["difference"] <= high
        assert check["difference"] == pytest.approx(check["new"] - check["active"], abs=1e-5)
        assert check["new"] > 0
    assert (version_dir / MANIFEST).is_file()


def test_a_worse_version_is_refused_and_gets_no_manifest(
    small_world, active_version, tmp_path, capsys
):
    """Popularity only (the region's chart weighs 100 times the listener's taste): the run
    exits 1 naming the metric and its interval, and the version can never be loaded."""
    args = ["--data", str(small_world), "--out", str(tmp_path), "--version", "worse",
            "--active", str(active_version), "--regional-blend", "100", "--n", str(PARAMS.n),
            "--holdout-days", str(PARAMS.holdout_days), "--eval-users", str(PARAMS.eval_users),
            "--no-progress"]  # fmt: skip
    assert cli.main(args) == 1
    version_dir = tmp_path / "worse"
    verdict = json.loads((version_dir / gate.GATE_FILE).read_text())
    assert verdict["passed"] is False
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert failed
    for check in failed:
        assert check["interval"][1] < 0  # the whole interval below zero
        assert check["metric"] in verdict["reason"]
        assert f"{check['interval'][0]:+.4f} to {check['interval'][1]:+.4f}" in verdict["reason"]
    assert verdict["reason"].startswith("refused: worse than the active version")
    assert "batch gate: refused" in capsys.readouterr().err
    assert not (version_dir / MANIFEST).exists()  # the loader refuses a version without one
    assert (version_dir / "personal").is_dir()  # its lists stay for a look


def test_the_first_run_passes_with_a_note(batch_version, manifest):
    verdict = json.loads((batch_version / gate.GATE_FILE).read_text())
    assert verdict == manifest["metrics"]["gate"]
    assert verdict["passed"] is True
    assert "first run" in verdict["reason"]
    assert verdict["checks"] == []


def test_an_empty_active_directory_is_a_first_run(listening, held_out, tmp_path):
    verdict = gate.compare(listening, PARAMS, held_out, tmp_path)
    assert verdict["passed"] is True
    assert "first run" in verdict["reason"]


def _aged(active_version, out, data_end_ms):
    """The active version as if it had seen every play up to ``data_end_ms`` (its files
    linked, its manifest changed)."""
    out.mkdir()
    for child in active_version.iterdir():
        if child.name != MANIFEST:
            (out / child.name).symlink_to(child)
    document = json.loads((active_version / MANIFEST).read_text())
    document["data"]["max_ts_ms"] = data_end_ms
    write_json(out / MANIFEST, document)
    return out


def test_the_window_starts_after_the_active_versions_last_play(
    small_world, listening, held_out, tmp_path
):
    """A version computed ten days before the end saw the first 18 held-out days: only the
    plays after its last one are compared (it could not list a song it saw played), and the
    new version's lists come from the plays it saw; the same configuration passes."""
    older = world_before(small_world, tmp_path / "older", 10)
    active = tmp_path / "active-10d"
    active.mkdir()
    run(older, active, PARAMS, progress=False)
    data_end = json.loads((active / MANIFEST).read_text())["data"]["max_ts_ms"]
    assert data_end <= listening.max_ts - 10 * DAY_MS
    verdict = gate.compare(listening, PARAMS, held_out, active)
    assert verdict["held_out_from"] == gate._iso(data_end + 1)
    assert verdict["passed"] is True, verdict["reason"]
    assert verdict["listeners"] >= gate.MIN_LISTENERS
    assert len(verdict["checks"]) == 2


def test_an_active_version_that_saw_every_play_is_not_compared(
    listening, held_out, active_version, tmp_path
):
    """A rerun on the same data: no play is held out from the active version."""
    every_play = _aged(active_version, tmp_path / "aged", listening.max_ts)
    verdict = gate.compare(listening, PARAMS, held_out, every_play)
    assert verdict["passed"] is True
    assert "saw every play" in verdict["reason"]
    assert verdict["checks"] == []


def test_the_merge_refuses_a_version_the_gate_refused(tmp_path):
    refused = {"passed": False, "reason": "refused: recall@20 ...", "checks": []}
    for shard in range(2):
        metrics = {"gate": refused} if shard == 0 else {}
        write_json(tmp_path / f"manifest-shard-{shard}-of-2.json", {
            "version": "v", "shards": 2, "shard": shard, "data": {}, "params": {},
            "families": {}, "metrics": metrics,
        })  # fmt: skip
    with pytest.raises(OutputError, match="batch gate refused"):
        merge(tmp_path)
    assert not (tmp_path / MANIFEST).exists()


def test_the_gate_needs_the_evaluation(small_world, tmp_path):
    with pytest.raises(ValueError, match="needs the evaluation"):
        run(small_world, tmp_path, replace(PARAMS, eval_users=0), active=tmp_path)
