"""What a deploy to a real account needs beyond valid templates: an image rebuilt only when what it
holds changes, SageMaker names within SageMaker's limits for any execution name, no export that
blocks replacing a resource, and the feature flags the installed aws-cdk-lib recommends."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.config import MAX_ENV_LENGTH, Settings
from infra.model_stack import IMAGE_CONTEXT
from infra.pipeline_stack import run_name
from tests.conftest import REPO_ROOT
from training.pipeline.steps import STEPS

pytestmark = pytest.mark.slow

# The image asset


def test_the_image_context_is_the_dockerfile_and_what_it_copies():
    dockerfile = (REPO_ROOT / "container" / "Dockerfile").read_text()
    copied = {
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
        if not source.startswith("--")
    }
    assert set(IMAGE_CONTEXT) == copied | {"container/Dockerfile"}


def _checkout(root: Path) -> Path:
    """The files the image needs and some it does not, as in the repository."""
    root.mkdir()
    for name in ("README.md", "cdk.json", "Makefile", "app.py", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, root / name)
    for name in ("container", "training", "docs"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _bytecode(root: Path) -> None:
    (root / "training" / "__pycache__").mkdir()
    (root / "training" / "__pycache__" / "steps.cpython-312.pyc").write_bytes(b"\0")


# What each edit must do to the image asset's hash: True, change it.
EDITS = {
    "README.md": (lambda r: _append(r / "README.md", "\nanother line\n"), False),
    "cdk.json": (lambda r: _append(r / "cdk.json", " "), False),
    "a new top-level directory": (lambda r: (r / "mutants").mkdir(), False),
    "docs": (lambda r: _append(r / "docs" / "deploy.md", "\n"), False),
    "bytecode beside the sources": (_bytecode, False),
    "a file in container/ the image does not copy": (
        lambda r: (r / "container" / "notes.md").write_text("notes"),
        False,
    ),
    "training code": (lambda r: _append(r / "training" / "pipeline" / "steps.py", "\n# x\n"), True),
    "container code": (lambda r: _append(r / "container" / "serve.py", "\n# x\n"), True),
    "a new module in container/": (lambda r: (r / "container" / "extra.py").write_text(""), True),
    "the requirements": (lambda r: _append(r / "container" / "requirements.txt", "\n"), True),
    "the Dockerfile": (lambda r: _append(r / "container" / "Dockerfile", "\n# x\n"), True),
}


def test_the_image_hash_changes_with_what_the_image_holds_and_nothing_else(tmp_path):
    """CDK's own fingerprint (the asset as the Model stack builds it) of edited copies."""
    import aws_cdk as cdk

    from infra.model_stack import image_asset

    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    base = image_asset(cdk.Stack(app, "Base"), _checkout(tmp_path / "base")).asset_hash
    for i, (what, (edit, changes)) in enumerate(EDITS.items()):
        root = _checkout(tmp_path / f"edit{i}")
        edit(root)
        edited = image_asset(cdk.Stack(app, f"Edit{i}"), root).asset_hash
        assert (edited != base) == changes, what


def test_the_staged_image_context_holds_only_what_the_image_needs(dev):
    assets = json.loads((dev.outdir / "MusicRec-dev-Model.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    staged = dev.outdir / image["source"]["directory"]
    files = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert {f.split("/")[0] for f in files} == {"container", "training"}
    assert {f for f in files if f.startswith("container/")} == {
        "container/Dockerfile",
        "container/requirements.txt",
        *(f"container/{p.name}" for p in (REPO_ROOT / "container").glob("*.py")),
    }
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


# SageMaker names of a run

SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
NAME_FIELDS = ("TrainingJobName.$", "ProcessingJobName.$", "ModelName.$", "EndpointConfigName.$")
# Execution names: Step Functions allows 80 characters (letters, digits, - and _ among others);
# EventBridge Scheduler's and the console's are long, a hand-started one may be short.
EXECUTION_NAMES = ("1", "a" * 80, "retrain_" + "f" * 36 + "_" + "9" * 35, "Z-" * 40)
HASHES = {"MD5": hashlib.md5, "SHA-1": hashlib.sha1, "SHA-256": hashlib.sha256}
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<function>States\.\w+)\(|(?P<path>\$\$?[\w.]*)"
    r"|(?P<number>-?\d+)|(?P<close>\))|(?P<comma>,))"
)


def evaluate(expression: str, context: dict[str, Any], data: Any = None) -> Any:
    """The intrinsic functions the names and the canary's wait use (States.Format, States.Hash,
    States.MathAdd, context paths, ``$.`` paths into ``data``), as Step Functions evaluates them
    (intrinsic-functions page of its developer guide)."""
    value, end = _evaluate(expression, 0, context, data)
    assert not expression[end:].strip(), expression
    return value


def _evaluate(text: str, i: int, context: dict[str, Any], data: Any) -> tuple[Any, int]:
    match = _TOKEN.match(text, i)
    assert match, (text, i)
    if match["string"]:
        return re.sub(r"\\(.)", r"\1", match["string"][1:-1]), match.end()
    if match["path"]:
        return _read(match["path"], context, data), match.end()
    if match["number"]:
        return int(match["number"]), match.end()
    assert match["function"], (text, i)
    args, i = [], match.end()
    while True:
        close = _TOKEN.match(text, i)
        if close and close["close"]:
            i = close.end()
            break
        arg, i = _evaluate(text, i, context, data)
        args.append(arg)
        separator = _TOKEN.match(text, i)
        if separator and separator["comma"]:
            i = separator.end()
    return _apply(match["function"], args), i


def _apply(function: str, args: list[Any]) -> Any:
    if function == "States.Format":
        template, *values = args
        assert template.count("{}") == len(values), (template, values)
        for value in values:
            template = template.replace("{}", str(value), 1)
        return template
    if function == "States.Hash":
        data, algorithm = args
        return HASHES[algorithm](str(data).encode()).hexdigest()
    if function == "States.MathAdd":
        first, second = args
        return first + second
    raise AssertionError(f"{function}: not used in names")


def _read(path: str, context: dict[str, Any], data: Any) -> Any:
    """The value at a context (``$$.``) or data (``$.``) path of plain names."""
    value: Any = context if path.startswith("$$.") else data
    for key in path.lstrip("$").removeprefix(".").split("."):
        value = value[key]
    return value


def _longest_prefix() -> str:
    presets = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["presets"]
    return Settings(env="e" * MAX_ENV_LENGTH, **presets["prod"]).prefix


def _definition(synth) -> dict[str, Any]:
    machine = next(iter(synth.resources("pipeline", "AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def _names(node: Any, path: str = "") -> dict[str, str]:
    """Every SageMaker name field of the definition: path -> intrinsic function."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NAME_FIELDS:
                found[f"{path}/{key}"] = value
            found.update(_names(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.update(_names(value, f"{path}[{i}]"))
    return found


def _assert_sagemaker_name(name: str, *where: str) -> None:
    assert len(name) <= 63, (*where, name)
    assert SAGEMAKER_NAME.fullmatch(name), (*where, name)


def test_an_environment_name_longer_than_the_config_allows_is_refused():
    presets = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["presets"]
    settings = Settings(env="e" * MAX_ENV_LENGTH, **presets["dev"])
    for env in ("e" * (MAX_ENV_LENGTH + 1), "Prod", "eu-west", "1st"):
        with pytest.raises(ValueError, match="an environment is named with"):
            dataclasses.replace(settings, env=env)


@pytest.mark.parametrize("kind", ["", "train", *(s.name for s in STEPS if s.kind.endswith("job"))])
def test_every_run_name_fits_sagemaker_for_the_longest_environment(kind):
    for execution in EXECUTION_NAMES:
        name = evaluate(run_name(_longest_prefix(), kind), {"Execution": {"Name": execution}})
        _assert_sagemaker_name(name, kind, execution)


def test_the_state_machine_names_every_sagemaker_resource_within_sagemakers_limits(prod):
    """The synthesized names, with the prefix of the longest environment the config allows."""
    definition = _definition(prod)
    names = _names(definition)
    states = {path.split("/")[2] for path in names}
    assert states == {"train", "create-model", "update-endpoint", "update-endpoint-canary",
                      "batch-score", "batch-score-ungated", "merge"}  # fmt: skip
    for path, expression in names.items():
        assert expression.startswith("States.Format('musicrec-prod-"), (path, expression)
        longest = expression.replace("musicrec-prod-", f"{_longest_prefix()}-", 1)
        for execution in EXECUTION_NAMES:
            name = evaluate(longest, {"Execution": {"Name": execution}})
            _assert_sagemaker_name(name, path, execution)


def test_a_runs_states_agree_on_its_names_and_runs_do_not_share_them(prod):
    definition = _definition(prod)
    states = definition["States"]

    def run(execution: str) -> dict[str, str]:
        context = {"Execution": {"Name": execution}}
        return {path: evaluate(e, context) for path, e in _names(definition).items()}

    first, second = run(EXECUTION_NAMES[1]), run(EXECUTION_NAMES[2])
    assert not set(first.values()) & set(second.values())
    model = first["/States/create-model/Parameters/ModelName.$"]
    assert {n for p, n in first.items() if p.startswith("/States/update-endpoint")} == {model}
    job = first["/States/train/Parameters/TrainingJobName.$"]
    copy_source = states["update-endpoint-promote"]["Parameters"]["CopySource.$"]
    copied = evaluate(copy_source, {"Execution": {"Name": EXECUTION_NAMES[1]}})
    assert copied.endswith(f"/models/{job}/output/model.tar.gz")  # where SageMaker writes it


# The wait for the canary update, run as Step Functions runs it

EXECUTION = EXECUTION_NAMES[2]
OLD_CONFIG = "musicrec-prod-initial"


def _canary(definition: dict[str, Any], answers: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The states a run goes through from the canary update on, DescribeEndpoint answering
    ``answers`` in turn (a status, ``InService`` on this run's configuration, or ``rolled back``:
    InService on the previous one; the last answer repeats): the states, and the run's data
    when it leaves them (for promotion or the failure topic)."""
    states, context = definition["States"], {"Execution": {"Name": EXECUTION}}
    run_config = evaluate(states["update-endpoint-canary"]["Parameters"]["EndpointConfigName.$"],
                          context)  # fmt: skip
    data: dict[str, Any] = {}
    path: list[str] = []
    name, answered = states["update-endpoint-canary"]["Next"], 0
    while name not in ("update-endpoint-promote", "notify-failure"):
        assert len(path) < 1000, path[-10:]
        path.append(name)
        state = states[name]
        if state["Type"] == "Pass":
            data[state["ResultPath"].removeprefix("$.")] = {
                key.removesuffix(".$"): evaluate(value, context, data) if key.endswith(".$")
                else value
                for key, value in state["Parameters"].items()
            }  # fmt: skip
        elif state["Type"] == "Task":
            assert state["Resource"].endswith(":describeEndpoint"), name
            answer = answers[min(answered, len(answers) - 1)]
            answered += 1
            config = OLD_CONFIG if answer in ("rolled back", "Failed") else run_config
            status = "InService" if answer == "rolled back" else answer
            data["described"] = {"EndpointStatus": status, "EndpointConfigName": config}
        if state["Type"] == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _holds(c, context, data)),
                        state["Default"])  # fmt: skip
        else:
            name = state["Next"]
    return [*path, name], data


def _holds(rule: dict[str, Any], context: dict[str, Any], data: Any) -> bool:
    """Whether a Choice rule holds (the comparisons the canary's check uses)."""
    if "And" in rule:
        return all(_holds(r, context, data) for r in rule["And"])
    if "Or" in rule:
        return any(_holds(r, context, data) for r in rule["Or"])
    value = _read(rule["Variable"], context, data)
    if "StringEquals" in rule:
        return bool(value == rule["StringEquals"])
    if "StringEqualsPath" in rule:
        return bool(value == _read(rule["StringEqualsPath"], context, data))
    if "NumericLessThan" in rule:
        return bool(value < rule["NumericLessThan"])
    raise AssertionError(f"no comparison of {rule} here")


def test_the_model_is_promoted_once_the_endpoint_serves_it(prod):
    states, data = _canary(_definition(prod), ["Updating", "Updating", "InService"])
    assert states[-1] == "update-endpoint-promote"
    assert states.count("update-endpoint-describe") == 3
    assert data["rollout"]["Checks"] == 3


@pytest.mark.parametrize(
    ("answers", "failure", "error", "says"),
    [
        (["Updating", "RollingBack", "rolled back"], "update-endpoint-rolled-back",
         "CanaryRolledBack", "canary rolled back by alarm"),
        (["rolled back"], "update-endpoint-rolled-back", "CanaryRolledBack",
         "the previous model keeps serving and stays the baseline"),
        (["Updating", "Failed"], "update-endpoint-failed", "EndpointUpdateFailed",
         "is Failed after the update to"),
        (["Updating"], "update-endpoint-timed-out", "CanaryTimedOut", "still Updating after"),
    ],
)  # fmt: skip
def test_a_canary_that_does_not_end_in_service_on_the_new_model_fails_the_run_loudly(
    prod, answers, failure, error, says
):
    """Not promoted: the failure goes to the topic (notify-failure) and the run fails with its
    error and cause (the Fail state reads them from $.error)."""
    from infra.pipeline_stack import CANARY_CHECKS, CANARY_POLL_S, CANARY_TIMEOUT_S

    definition = _definition(prod)
    states, data = _canary(definition, answers)
    assert states[-2:] == [failure, "notify-failure"]
    assert "update-endpoint-promote" not in states
    assert data["error"]["Error"] == error
    assert says in data["error"]["Cause"]
    assert data["error"]["Endpoint"] == data["described"]  # with its FailureReason, if any
    assert definition["States"]["notify-failure"]["Parameters"]["Message.$"] == "$.error"
    fail = definition["States"][definition["States"]["notify-failure"]["Next"]]
    assert (fail["ErrorPath"], fail["CausePath"]) == ("$.error.Error", "$.error.Cause")
    if error == "CanaryRolledBack":
        assert OLD_CONFIG in data["error"]["Cause"]
    if error == "CanaryTimedOut":  # bounded, and only after SageMaker's own deadline
        assert states.count("update-endpoint-describe") == CANARY_CHECKS
        assert CANARY_CHECKS * CANARY_POLL_S > CANARY_TIMEOUT_S
        policy = definition["States"]["update-endpoint-canary"]["Parameters"]["DeploymentConfig"]
        timeout = policy["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"]
        assert timeout == CANARY_TIMEOUT_S


# Cross-stack references


def test_no_stack_exports_a_value_another_imports(dev, prod):
    """Strong references (an Export and Fn::ImportValue) would block replacing or removing the
    producing resource; they are weak (Fn::GetStackOutput: cdk.json, docs/deploy.md)."""
    for synth in (dev, prod):
        for stack, template in synth.json.items():
            assert "Fn::ImportValue" not in json.dumps(template), stack
            exports = [k for k, o in template.get("Outputs", {}).items() if "Export" in o]
            assert exports == [], (stack, exports)
    assert "Fn::GetStackOutput" in json.dumps(prod.json["monitoring"])


# Feature flags


def test_every_feature_flag_is_at_the_value_the_installed_aws_cdk_lib_recommends(dev):
    manifest = json.loads((dev.outdir / "manifest.json").read_text())
    artifacts = manifest["artifacts"].values()
    (report,) = [a for a in artifacts if a["type"] == "cdk:feature-flag-report"]
    flags = report["properties"]["flags"]
    assert flags
    off = {}
    for flag, info in flags.items():
        if "recommendedValue" not in info:
            continue
        effective = info.get("userValue", info.get("unconfiguredBehavesLike", {}).get("v2", False))
        if effective != info["recommendedValue"]:
            off[flag] = (effective, info["recommendedValue"])
    assert off == {}, "set them in cdk.json (or keep one off and say why in docs/deploy.md)"
