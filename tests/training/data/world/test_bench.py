"""The world benchmark's report: named sections of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import HEADER, read_section, replace_section, write_section
from bench.world import Run, markdown


def test_write_section_creates_replaces_and_keeps_other_sections(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "benchmarks.md"
    write_section("world", "first", doc)
    assert doc.read_text().startswith(HEADER)
    write_section("train", "other section", doc)
    write_section("world", "second\n", doc)
    text = doc.read_text()
    assert "first" not in text
    assert text.count("<!-- bench:world -->") == 1
    assert read_section("world", doc) == "second"
    assert read_section("train", doc) == "other section"
    assert read_section("missing", doc) is None


def test_replace_section_leaves_text_around_it() -> None:
    document = "# B\n\nintro\n\n<!-- bench:x -->\nold\n<!-- /bench:x -->\n\noutro\n"
    assert replace_section(document, "x", "new") == (
        "# B\n\nintro\n\n<!-- bench:x -->\nnew\n<!-- /bench:x -->\n\noutro\n"
    )


def test_section_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad section name"):
        write_section("no spaces -->", "x", tmp_path / "b.md")


def test_world_markdown_reports_the_budget() -> None:
    rows = {"users": 1_000_000, "items": 100_000, "interactions": 70_000_000}
    ok = Run(
        ["python", "-m", "training.data.world", "--out", "x"], 100.0, 2 << 30, 0, rows, 1, (0, 0, 0)
    )
    slow = Run(
        ["python", "-m", "training.data.world", "--out", "x"], 400.0, 2 << 30, 0, rows, 1, (0, 0, 0)
    )
    assert ok.within_budget
    assert not slow.within_budget
    assert "**met**" in markdown(ok, 1_000_000)
    assert "**NOT met**" in markdown(slow, 1_000_000)
    assert "70,000,000" in markdown(ok, 1_000_000)
