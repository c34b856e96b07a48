"""The retraining state machine against what Step Functions accepts and what its states can read
(infra.contracts.sfn), for both presets; and each rule failing, with the state and the field, on
a definition seeded with the mistake it is there for."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from infra.contracts import sfn
from infra.contracts.integrations import ITEM_READERS, OPTIMIZED

pytestmark = pytest.mark.slow

SDK = "arn:aws:states:::aws-sdk:sagemaker:"


@pytest.fixture(params=["dev", "prod"])
def preset(request):
    return request.param


@pytest.fixture
def synth(request, preset):
    return request.getfixturevalue(preset)


@pytest.fixture
def definition(synth) -> dict[str, Any]:
    (found,) = sfn.state_machine_definitions(synth.json["pipeline"]).values()
    return copy.deepcopy(found)


def _found(findings, rule: str) -> list[tuple[str, str]]:
    """(state, field) of a rule's findings; every finding's text names both."""
    for finding in findings:
        assert str(finding).startswith(f"{finding.state}: {finding.field}: ")
    return [(f.state, f.field) for f in findings if f.rule == rule]


def _machine(**states: dict[str, Any]) -> dict[str, Any]:
    """A state machine of ``states`` in order, each (without Next or End) going to the next."""
    names = list(states)
    for name, following in zip(names, [*names[1:], None], strict=True):
        state = states[name]
        if state["Type"] in ("Choice", "Succeed", "Fail") or "Next" in state or "End" in state:
            continue
        state.update({"Next": following} if following else {"End": True})
    return {"StartAt": names[0], "States": states}


def _task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **fields}


def _execution_format(text: str) -> str:
    """``States.Format('<template>', $$.Execution.Name)`` with EXECUTION for the name."""
    template, *args = sfn.parse_intrinsic(text).args
    assert isinstance(template, sfn.Literal), text
    assert isinstance(template.value, str), text
    assert args == [sfn.PathArg("$$.Execution.Name")], text
    return template.value.replace("{}", "EXECUTION")


# The synthesized definitions


def test_the_synthesized_state_machines_meet_every_contract(definition):
    findings = sfn.check(definition)
    assert findings == [], "\n".join(map(str, findings))


def test_tokens_become_placeholders_a_lambda_function_an_arn(definition):
    states = definition["States"]
    assert states["switch"]["Resource"].startswith("arn:aws:lambda:")
    assert states["notify-failure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert re.fullmatch(r"<Ref:Failures\w+>", states["notify-failure"]["Parameters"]["TopicArn"])
    assert sfn.integration(states["update-endpoint-canary"]["Resource"]) == sfn.Integration(
        "sdk", "sagemaker", "updateEndpoint"
    )


def test_batch_files_land_where_the_map_and_the_loader_read_them(definition, synth):
    """Batch scoring writes <--out>/<--version>/...; its output (the batch root) must put them
    under batch/<execution>/: the merge's input, the Map's prefix and the loader's version."""
    states = definition["States"]
    job = states["batch-score"]["Parameters"]
    (output,) = job["ProcessingOutputConfig"]["Outputs"]
    args = sfn.parse_intrinsic(job["AppSpecification"]["ContainerArguments.$"]).args
    values = [a.path if isinstance(a, sfn.PathArg) else getattr(a, "value", None) for a in args]
    assert values[values.index("--out") + 1] == output["S3Output"]["LocalPath"]
    assert values[values.index("--version") + 1] == "$$.Execution.Name"
    root = output["S3Output"]["S3Uri"]  # no intrinsic: the version is the job's own subfolder
    bucket, _, prefix = root.removeprefix("s3://").partition("/")
    written = f"{prefix}/EXECUTION/"
    formatted = _execution_format
    assert formatted(states["load"]["ItemReader"]["Parameters"]["Prefix.$"]) == written
    loader = formatted(states["switch"]["Parameters"]["batch.$"])
    assert loader == f"s3://{bucket}/{written}".rstrip("/")
    if states["merge"]["Type"] == "Task":  # sharded runs merge the version in place
        (merge_input,) = states["merge"]["Parameters"]["ProcessingInputs"]
        assert formatted(merge_input["S3Input"]["S3Uri.$"]) == loader


def test_the_role_may_call_the_sdk_integrations_actions(definition, synth):
    template = synth.json["pipeline"]["Resources"]
    (machine,) = synth.resources("pipeline", "AWS::StepFunctions::StateMachine").values()
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    granted = {
        action
        for policy in template.values()
        if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    actions = [
        state["Resource"].removeprefix(SDK)
        for _, state in sfn.all_states(definition)
        if state.get("Resource", "").startswith(SDK)
    ]
    called = {f"sagemaker:{action[:1].upper()}{action[1:]}" for action in actions}
    assert called == {
        "sagemaker:CreateEndpointConfig",
        "sagemaker:UpdateEndpoint",
        "sagemaker:DescribeEndpoint",
    }
    assert called <= granted


# The documented lists


def test_every_documented_list_names_its_page_and_the_apis_members():
    for api in OPTIMIZED:
        assert api.source.startswith("https://docs.aws.amazon.com/step-functions/latest/dg/")
        assert not api.nested or api.nested_source.startswith("https://")
        model = sfn.service_model(api.service)
        members = model.operation_model(api.api[:1].upper() + api.api[1:]).input_shape.members
        assert api.parameters <= set(members), (api.api, api.parameters - set(members))
        for operation in api.results.values():  # the result shapes the jsonpath rule follows
            service, name = operation.split(":")
            assert sfn.service_model(service).operation_model(name).output_shape is not None
    for reader in ITEM_READERS:
        assert reader.source.startswith("https://docs.aws.amazon.com/step-functions/latest/dg/")


# Rule: resource


def test_resource_rule_names_the_state_of_an_unknown_integration():
    definition = _machine(
        **{
            "no-sync": _task("arn:aws:states:::sagemaker:updateEndpoint.sync"),
            "no-api": _task("arn:aws:states:::sagemaker:deployModel"),
            "pascal": _task(f"{SDK}UpdateEndpoint"),
            "sdk-sync": _task("arn:aws:states:::aws-sdk:s3:copyObject.sync"),
            "bare": _task("sagemaker:createModel"),
            "map": {
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:listObjects"},
                "ItemProcessor": _machine(
                    inner=_task("arn:aws:lambda:us-east-1:123456789012:function:f")
                ),
            },
            "fine": _task("arn:aws-cn:states:::sagemaker:createTrainingJob.sync"),
            "sdk": _task(f"{SDK}updateEndpoint"),
        }
    )
    findings = list(sfn.check_resources(definition))
    assert _found(findings, sfn.RESOURCE) == [
        ("no-sync", "Resource"),
        ("no-api", "Resource"),
        ("pascal", "Resource"),
        ("sdk-sync", "Resource"),
        ("bare", "Resource"),
        ("map", "ItemReader.Resource"),
    ]
    text = "\n".join(map(str, findings))
    assert "sagemaker:updateEndpoint supports request-response, not '.sync'" in text
    assert "aws-sdk:sagemaker:deployModel" in text  # where to go instead
    assert "camelCase of the API operation (updateEndpoint, not UpdateEndpoint)" in text


# Rule: optimized-parameters


def test_optimized_update_endpoint_refuses_deployment_config(definition):
    """The definition review found: DeploymentConfig through sagemaker:updateEndpoint."""
    definition["States"]["update-endpoint-canary"]["Resource"] = (
        "arn:aws:states:::sagemaker:updateEndpoint"
    )
    findings = sfn.check(definition)
    parameters = definition["States"]["update-endpoint-canary"]["Parameters"]
    # on instances (prod) the update also keeps the autoscaled count: not documented either
    retained = ["RetainAllVariantProperties"] if "RetainAllVariantProperties" in parameters else []
    assert _found(findings, sfn.OPTIMIZED_PARAMETERS) == [
        ("update-endpoint-canary", f"Parameters.{name}") for name in ["DeploymentConfig", *retained]
    ]
    assert "connect-sagemaker.html" in str(findings[0])


def test_optimized_create_endpoint_config_refuses_serverless_variants(dev):
    (definition,) = sfn.state_machine_definitions(dev.json["pipeline"]).values()
    definition = copy.deepcopy(definition)
    definition["States"]["update-endpoint"]["Resource"] = (
        "arn:aws:states:::sagemaker:createEndpointConfig"
    )
    assert _found(sfn.check(definition), sfn.OPTIMIZED_PARAMETERS) == [
        ("update-endpoint", "Parameters.ProductionVariants[0].ServerlessConfig")
    ]


def test_item_readers_take_only_their_documented_parameters(definition):
    definition["States"]["load"]["ItemReader"]["Parameters"]["Delimiter"] = "/"
    assert _found(sfn.check(definition), sfn.OPTIMIZED_PARAMETERS) == [
        ("load", "ItemReader.Parameters.Delimiter")
    ]


# Rule: sdk-parameters

DEPLOYMENT = "Parameters.DeploymentConfig"
ROUTING = f"{DEPLOYMENT}.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"


def _routing(parameters: dict[str, Any]) -> dict[str, Any]:
    return parameters["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]


@pytest.mark.parametrize(
    ("mutate", "field", "says"),
    [
        (
            lambda p: p.update(DeploymentConfiguration=p.pop("DeploymentConfig")),
            "Parameters.DeploymentConfiguration",
            "not a member of UpdateEndpointInput",
        ),
        (lambda p: p.pop("EndpointName"), "Parameters", "requires EndpointName"),
        (
            lambda p: _routing(p).update(CanarySize="10"),
            f"{ROUTING}.CanarySize",
            "CapacitySize is an object, not the string '10'",
        ),
        (lambda p: _routing(p).update(Type="CANNARY"), f"{ROUTING}.Type", "'CANNARY' is not one"),
        (
            lambda p: _routing(p).update(WaitIntervalInSeconds="300"),
            f"{ROUTING}.WaitIntervalInSeconds",
            "WaitIntervalInSeconds is an integer, not the string '300'",
        ),
        (
            lambda p: p["DeploymentConfig"].update(AutoRollbackConfiguration={"Alarms": {}}),
            f"{DEPLOYMENT}.AutoRollbackConfiguration.Alarms",
            "is an array, not an object",
        ),
        (
            lambda p: p.update({"EndpointConfigName.$": "States.Array('a')"}),
            "Parameters.EndpointConfigName.$",
            "States.Array returns a list",
        ),
    ],
    ids=["unknown-member", "required", "structure", "enum", "integer", "list", "intrinsic-kind"],
)
def test_sdk_parameters_fit_the_operations_input(definition, mutate, field, says):
    mutate(definition["States"]["update-endpoint-canary"]["Parameters"])
    findings = [f for f in sfn.check(definition) if f.rule == sfn.SDK_PARAMETERS]
    assert _found(findings, sfn.SDK_PARAMETERS) == [("update-endpoint-canary", field)]
    assert says in findings[0].message, findings[0].message


@pytest.mark.parametrize(
    ("resource", "says"),
    [
        (f"{SDK}updateEndpoints", "no operation UpdateEndpoints for the action updateEndpoints"),
        ("arn:aws:states:::aws-sdk:sagemakr:updateEndpoint", "has no service 'sagemakr'"),
    ],
)
def test_sdk_integrations_call_an_operation_botocore_knows(definition, resource, says):
    definition["States"]["update-endpoint-canary"]["Resource"] = resource
    findings = sfn.check(definition)
    assert _found(findings, sfn.SDK_PARAMETERS) == [("update-endpoint-canary", "Resource")]
    assert says in findings[0].message


# Rule: intrinsic


def test_format_placeholders_match_its_arguments(definition, synth):
    """The definition review found: batch-score's output URI, one argument and no {}."""
    output = definition["States"]["batch-score"]["Parameters"]["ProcessingOutputConfig"]
    s3 = output["Outputs"][0]["S3Output"]
    s3["S3Uri.$"] = f"States.Format('{s3.pop('S3Uri')}', $$.Execution.Name)"
    findings = sfn.check(definition)
    field = "Parameters.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri.$"
    assert _found(findings, sfn.INTRINSIC) == [("batch-score", field)]
    assert "has 0 {} placeholder(s) but 1 argument(s)" in findings[0].message


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('a-{}-{}', $.x, $$.Execution.Name)",
        "States.Format('brace \\{literal\\} quote \\' slash \\\\ then {}', States.UUID())",
        "States.Format('{}', States.Format('{}-{}', $.a['b, c)'], $$.Map.Item.Index))",
        "States.Array( 'a' , 1, -2.5e3, true, null, $[0] )",
        "States.MathRandom(1, 10)",
        "States.JsonMerge($.a, States.StringToJson($.b), false)",
    ],
)
def test_well_formed_intrinsics_pass(text):
    assert list(sfn.call_problems(sfn.parse_intrinsic(text))) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("States.Format('{}/{}', $$.Execution.Name)", "2 {} placeholder(s) but 1 argument(s)"),
        ("States.Format('{}', States.Format('{}'))", "1 {} placeholder(s) but 0 argument(s)"),
        ("States.Format('a\\{\\}', $.x)", "0 {} placeholder(s) but 1"),  # escaped braces
        ("States.Format('a {x}', $.x)", "an unescaped '{' that opens no {} placeholder"),
        ("States.Format($.template, $.x)", "first argument must be a 'string' template"),
        ("States.Formats('{}', $.x)", "no intrinsic function (did you mean States.Format?)"),
        ("States.ArrayRange(1, 2)", "States.ArrayRange takes 3 arguments, not 2"),
        ("States.UUID(1)", "takes 0 arguments, not 1"),
        ("States.Format('unterminated, $.x)", "unterminated string"),
        ("States.Format('{}', $.x", "unclosed '('"),
        ("States.Format('{}', $.x) + 1", "unexpected text after the call"),
        ("States.Format('{}', #x)", "expected a 'string', number, path or intrinsic"),
    ],
)
def test_malformed_intrinsics_say_what_is_wrong(text, says):
    definition = _machine(
        only={"Type": "Pass", "Parameters": {"value.$": text}},
    )
    findings = list(sfn.check_intrinsics(definition))
    assert _found(findings, sfn.INTRINSIC) == [("only", "Parameters.value.$")]
    assert says in findings[0].message, findings[0].message


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        ({"uri": "States.Format('{}', $$.Execution.Name)"}, "Parameters.uri", "without the .$"),
        ({"name": "$$.Execution.Name"}, "Parameters.name", "without the .$ suffix (name.$)"),
        ({"uri.$": "s3://bucket/key"}, "Parameters.uri.$", "neither a path"),
        ({"count.$": 3}, "Parameters.count.$", "not the number 3"),
    ],
)
def test_dynamic_fields_and_literals_are_not_mixed_up(entry, field, says):
    findings = list(sfn.check_intrinsics(_machine(only={"Type": "Pass", "Parameters": entry})))
    assert _found(findings, sfn.INTRINSIC) == [("only", field)]
    assert says in findings[0].message


# Rule: jsonpath


@pytest.mark.parametrize(
    ("state", "field", "value", "says"),
    [
        ("switch", "batch.$", "$$.Execution.Nam", "$$.Execution has Id, Input, Name"),
        ("switch", "batch.$", "States.Format('{}', $$.Executions.Name)", "$$ has Execution"),
        ("switch", "key.$", "$$.Map.Item.Value.Key", "Map only in a Map state's ItemSelector"),
        ("switch", "input.$", "$$.Execution.Input.anything.goes", None),
        ("update-endpoint-promote", "CopySource.$", "$.trainng.TrainingJobName", "no 'trainng'"),
        (
            "update-endpoint-promote",
            "CopySource.$",
            "$.training.ModelArtifact.S3ModelArtifacts",
            "$.training (DescribeTrainingJobResponse) has no 'ModelArtifact' (closest",
        ),
        ("update-endpoint-promote", "CopySource.$", "$.model.ModelArn", None),
        ("notify-failure", "Subject.$", "$.error.Reason", "$.error has no 'Reason' (it has Cause"),
    ],
)
def test_paths_read_context_fields_and_what_earlier_states_produced(
    definition, state, field, value, says
):
    definition["States"][state]["Parameters"][field] = value
    findings = sfn.check(definition)
    if says is None:
        assert findings == []
        return
    assert _found(findings, sfn.JSONPATH) == [(state, f"Parameters.{field}")]
    assert says in findings[0].message, findings[0].message


def test_result_selector_and_result_path_decide_what_later_states_read():
    describe = f"{SDK}describeEndpoint"
    definition = _machine(
        describe=_task(
            describe,
            Parameters={"EndpointName": "e"},
            ResultSelector={"status.$": "$.EndpointStatus", "arn.$": "$.EndpointArns"},
            ResultPath="$.endpoint",
        ),
        discard=_task(describe, Parameters={"EndpointName": "e"}, ResultPath=None),
        branch={
            "Type": "Choice",
            "Choices": [{"Variable": "$.endpoint.status", "IsPresent": True, "Next": "tag"}],
            "Default": "join",
        },
        tag={"Type": "Pass", "Result": {"by": "tag"}, "ResultPath": "$.tagged", "Next": "join"},
        join={
            "Type": "Pass",
            "Parameters": {
                "status.$": "$.endpoint.status",
                "name.$": "$.endpoint.name",
                "discarded.$": "$.discard",
                "tagged.$": "$.tagged.by",
            },
            "End": True,
        },
    )
    findings = list(sfn.check_paths(definition))
    assert _found(findings, sfn.JSONPATH) == [
        ("describe", "ResultSelector.arn.$"),
        ("join", "Parameters.name.$"),
        ("join", "Parameters.discarded.$"),
        ("join", "Parameters.tagged.$"),  # set on one way into join only
    ]
    assert "the task's result has no 'EndpointArns'" in findings[0].message
    assert "(closest of its" in findings[0].message
    assert "EndpointArn" in findings[0].message
    assert "$.endpoint has no 'name' (it has arn, status)" in findings[1].message


def test_paths_inside_a_map_read_its_item_selector():
    inner = _machine(load={"Type": "Pass", "Parameters": {"k.$": "$.key", "b.$": "$.bucket"}})
    definition = _machine(
        load={
            "Type": "Map",
            "ItemSelector": {"key.$": "$$.Map.Item.Value.Key"},
            "ItemProcessor": inner,
        }
    )
    assert _found(list(sfn.check_paths(definition)), sfn.JSONPATH) == [
        ("load/load", "Parameters.b.$")
    ]


def test_execution_input_keys_can_be_declared():
    definition = _machine(only={"Type": "Pass", "Parameters": {"d.$": "$.date"}})
    assert _found(list(sfn.check_paths(definition)), sfn.JSONPATH) == [("only", "Parameters.d.$")]
    assert list(sfn.check_paths(definition, input_keys=["date"])) == []


def test_definitions_of_a_template_resolve_joins_and_tokens():
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": {
                        "Fn::Join": [
                            "",
                            [
                                '{"StartAt":"a","States":{"a":{"Type":"Task","Resource":"',
                                {"Fn::GetAtt": ["Fn", "Arn"]},
                                '","Parameters":{"Topic":"',
                                {"Fn::ImportValue": "Other:Export"},
                                '","S3Uri.$":"States.Format(\'s3://b-',
                                {"Fn::Sub": "${AWS::AccountId}{}'"},
                                '/{}\', $$.Execution.Name)"},"End":true}}}',
                            ],
                        ]
                    }
                },
            },
        }
    }
    definition = sfn.state_machine_definitions(template)["Machine"]
    task = definition["States"]["a"]
    assert task["Resource"] == "arn:aws:lambda:us-east-1:123456789012:function:Fn"
    assert task["Parameters"]["Topic"] == "<Fn::ImportValue:Other:Export>"
    assert json.dumps(definition).count("<Fn::Sub>") == 1  # braces and quotes left out
    assert sfn.check(definition) == []
