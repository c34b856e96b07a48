"""The Lambda asset's bytecode: compiled for the runtime's Python, as it will sit in /var/task."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.bundling import compile_bytecode, runtime_python


@pytest.fixture(scope="module")
def python312() -> str:
    python = runtime_python()
    if python is None:
        pytest.skip("no python3.12 on this machine (set MUSICREC_LAMBDA_PYTHON to one)")
    return python


def test_every_module_gets_bytecode_for_the_runtime(python312, tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("def f():\n    return 1\n")

    assert compile_bytecode(tmp_path)

    compiled = sorted(p.name for p in (package / "__pycache__").iterdir())
    assert compiled == ["__init__.cpython-312.pyc", "mod.cpython-312.pyc"]


def test_bytecode_is_used_without_checking_the_source(python312, tmp_path: Path):
    (tmp_path / "answer.py").write_text("VALUE = 1\n")
    compile_bytecode(tmp_path)
    (tmp_path / "answer.py").write_text("VALUE = 2\n")  # a changed mtime must not matter

    probe = subprocess.run(
        [python312, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import answer; "
         "print(answer.VALUE)", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env={"PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert probe.stdout.strip() == "1", probe.stderr
