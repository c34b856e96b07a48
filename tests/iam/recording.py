"""pytest plugin: record every AWS call the Lambda functions and the pipeline's steps make while
the tests run (:mod:`local.aws_calls`), for tests/infra/test_iam_coverage.py to check against the
synthesized roles.

* For the whole session, ``MUSICREC_AWS_CALLS`` names a file in the session's temporary
  directory; this process records there, and so do the local stacks (``local.up``: its gateway
  names the function it invokes) and retraining runs (``local.pipeline``: the step it runs) the
  tests start, which inherit the variable.
* Tests that call a handler directly (``handler.lambda_handler(event, context)``) get the call
  attributed to its function: the handler modules of the route table that the tests imported
  have their ``lambda_handler`` wrapped for the session.
* Tests marked ``after_recording`` run last, once every other test has recorded its calls.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.routes import BANDIT_REFRESH, FUNCTIONS, LOADER
from local import aws_calls

MARKER = "after_recording"
REPORTS = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: runs after every other test (it reads the AWS calls they recorded)"
    )
    config.stash[REPORTS] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.get_closest_marker(MARKER)]
    items[:] = [item for item in items if not item.get_closest_marker(MARKER)] + last


@pytest.fixture(scope="session", autouse=True)
def aws_call_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The file every AWS call of the functions and steps run in this session is recorded in."""
    path = tmp_path_factory.mktemp("aws-calls") / "calls.jsonl"
    path.touch()
    previous = os.environ.get(aws_calls.ENV)
    os.environ[aws_calls.ENV] = str(path)  # for the local stacks and pipelines tests start
    aws_calls.install(path)
    restore = _attribute_direct_calls()
    try:
        yield path
    finally:
        restore()
        aws_calls.uninstall()
        if previous is None:
            os.environ.pop(aws_calls.ENV, None)
        else:
            os.environ[aws_calls.ENV] = previous


def recorded_calls(path: Path) -> list[dict[str, Any]]:
    """The calls recorded so far (one JSON object per line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _attribute_direct_calls() -> Callable[[], None]:
    """Wrap the ``lambda_handler`` of each imported handler module of the route table so that its
    AWS calls are its function's; returns what undoes it. (Modules imported later are not
    wrapped: the local gateway and pipeline name the function themselves.)"""
    undo: list[Callable[[], None]] = []
    for fn in (*FUNCTIONS, LOADER, BANDIT_REFRESH):
        module_name, _, attribute = fn.handler.rpartition(".")
        module = sys.modules.get(module_name)
        if module is None:
            continue
        handler = getattr(module, attribute)
        setattr(module, attribute, _acting_as(fn.name, handler))
        undo.append(functools.partial(setattr, module, attribute, handler))

    def restore() -> None:
        for step in undo:
            step()

    return restore


def _acting_as(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        with aws_calls.acting_as("function", name):
            return handler(event, context)

    return invoke


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The reports the IAM coverage tests left (permissions granted and never used)."""
    for report in config.stash.get(REPORTS, []):
        terminalreporter.write_sep("-", "IAM: granted and never used")
        terminalreporter.write_line(report)
