"""From boto3 calls and state machine definitions to IAM requests, on a small synthesis of its
own: operation-to-action mapping, names translated to the environment's, attribution to roles,
KMS on encrypted resources, and seeded missing permissions that the check reports."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from tests.iam.needs import (
    App,
    UnmappedError,
    call_requests,
    check,
    kms_needs,
    operations_needs,
    recorded_needs,
    service_needs,
)
from tests.iam.policies import ACCOUNT, Request, Templates

A = f"us-east-1:{ACCOUNT}"
BUCKET = f"musicrec-dev-data-{ACCOUNT}-us-east-1"
TABLE = f"arn:aws:dynamodb:{A}:table/musicrec-dev"


def _role(name: str, service: str) -> dict:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": service}}]}
        },
    }


def _policy(role: str, statements: list[dict]) -> dict:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyDocument": {"Statement": statements}, "Roles": [{"Ref": role}]},
    }


def _function(name: str, role: str, env: dict | None = None) -> dict:
    props = {"FunctionName": f"musicrec-dev-{name}", "Role": {"Fn::GetAtt": [role, "Arn"]}}
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {**props, **({"Environment": {"Variables": dict(env)}} if env else {})},
    }


# The admin function's environment naming what it reads of the operations (as in AWS).
ADMIN_ENV = {
    "ENDPOINT_NAME": "musicrec-dev-onboarding",
    "RETRAIN_SCHEDULE": "musicrec-dev-retrain",
    "SCHEDULE_GROUP": "default",
}


def synthesis(
    events_statements: list[dict],
    machine_statements: list[dict],
    admin_statements: Sequence[dict] = (),
) -> App:
    """Tables, bucket, an endpoint on a model, the retraining schedule, the events, loader and
    admin functions, and a state machine whose one state publishes to an encrypted topic."""
    definition = {
        "StartAt": "notify-failure",
        "States": {
            "notify-failure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": "TOPIC", "Message.$": "$.error"},
                "End": True,
            }
        },
    }
    head, tail = json.dumps(definition).split('"TOPIC"')
    resources = {
        **{
            f"Table{n}": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {"TableName": f"musicrec-dev-{n}"},
            }
            for n in ("lists", "state", "events", "experiments")
        },
        "Data": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": {"Fn::Sub": "musicrec-dev-data-${AWS::AccountId}-${AWS::Region}"}
            },
        },
        "SageMakerRole": _role("SageMakerRole", "sagemaker.amazonaws.com"),
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": {"Fn::GetAtt": ["SageMakerRole", "Arn"]},
                "PrimaryContainer": {"Image": "public.ecr.aws/x:1"},
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {"EndpointName": "musicrec-dev-onboarding", "EndpointConfigName": "c"},
        },
        "EventsRole": _role("EventsRole", "lambda.amazonaws.com"),
        "EventsPolicy": _policy("EventsRole", events_statements),
        "Events": _function("events", "EventsRole"),
        "LoaderRole": _role("LoaderRole", "lambda.amazonaws.com"),
        "Loader": _function("loader", "LoaderRole"),
        "AdminRole": _role("AdminRole", "lambda.amazonaws.com"),
        "AdminPolicy": _policy("AdminRole", list(admin_statements)),
        "Admin": _function("admin", "AdminRole", ADMIN_ENV),
        "Schedule": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": "musicrec-dev-retrain",
                "Target": {
                    "Arn": {"Ref": "Machine"},
                    "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                },
            },
        },
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ]
                }
            },
        },
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        "MachineRole": _role("MachineRole", "states.amazonaws.com"),
        "MachinePolicy": _policy("MachineRole", machine_statements),
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                "DefinitionString": {"Fn::Join": ["", [head, '"', {"Ref": "Topic"}, '"', tail]]},
            },
        },
    }
    return App(Templates({"app": {"Resources": resources}}))


READ_EVENTS = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:Query"],
    "Resource": f"{TABLE}-events",
}
PUBLISH = {"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}
TOPIC_KEY = {
    "Effect": "Allow",
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
}


@pytest.fixture
def app() -> App:
    return synthesis([READ_EVENTS], [PUBLISH, TOPIC_KEY])


def test_operations_map_to_their_iam_actions_on_the_environments_resources(app):
    def requests(service, operation, **params):
        return [
            (r.action, r.resource, dict(r.context))
            for r in call_requests(service, operation, params, app)
        ]

    data = f"arn:aws:s3:::{BUCKET}"
    assert requests("dynamodb", "GetItem", TableName="musicrec-local-events") == [
        ("dynamodb:GetItem", f"{TABLE}-events", {})
    ]
    assert requests("dynamodb", "Query", TableName="musicrec-test-lists", IndexName="by-x") == [
        ("dynamodb:Query", f"{TABLE}-lists/index/by-x", {})
    ]
    assert requests("dynamodb", "BatchWriteItem", RequestItems=["musicrec-local-lists"]) == [
        ("dynamodb:BatchWriteItem", f"{TABLE}-lists", {})
    ]
    assert requests(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[["Put", "x-state"], ["Update", "x-events"], ["ConditionCheck", "x-lists"]],
    ) == [
        ("dynamodb:PutItem", f"{TABLE}-state", {}),
        ("dynamodb:UpdateItem", f"{TABLE}-events", {}),
        ("dynamodb:ConditionCheckItem", f"{TABLE}-lists", {}),
    ]
    assert requests("s3", "GetObject", Bucket="local", Key="batch/v/m.json") == [
        ("s3:GetObject", f"{data}/batch/v/m.json", {})
    ]
    assert requests("s3", "HeadObject", Bucket="local", Key="k") == [
        ("s3:GetObject", f"{data}/k", {})
    ]
    assert requests("s3", "ListObjectsV2", Bucket="local", Prefix="batch/v/") == [
        ("s3:ListBucket", data, {"s3:prefix": "batch/v/"})
    ]
    for part in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        assert requests("s3", part, Bucket="local", Key="k") == [("s3:PutObject", f"{data}/k", {})]
    assert requests("s3", "CopyObject", Bucket="b", Key="to", CopySource="b/from") == [
        ("s3:PutObject", f"{data}/to", {}),
        ("s3:GetObject", f"{data}/from", {}),
    ]
    assert requests(
        "sagemaker-runtime", "InvokeEndpoint", EndpointName="musicrec-local-onboarding"
    ) == [
        ("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:{A}:endpoint/musicrec-dev-onboarding", {})
    ]
    assert requests("lambda", "Invoke", FunctionName="musicrec-local-loader") == [
        ("lambda:InvokeFunction", f"arn:aws:lambda:{A}:function:musicrec-dev-loader", {})
    ]
    assert requests("sts", "GetCallerIdentity") == [("sts:GetCallerIdentity", "*", {})]
    with pytest.raises(UnmappedError, match="ExecuteStatement"):
        requests("dynamodb", "ExecuteStatement", Statement="SELECT")
    with pytest.raises(ValueError, match="TABLES"):
        requests("dynamodb", "GetItem", TableName="someone-elses")


def test_the_consoles_calls_map_to_the_environments_schedule_endpoint_and_runs(app):
    """The admin function's calls: local names of the schedule (any local group: the
    environment's schedule is in its own), the endpoint and a run's endpoint configuration
    translated; the run records keep their keys (``runs/`` locally and in AWS)."""

    def requests(service, operation, **params):
        return [
            (r.action, r.resource, dict(r.context))
            for r in call_requests(service, operation, params, app)
        ]

    data = f"arn:aws:s3:::{BUCKET}"
    schedule = f"arn:aws:scheduler:{A}:schedule/default/musicrec-dev-retrain"
    for group in ("default", "local-group"):
        assert requests(
            "scheduler", "GetSchedule", Name="musicrec-local-retrain", GroupName=group
        ) == [("scheduler:GetSchedule", schedule, {})]
    assert requests("sagemaker", "DescribeEndpoint", EndpointName="musicrec-local-onboarding") == [
        (
            "sagemaker:DescribeEndpoint",
            f"arn:aws:sagemaker:{A}:endpoint/musicrec-dev-onboarding",
            {},
        )
    ]
    config = f"arn:aws:sagemaker:{A}:endpoint-config"
    assert requests(
        "sagemaker", "DescribeEndpointConfig", EndpointConfigName="musicrec-test-0a1b2c"
    ) == [("sagemaker:DescribeEndpointConfig", f"{config}/musicrec-dev-0a1b2c", {})]
    assert requests(  # a name CloudFormation made (the endpoint's first configuration): kept
        "sagemaker", "DescribeEndpointConfig", EndpointConfigName="EndpointConfig-x1"
    ) == [("sagemaker:DescribeEndpointConfig", f"{config}/EndpointConfig-x1", {})]
    assert requests("cloudwatch", "GetMetricData") == [("cloudwatch:GetMetricData", "*", {})]
    assert requests("s3", "ListObjectsV2", Bucket="musicrec-local-data", Prefix="runs/") == [
        ("s3:ListBucket", data, {"s3:prefix": "runs/"})
    ]
    for operation, action in (("GetObject", "s3:GetObject"), ("PutObject", "s3:PutObject")):
        assert requests("s3", operation, Bucket="musicrec-local-data", Key="runs/r1.json") == [
            (action, f"{data}/runs/r1.json", {})
        ]
    with pytest.raises(ValueError, match="musicrec-local-nightly"):
        requests("scheduler", "GetSchedule", Name="musicrec-local-nightly")


def _role_name(need) -> str:
    return need.principal.rsplit("/", 1)[1]


def test_what_the_console_reads_only_in_aws_is_derived_from_its_environment():
    """GetSchedule, DescribeEndpoint and DescribeEndpointConfig (the endpoint's first
    configuration and a run's) of the function with ``reads_operations``, named by its
    environment: allowed by its grants, reported without one."""
    run_config = f"arn:aws:sagemaker:{A}:endpoint-config/musicrec-dev-0a1b2c"
    grants = [
        {
            "Effect": "Allow",
            "Action": "scheduler:GetSchedule",
            "Resource": f"arn:aws:scheduler:{A}:schedule/default/musicrec-dev-retrain",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeEndpoint",
            "Resource": f"arn:aws:sagemaker:{A}:endpoint/musicrec-dev-onboarding",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:DescribeEndpointConfig",
            "Resource": [
                f"arn:aws:sagemaker:{A}:endpoint-config/musicrec-dev-*",
                f"arn:aws:sagemaker:{A}:endpoint-config/c",
            ],
        },
    ]
    app = synthesis([], [], grants)
    needs = operations_needs(app, [run_config])
    found = [(n.who, _role_name(n), n.request.action, n.request.resource) for n in needs]
    first_config = f"arn:aws:sagemaker:{A}:endpoint-config/c"  # the endpoint's, in the templates
    assert found == [
        ("function:admin", "AdminRole", "scheduler:GetSchedule", grants[0]["Resource"]),
        ("function:admin", "AdminRole", "sagemaker:DescribeEndpoint", grants[1]["Resource"]),
        ("function:admin", "AdminRole", "sagemaker:DescribeEndpointConfig", first_config),
        ("function:admin", "AdminRole", "sagemaker:DescribeEndpointConfig", run_config),
    ]
    assert check(needs, app).missing == []
    assert {n.request.action for n in service_needs(app) if n.who == "function:admin"} >= {
        "scheduler:GetSchedule",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
    }
    without = synthesis([], [], grants[1:])
    missing = check(operations_needs(without, [run_config]), without).missing
    assert [m.request.action for m in missing] == ["scheduler:GetSchedule"]


def test_a_function_reading_operations_without_their_names_is_an_error():
    app = synthesis([], [])
    admin = app.templates.templates["app"]["Resources"]["Admin"]["Properties"]
    del admin["Environment"]["Variables"]["RETRAIN_SCHEDULE"]
    with pytest.raises(ValueError, match="RETRAIN_SCHEDULE"):
        operations_needs(app)


def test_recorded_calls_are_the_innermost_callers(app):
    calls = [
        {
            "caller": ["function:events"],
            "service": "dynamodb",
            "operation": "Query",
            "params": {"TableName": "l-events"},
        },
        {
            "caller": ["step:load", "function:loader"],
            "service": "s3",
            "operation": "GetObject",
            "params": {"Bucket": "b", "Key": "k"},
        },
        {
            "caller": ["step:load"],
            "service": "s3",
            "operation": "ListObjectsV2",
            "params": {"Bucket": "b", "Prefix": "p/"},
        },
        {
            "caller": ["step:merge"],
            "service": "s3",
            "operation": "PutObject",
            "params": {"Bucket": "b", "Key": "batch/v/x"},
        },
    ]
    principals = [(n.who, n.principal.rsplit("/", 1)[1]) for n in recorded_needs(calls, app)]
    assert principals == [
        ("function:events", "EventsRole"),
        ("function:loader", "LoaderRole"),
        ("step:load", "MachineRole"),  # the Distributed Map's item reader
        ("step:merge", "SageMakerRole"),  # a processing job's output upload
    ]


def test_an_unknown_caller_is_an_error(app):
    call = {
        "caller": ["function:billing"],
        "service": "sts",
        "operation": "GetCallerIdentity",
        "params": {},
    }
    with pytest.raises(ValueError, match="function:billing"):
        recorded_needs([call], app)


def test_a_seeded_missing_permission_fails_the_check(app):
    """events may read its table, not write it: the recorded write is reported, the read not."""
    calls = [
        {
            "caller": ["function:events"],
            "service": "dynamodb",
            "operation": op,
            "params": {"TableName": "musicrec-local-events"},
        }
        for op in ("Query", "PutItem")
    ]
    missing = check(recorded_needs(calls, app), app).missing
    assert [(m.who, m.request.action) for m in missing] == [("function:events", "dynamodb:PutItem")]


def test_publishing_to_an_encrypted_topic_needs_its_key():
    def missing(machine_statements):
        app = synthesis([], machine_statements)
        needs = [n for n in service_needs(app) if n.who == "state:notify-failure"]
        return sorted(n.request.action for n in check(needs + kms_needs(needs, app), app).missing)

    assert missing([PUBLISH, TOPIC_KEY]) == []
    assert missing([PUBLISH]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert missing([]) == ["kms:Decrypt", "kms:GenerateDataKey", "sns:Publish"]


def test_a_key_policy_that_does_not_delegate_to_iam_fails_the_check():
    app = synthesis([], [PUBLISH, TOPIC_KEY])
    key = app.templates.templates["app"]["Resources"]["Key"]["Properties"]["KeyPolicy"]
    key["Statement"][0]["Principal"] = {"Service": "cloudwatch.amazonaws.com"}
    needs = service_needs(app)
    assert {n.request.action for n in check(kms_needs(needs, app), app).missing} == {
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }


def test_unknown_roles_are_missing_not_allowed(app):
    need = recorded_needs(
        [
            {
                "caller": ["function:events"],
                "service": "sts",
                "operation": "GetCallerIdentity",
                "params": {},
            }
        ],
        app,
    )[0]
    stranger = type(need)(
        need.who, f"arn:aws:iam::{ACCOUNT}:role/Nobody", Request("sts:GetCallerIdentity", "*"), ""
    )
    assert check([stranger], app).missing == [stranger]


def test_the_state_machines_own_calls_around_a_job_step_are_its_roles_not_the_jobs(app):
    """``make retrain`` reads the active batch version before batch-score as the state machine
    does in AWS (a GetItem state), not as the processing job's role."""
    assert app.principal_of("step:batch-score") == app.sagemaker_role
    assert app.principal_of("state:batch-score") == app.state_machine_role
    with pytest.raises(ValueError, match="no such function"):
        app.principal_of("state:no-such-step")
