"""The docs name paths relative to the repository, never a machine's own (benchmark commands
included)."""

from __future__ import annotations

from tests.conftest import REPO_ROOT


def test_no_document_names_the_repository_by_its_absolute_path() -> None:
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    found = [p.name for p in pages if str(REPO_ROOT) + "/" in p.read_text()]
    assert found == [], f"absolute paths of this machine in {found}"
