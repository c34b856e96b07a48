"""The import contracts in pyproject.toml (``make lint`` runs them): they hold for the code as it
is, and each kind of wrong-way import, planted in a copy of the packages, breaks its contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ("training", "container", "lambdas", "local", "infra")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages under ``root`` with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "300"}  # one line per contract
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages' Python files and the contracts, copied once."""
    root = tmp_path_factory.mktemp("packages")
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, root / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.txt", "Dockerfile"),
        )  # fmt: skip
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_code_keeps_every_contract(copy: Path) -> None:
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("lambdas/store/keys.py", "import lambdas.api.errors", "lambdas: handlers and operator"),
        ("lambdas/logic/rules.py", "import training.model.features", "lambdas imports neither"),
        ("training/data/contract.py", "import training.model.artifact", "training: pipeline"),
        ("training/batch/rank.py", "import lambdas.store.keys", "training imports nothing"),
        ("container/protocol.py", "import local.ports", "container imports training"),
        ("lambdas/api/catalog.py", "import lambdas.api.events", "each function's routes"),
    ],
)
def test_a_wrong_way_import_breaks_its_contract(
    copy: Path, module: str, wrong_import: str, contract: str
) -> None:
    path = copy / module
    original = path.read_text()
    path.write_text(original + f"\n{wrong_import}  # planted by the test\n")
    try:
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout
