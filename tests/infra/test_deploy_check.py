"""``python -m infra.deploy_check`` (``make deploy-check``): without credentials it says so and
exits 2 before calling anything; with them, every state machine of the synthesized templates goes
to ValidateStateMachineDefinition (here a stand-in client), an ERROR fails the check, then
``cdk diff`` runs on the same cloud assembly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from infra import deploy_check
from tests.conftest import REPO_ROOT

AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")  # fmt: skip


def _no_aws_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance-metadata lookup
        **extra,
    )
    return env


def _module(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "infra.deploy_check", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_without_credentials_it_exits_2_and_says_what_to_configure(tmp_path):
    proc = _module(_no_aws_env(tmp_path), "--no-diff")
    assert proc.returncode == 2, proc.stderr
    assert "no AWS credentials" in proc.stderr
    assert "Nothing was called" in proc.stderr


def test_without_a_region_it_exits_2(tmp_path):
    env = _no_aws_env(tmp_path, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")
    proc = _module(env, "--no-diff")
    assert proc.returncode == 2, proc.stderr
    assert "no AWS region" in proc.stderr


def _assembly(tmp_path, *machines):
    """A cloud assembly whose template holds these definitions, one with a token as CDK writes."""
    resources = {}
    for i, definition in enumerate(machines):
        text = json.dumps(definition)
        head, _, tail = text.partition("TOPIC")
        resources[f"Machine{i}"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"DefinitionString": {"Fn::Join": ["", [head, {"Ref": "Topic"}, tail]]}},
        }
    (tmp_path / "Pipeline.template.json").write_text(json.dumps({"Resources": resources}))
    (tmp_path / "Other.template.json").write_text(json.dumps({"Resources": {}}))
    return tmp_path


PASS = {"StartAt": "p", "States": {"p": {"Type": "Pass", "Comment": "TOPIC", "End": True}}}


class Client:
    """ValidateStateMachineDefinition's stand-in: answers in turn, records the requests."""

    def __init__(self, *answers):
        self.answers, self.requests = list(answers), []

    def validate_state_machine_definition(self, **request):
        self.requests.append(request)
        return self.answers.pop(0)


def _session(client):
    return lambda: SimpleNamespace(client=lambda name: client if name == "stepfunctions" else None)


class Runner:
    def __init__(self, code=0):
        self.code, self.commands = code, []

    def __call__(self, command, **kwargs):
        self.commands.append(command)
        return SimpleNamespace(returncode=self.code)


def test_every_definition_is_validated_then_cdk_diff_runs_on_the_same_assembly(tmp_path, capsys):
    out = _assembly(tmp_path, PASS, PASS)
    ok = {"result": "OK", "diagnostics": [], "truncated": False}
    warning = {"severity": "WARNING", "code": "W1", "message": "odd", "location": "/States/p"}
    client, runner = Client(ok, {**ok, "diagnostics": [warning]}), Runner()
    assert deploy_check.run("prod", out, True, _session(client), runner) == 0
    sent = [json.loads(r["definition"]) for r in client.requests]
    assert len(sent) == 2
    assert all(r["type"] == "STANDARD" for r in client.requests)
    assert sent[0]["States"]["p"]["Comment"] == "<Ref:Topic>"  # the token, resolved
    assert runner.commands == [["npx", "cdk", "diff", "--app", str(out), "-c", "env=prod"]]
    assert "WARNING W1 at /States/p: odd" in capsys.readouterr().out


def test_a_rejected_definition_fails_before_the_diff(tmp_path, capsys):
    error = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "bad",
             "location": "/States/p"}  # fmt: skip
    client, runner = Client({"result": "FAIL", "diagnostics": [error]}), Runner()
    assert deploy_check.run("dev", _assembly(tmp_path, PASS), True, _session(client), runner) == 1
    assert runner.commands == []
    captured = capsys.readouterr()
    assert "FAIL Pipeline.template.json:Machine0" in captured.out
    assert "rejected 1 definition" in captured.err


def test_without_cdk_out_it_synthesizes_the_environment_first(tmp_path):
    runner = Runner(code=1)
    session = _session(Client())
    assert deploy_check.run("prod", None, True, session, runner, ["autoscaling=false"]) == 1
    (command,) = runner.commands
    assert command[:8] == ["npx", "cdk", "synth", "-q", "-c", "env=prod", "-c", "autoscaling=false"]


def test_an_assembly_without_state_machines_fails(tmp_path):
    (tmp_path / "x.template.json").write_text("{}")
    assert deploy_check.run("dev", tmp_path, False, _session(Client()), Runner()) == 1


@pytest.mark.slow
def test_the_synthesized_pipeline_is_what_it_sends(prod):
    (found,) = deploy_check.definitions(prod.outdir)
    assert found.template.startswith("MusicRec-prod-Pipeline")
    assert found.definition["StartAt"] == "train"
    assert found.kind == "STANDARD"
