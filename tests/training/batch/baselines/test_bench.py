"""python -m bench.batch_baselines end to end on the tiny world, and where its section goes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bench import batch_baselines
from bench.report import markers
from training.batch.baselines.methods import METHODS, SERVED

DOC = """# Models

## Onboarding model

### Evaluation

onboarding text

## Batch personalisation

intro

### Evaluation

batch evaluation

### Reactivity of the real-time layer

reactivity
"""


@pytest.mark.slow
def test_the_bench_runs_every_method_and_writes_its_section(tiny_world: Path, tmp_path: Path):
    doc, image, out = tmp_path / "model.md", tmp_path / "plot.png", tmp_path / "out.json"
    doc.write_text(DOC)
    # CPU seconds, not wall: the machine is shared, and a loaded one doubles the wall time
    started = time.process_time()
    code = batch_baselines.main(
        ["--world", str(tiny_world), "--no-movielens", "--holdout-days", "28",
         "--resamples", "200", "--json", str(out), "--doc", str(doc), "--plot", str(image),
         "--no-progress"]
    )  # fmt: skip
    assert code == 0
    assert time.process_time() - started < 60
    payload = json.loads(out.read_text())
    (dataset,) = payload["datasets"]
    assert list(dataset["methods"]) == [m.name for m in METHODS]
    for name, figures in dataset["methods"].items():
        low, high = figures["intervals"]["recall@20"]["mean"][1:]
        assert low <= figures["recall@20"] <= high
        assert 0 < figures["coverage"] <= 1
        assert 0 <= figures["local_share"] <= 1
        assert figures["fit_s"] >= 0
        tuned = next(m for m in METHODS if m.name == name).tuned
        assert len(figures["validation"]) == (
            len(next(m for m in METHODS if m.name == name).grid) if tuned else 0
        )
    assert dataset["methods"][SERVED]["intervals"]["recall@20"]["difference"] == [0.0, 0.0, 0.0]

    text = doc.read_text()
    start, end = markers(batch_baselines.SECTION)
    assert text.count(start) == 1
    assert text.count(end) == 1
    # inside "## Batch personalisation", after its "### Evaluation", before the next subsection
    assert text.index("batch evaluation") < text.index(start) < text.index("### Reactivity")
    section = text[text.index(start) : text.index(end)]
    assert "### Strong baselines" in section
    for method in METHODS:
        assert f"| {method.name}" in section or f"| **{method.name}**" in section
    assert image.stat().st_size > 10_000

    # the section and plot again from the JSON alone, the two runs' section identical
    again, image_again = tmp_path / "again.md", tmp_path / "again.png"
    again.write_text(DOC)
    code = batch_baselines.main(
        ["--render", str(out), "--doc", str(again), "--plot", str(image_again)]
    )
    assert code == 0
    assert again.read_text() == text
    assert image_again.stat().st_size > 10_000


def test_place_replaces_an_existing_section_and_leaves_the_rest():
    first = batch_baselines.place(DOC, "### Strong baselines\n\nold")
    second = batch_baselines.place(first, "### Strong baselines\n\nnew")
    assert "old" not in second
    assert "new" in second
    assert second.replace("new", "old") == first
    assert second.startswith(DOC.split("### Reactivity")[0])


def test_place_without_the_evaluation_subsection_goes_to_the_chapter_end():
    doc = "# M\n\n## Batch personalisation\n\ntext\n\n## Other\n\nmore\n"
    placed = batch_baselines.place(doc, "### Strong baselines\n\nbody")
    assert placed.index("text") < placed.index("body") < placed.index("## Other")
