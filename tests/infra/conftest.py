"""The CDK app, synthesized once per test session for each preset (dev: serverless inference;
prod: instances with autoscaling), and once more for the API's server access mode."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from tests.conftest import REPO_ROOT


class Synthesized:
    """Templates of one synthesis, as dicts and as ``assertions.Template``."""

    def __init__(self, app: Any, outdir: Path, stacks: dict[str, Any]) -> None:
        from aws_cdk.assertions import Template

        self.app = app
        self.outdir = outdir
        self.templates = {name: Template.from_stack(stack) for name, stack in stacks.items()}
        self.json = {name: t.to_json() for name, t in self.templates.items()}

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json[stack]["Resources"].items() if v["Type"] == kind}


def _synth(env: str, outdir: Path, **settings: Any) -> Synthesized:
    import aws_cdk as cdk

    from app import build

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    overrides = {"alarm_email": "ops@example.com"} if env == "prod" else {}
    app = cdk.App(context={**context, "env": env, **overrides, **settings}, outdir=str(outdir))
    stacks = build(app)
    app.synth()
    return Synthesized(app, outdir, stacks)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synth("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synth("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def server_mode(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The dev preset with ``api_access=server``: a backend's IAM calls, no listener pool."""
    return _synth("dev", tmp_path_factory.mktemp("cdk-server"), api_access="server")
