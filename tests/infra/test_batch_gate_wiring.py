"""The batch gate in AWS (infra/pipeline_stack.py, ``_gated_processing``): before batch scoring
the state machine reads the loader's active pointer (DynamoDB GetItem, strongly consistent);
with an active version whose files are still under ``batch/<version>/`` the batch-score job gets
that prefix as its input ``active`` and ``--active``, without one (the first run) neither. Both
presets; the requests checked against the roles' policies as tests/iam evaluates them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.contracts import sfn
from infra.pipeline_stack import ACTIVE_INPUT, PROCESSING_ACTIVE, PROCESSING_INPUT
from lambdas.store import keys
from tests.iam.needs import (
    ACTIVE_VERSION,
    App,
    Intrinsic,
    Need,
    check,
    s3_arn,
    service_needs,
)
from tests.iam.policies import Request, Templates
from training.batch.cli import _parser

pytestmark = pytest.mark.slow

STEP = "batch-score"  # the gated job keeps the step's name
POINTER, HAS_ACTIVE = f"{STEP}-active", f"{STEP}-has-active"
FILES, FOUND, UNGATED = f"{STEP}-active-files", f"{STEP}-active-found", f"{STEP}-ungated"
VERSION = "retrain-0042"  # a version an earlier run published (its execution name)


@pytest.fixture(params=["dev", "prod"])
def synth(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def app(synth) -> App:
    return App(Templates(synth.json))


@pytest.fixture
def states(app) -> dict[str, Any]:
    """The definition with its tokens resolved (names and ARNs as deployed)."""
    ((stack, _, machine),) = app.templates.resources("AWS::StepFunctions::StateMachine")
    definition = json.loads(app.templates.resolve(stack, machine["Properties"]["DefinitionString"]))
    return definition["States"]


def _value(expression: str, execution: str = "exec-1", version: str = VERSION) -> Any:
    """An intrinsic function or path as Step Functions evaluates it in a run named
    ``execution`` whose GetItem found ``version`` active."""
    known = {"$$.Execution.Name": execution, "$.active.Item.version.S": version}
    if not expression.startswith("States."):
        return known[expression]
    return Intrinsic(expression, lambda path: known[path]).value()


def _read(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = data
    for key in path.removeprefix("$.").split("."):
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """A Choice rule of the kinds these states use."""
    present, value = _read(data, rule["Variable"])
    if "IsPresent" in rule:
        return present == rule["IsPresent"]
    if "NumericGreaterThan" in rule:
        return present and value > rule["NumericGreaterThan"]
    raise AssertionError(f"rule {rule}: not used here")


def _route(states: dict[str, Any], item: dict[str, Any] | None, key_count: int) -> list[str]:
    """The states from the pointer's GetItem to the job a run starts, GetItem answering
    ``item`` (None: no item) and ListObjectsV2 finding ``key_count`` objects."""
    data: dict[str, Any] = {}
    path, name = [], POINTER
    while states[name]["Type"] != "Task" or not states[name]["Resource"].endswith(
        ":createProcessingJob.sync"
    ):
        path.append(name)
        state = states[name]
        if name == POINTER:
            data["active"] = {} if item is None else {"Item": item}
        elif name == FILES:
            data["active_files"] = {"KeyCount": key_count}
        if state["Type"] == "Choice":
            rules = [c["Next"] for c in state["Choices"] if _matches(c, data)]
            name = rules[0] if rules else state["Default"]
        else:
            name = state["Next"]
    return [*path, name]


def _arguments(job: dict[str, Any], execution: str = "exec-1") -> list[str]:
    return list(_value(job["AppSpecification"]["ContainerArguments.$"], execution))


# The definition


def test_the_run_reads_the_loaders_active_pointer_right_before_batch_scoring(states, app):
    assert states["update-endpoint-promote"]["Next"] == POINTER
    pointer = states[POINTER]
    assert pointer["Resource"] == "arn:aws:states:::dynamodb:getItem"  # the optimized one
    assert pointer["Parameters"] == {
        "TableName": app.tables["state"],
        "Key": {name: {"S": value} for name, value in keys.ACTIVE.items()},
        "ConsistentRead": True,
    }
    assert pointer["ResultPath"] == "$.active"
    for name in (POINTER, FILES, STEP, UNGATED):  # a failure notifies, as every task's does
        assert [c["Next"] for c in states[name]["Catch"]] == ["notify-failure"], name


def test_only_an_active_version_with_its_files_gates_the_job(states):
    active = {"pk": {"S": "active"}, "sk": {"S": "batch"}, "version": {"S": VERSION}}
    assert _route(states, None, 0) == [POINTER, HAS_ACTIVE, UNGATED]  # the first run
    assert _route(states, active, 0) == [POINTER, HAS_ACTIVE, FILES, FOUND, UNGATED]  # expired
    assert _route(states, active, 1) == [POINTER, HAS_ACTIVE, FILES, FOUND, STEP]
    assert states[STEP]["Next"] == states[UNGATED]["Next"] == "merge"  # either way on to merge


def test_the_files_check_looks_for_the_active_versions_manifest(states, app):
    files = states[FILES]
    assert files["Resource"] == "arn:aws:states:::aws-sdk:s3:listObjectsV2"
    parameters = files["Parameters"]
    assert parameters["Bucket"] == app.bucket
    assert _value(parameters["Prefix.$"]) == f"batch/{VERSION}/manifest.json"
    assert parameters["MaxKeys"] == 1
    assert files["ResultSelector"] == {"KeyCount.$": "$.KeyCount"}


def test_the_gated_job_gets_the_active_version_and_the_flag_the_first_run_neither(states, app):
    gated, ungated = states[STEP]["Parameters"], states[UNGATED]["Parameters"]
    dataset, active = gated["ProcessingInputs"]
    assert ungated["ProcessingInputs"] == [dataset]
    assert dataset["S3Input"]["LocalPath"] == PROCESSING_INPUT
    assert active["InputName"] == ACTIVE_INPUT
    source = active["S3Input"]
    assert source["LocalPath"] == PROCESSING_ACTIVE
    assert (source["S3DataType"], source["S3InputMode"]) == ("S3Prefix", "File")
    assert _value(source["S3Uri.$"]) == f"s3://{app.bucket}/batch/{VERSION}/"
    with_flag, without = _arguments(gated), _arguments(ungated)
    assert with_flag[with_flag.index("--active") + 1] == PROCESSING_ACTIVE
    assert "--active" not in without
    assert [a for a in with_flag if a not in ("--active", PROCESSING_ACTIVE)] == without
    # nothing else differs: the same job (name, image, instances, output, network)
    rest = {k: v for k, v in gated.items() if k not in ("ProcessingInputs", "AppSpecification")}
    assert rest == {
        k: v for k, v in ungated.items() if k not in ("ProcessingInputs", "AppSpecification")
    }
    spec = {k: v for k, v in gated["AppSpecification"].items() if k != "ContainerArguments.$"}
    assert spec == {
        k: v for k, v in ungated["AppSpecification"].items() if k != "ContainerArguments.$"
    }


def test_the_batch_cli_reads_the_gated_arguments(states):
    """Every instance gets these arguments (SageMaker has one AppSpecification per job): the
    CLI takes --active on each, and only shard 0 gates (training.batch.run)."""
    entrypoint = states[STEP]["Parameters"]["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint == ["python", "-m", "training.batch"]
    gated = _parser().parse_args(_arguments(states[STEP]["Parameters"]))
    assert gated.active == Path(PROCESSING_ACTIVE)
    assert (gated.shard, gated.version, gated.eval_users > 0) == ("sagemaker", "exec-1", True)
    assert _parser().parse_args(_arguments(states[UNGATED]["Parameters"])).active is None


def test_the_active_input_is_where_the_run_that_switched_to_it_published_it(states):
    """A run's version is its execution name, published at the switch's URI; the next run's
    active input for that version is that prefix."""
    published = _value(states["switch"]["Parameters"]["batch.$"], execution=VERSION)
    gated = states[STEP]["Parameters"]
    assert _arguments(gated, execution=VERSION)[_arguments(gated).index("--version") + 1] == (
        VERSION
    )
    (active,) = [i for i in gated["ProcessingInputs"] if i["InputName"] == ACTIVE_INPUT]
    assert _value(active["S3Input"]["S3Uri.$"]) == f"{published}/"


# The roles


def _allowed(app: App, role: str, request: Request) -> bool:
    return not check([Need("test", role, request, "test")], app).missing


def test_the_state_machine_may_read_the_pointer_and_no_other_item(app):
    role = app.state_machine_role
    state, lists = app.table_arn("x-state"), app.table_arn("x-lists")
    assert _allowed(app, role, Request("dynamodb:GetItem", state))
    assert not _allowed(app, role, Request("dynamodb:GetItem", lists))
    for action in ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchGetItem"):
        assert not _allowed(app, role, Request(action, state)), action
    listing = Request(
        "s3:ListBucket", s3_arn(app.bucket), {"s3:prefix": f"batch/{VERSION}/manifest.json"}
    )
    assert _allowed(app, role, listing)


def test_the_state_machine_roles_dynamodb_grant_is_one_action_on_one_table(app):
    """Least privilege, in the template itself (no wildcard resource)."""
    t = app.templates
    granted = []
    for stack, _, policy in t.resources("AWS::IAM::Policy"):
        roles = [str(t.resolve(stack, r)) for r in policy["Properties"]["Roles"]]
        if not any(app.state_machine_role.endswith(f"/{r}") for r in roles):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if any(a.startswith("dynamodb:") for a in actions):
                granted.append((actions, t.resolve(stack, statement["Resource"])))
    table = app.table_arn("x-state")
    assert granted == [(["dynamodb:GetItem"], table)] or granted == [("dynamodb:GetItem", table)]


def test_the_sagemaker_role_may_read_the_active_versions_files(app):
    role, prefix = app.sagemaker_role, f"batch/{VERSION}/"
    assert _allowed(app, role, Request("s3:ListBucket", s3_arn(app.bucket), {"s3:prefix": prefix}))
    for key in ("manifest.json", "personal/part-00000-of-00002-00000.jsonl.gz"):
        assert _allowed(app, role, Request("s3:GetObject", s3_arn(app.bucket, prefix + key)))


def test_the_iam_coverage_derives_the_gates_requests(app):
    """tests/iam's service_needs: the GetItem and the active input's reads, all allowed."""
    needs = [n for n in service_needs(app) if n.who == f"step:{STEP}"]
    requests = {(n.principal, n.request.action, n.request.resource) for n in needs}
    bucket, prefix = s3_arn(app.bucket), f"batch/{ACTIVE_VERSION}/"
    assert (app.state_machine_role, "dynamodb:GetItem", app.table_arn("x-state")) in requests
    listings = {
        (n.principal, n.request.context.get("s3:prefix"))
        for n in needs
        if n.request.action == "s3:ListBucket" and n.request.resource == bucket
    }
    assert (app.state_machine_role, f"{prefix}manifest.json") in listings  # the files check
    assert (app.sagemaker_role, prefix) in listings  # the active input's download
    object_ = s3_arn(app.bucket, f"{prefix}object")
    assert (app.sagemaker_role, "s3:GetObject", object_) in requests
    assert check(needs, app).missing == []


# The contracts (infra.contracts): what the new states send


def test_the_gates_states_meet_the_contracts_and_a_mistake_is_named(synth):
    (definition,) = sfn.state_machine_definitions(synth.json["pipeline"]).values()
    assert sfn.check(definition) == []
    seeded = copy.deepcopy(definition)
    seeded["States"][POINTER]["Parameters"]["Limit"] = 1  # not GetItem's (it is Query's)
    job = seeded["States"][STEP]["Parameters"]
    job["ProcessingInputs"][1]["S3Input"]["S3Uri.$"] = "States.Format('s3://b/{}/', $.active.Items)"
    seeded["States"][FILES]["Parameters"]["MaxItems"] = 1  # ListObjectsV2 has MaxKeys
    found = {(f.rule, f.state, f.field) for f in sfn.check(seeded)}
    assert found == {
        (sfn.OPTIMIZED_PARAMETERS, POINTER, "Parameters.Limit"),
        (sfn.JSONPATH, STEP, "Parameters.ProcessingInputs[1].S3Input.S3Uri.$"),
        (sfn.SDK_PARAMETERS, FILES, "Parameters.MaxItems"),
    }
