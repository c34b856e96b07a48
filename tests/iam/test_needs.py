"""From boto3 calls and state machine definitions to IAM requests, on a small synthesis of its
own: operation-to-action mapping, names translated to the environment's, attribution to roles,
KMS on encrypted resources, and seeded missing permissions that the check reports."""

from __future__ import annotations

import json

import pytest

from tests.iam.needs import (
    App,
    UnmappedError,
    call_requests,
    check,
    kms_needs,
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


def _function(name: str, role: str) -> dict:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f"musicrec-dev-{name}",
            "Role": {"Fn::GetAtt": [role, "Arn"]},
        },
    }


def synthesis(events_statements: list[dict], machine_statements: list[dict]) -> App:
    """Tables, bucket, an endpoint on a model, the events and loader functions, and a state
    machine whose one state publishes to an encrypted topic."""
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
