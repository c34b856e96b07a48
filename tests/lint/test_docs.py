"""docs/architecture.md draws the pipeline from the code's step list."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT
from training.pipeline.steps import step_names


def test_the_architecture_page_lists_the_pipelines_steps_in_order() -> None:
    page = (REPO_ROOT / "docs/architecture.md").read_text()
    drawn = re.search(r"<!-- steps -->\n(.*)\n<!-- /steps -->", page)
    assert drawn, "docs/architecture.md: the <!-- steps --> line is missing"
    assert tuple(drawn.group(1).split(" ─▶ ")) == step_names()
