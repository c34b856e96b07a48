"""The policy evaluator: wildcards, NotAction and NotResource, conditions, explicit Deny, the
resolution of intrinsic functions across stacks, roles' policies and KMS key policies."""

from __future__ import annotations

import pytest

from tests.iam.policies import (
    ACCOUNT,
    Request,
    Statement,
    Templates,
    UnresolvedError,
    arn_match,
    conditions_match,
    evaluate,
    glob_match,
)

TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/musicrec-dev-lists"
BUCKET = "arn:aws:s3:::musicrec-dev-data"


def allow(actions, resources, **conditions) -> Statement:
    return Statement.parse(
        {"Effect": "Allow", "Action": actions, "Resource": resources, "Condition": conditions}
    )


def test_actions_match_wildcards_case_insensitively():
    assert glob_match("s3:GetObject*", "s3:GetObjectVersion", case=False)
    assert glob_match("dynamodb:getitem", "dynamodb:GetItem", case=False)
    assert glob_match("kms:GenerateDataKey*", "kms:GenerateDataKey", case=False)
    assert glob_match("s3:?etObject", "s3:GetObject", case=False)
    assert not glob_match("s3:Get*", "s3:PutObject", case=False)
    assert not glob_match("s3:GetObject", "s3:GetObjectAcl", case=False)  # whole action


def test_resources_match_segment_by_segment():
    assert arn_match("*", TABLE)
    assert arn_match(f"{BUCKET}/*", f"{BUCKET}/batch/v1/part-0.gz")  # across slashes
    assert not arn_match(f"{BUCKET}/*", BUCKET)  # the bucket is not an object of it
    assert arn_match("arn:aws:lambda:*:*:function:f:*", "arn:aws:lambda:eu-west-1:1:function:f:3")
    assert not arn_match("arn:aws:lambda:*:*:function:f", "arn:aws:lambda:r:1:function:f:3")
    assert arn_match(
        "arn:aws:sagemaker:*:*:model/musicrec-dev-*", "arn:aws:sagemaker:r:1:model/musicrec-dev-x"
    )
    assert not arn_match(
        "arn:aws:sagemaker:*:*:model/musicrec-dev-*", "arn:aws:sagemaker:r:1:model/musicrec-prod-x"
    )
    assert not arn_match(TABLE, TABLE.replace("lists", "Lists"))  # resources are case-sensitive


def test_an_allow_matches_action_and_resource():
    statements = [allow(["dynamodb:GetItem", "dynamodb:Query"], TABLE)]
    decision = evaluate(statements, Request("dynamodb:Query", TABLE))
    assert decision
    assert [(g.action, g.resource) for g in decision.grants] == [("dynamodb:Query", TABLE)]
    assert not evaluate(statements, Request("dynamodb:PutItem", TABLE))
    assert not evaluate(statements, Request("dynamodb:GetItem", f"{TABLE}-other"))
    assert not evaluate([], Request("dynamodb:GetItem", TABLE))  # implicitly denied


def test_an_explicit_deny_wins():
    statements = [
        allow("s3:*", "*"),
        Statement.parse({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}),
    ]
    assert evaluate(statements, Request("s3:GetObject", f"{BUCKET}/k"))
    decision = evaluate(statements, Request("s3:DeleteObject", f"{BUCKET}/k"))
    assert not decision
    assert decision.denied_by is statements[1]


def test_not_action_and_not_resource():
    everything_but_iam = Statement.parse({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([everything_but_iam], Request("s3:GetObject", f"{BUCKET}/k"))
    assert not evaluate([everything_but_iam], Request("iam:PassRole", "arn:aws:iam::1:role/r"))
    elsewhere = Statement.parse(
        {"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"}
    )
    assert evaluate([elsewhere], Request("s3:GetObject", f"{BUCKET}/public/k"))
    assert not evaluate([elsewhere], Request("s3:GetObject", f"{BUCKET}/secret/k"))


def test_conditions():
    pass_role = allow(
        "iam:PassRole", "*", StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"}
    )
    role = "arn:aws:iam::1:role/r"
    assert evaluate(
        [pass_role],
        Request("iam:PassRole", role, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
    )
    assert not evaluate(
        [pass_role], Request("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    )
    assert not evaluate([pass_role], Request("iam:PassRole", role))  # the key is missing
    assert conditions_match(
        {"StringLike": {"s3:prefix": ["batch/*", "models/*"]}}, {"s3:prefix": "models/x"}
    )
    assert conditions_match(
        {"StringNotEquals": {"aws:SourceAccount": "1"}}, {}
    )  # negated: missing holds
    assert conditions_match({"StringEqualsIfExists": {"s3:prefix": "a"}}, {})
    assert not conditions_match(
        {"ArnLike": {"aws:SourceArn": "arn:aws:states:*:*:stateMachine:*"}},
        {"aws:SourceArn": "arn:aws:sns:r:1:t"},
    )
    with pytest.raises(NotImplementedError, match="NumericLessThan"):
        conditions_match({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"})


# a small synthesis: a data stack exporting a table and a key, an app stack with a role


def _templates(statements: list[dict]) -> Templates:
    data = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {"TableName": "musicrec-dev-lists"},
            },
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "arn:",
                                                {"Ref": "AWS::Partition"},
                                                ":iam::",
                                                {"Ref": "AWS::AccountId"},
                                                ":root",
                                            ],
                                        ]
                                    }
                                },
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ]
                    }
                },
            },
        },
        "Outputs": {
            "TableArn": {
                "Value": {"Fn::GetAtt": ["Table", "Arn"]},
                "Export": {"Name": "Data:TableArn"},
            },
        },
    }
    app = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "ManagedPolicyArns": [
                        {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                                ],
                            ]
                        }
                    ]
                },
            },
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {"Statement": statements},
                    "Roles": [{"Ref": "Role"}],
                },
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Fn::Sub": "data-${AWS::AccountId}-${AWS::Region}"}},
            },
        }
    }
    return Templates({"data": data, "app": app})


def test_intrinsics_resolve_to_the_same_placeholders_everywhere():
    t = _templates([])
    assert t.resolve("app", {"Fn::ImportValue": "Data:TableArn"}) == TABLE
    assert t.arn_of("data", "Table") == TABLE
    assert t.ref("app", "Bucket") == f"data-{ACCOUNT}-us-east-1"
    assert t.arn_of("app", "Bucket") == f"arn:aws:s3:::data-{ACCOUNT}-us-east-1"
    assert t.arn_of("data", "Key") == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/Key"
    assert t.resolve("app", {"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}) == "b"
    assert (
        t.resolve("app", {"Fn::Sub": ["${X}/${!Literal}", {"X": {"Ref": "AWS::Region"}}]})
        == "us-east-1/${Literal}"
    )
    with pytest.raises(UnresolvedError, match="no stack exports"):
        t.resolve("app", {"Fn::ImportValue": "Nobody:Exports"})
    with pytest.raises(UnresolvedError, match="not supported"):
        t.resolve("app", {"Fn::If": ["C", 1, 2]})


def test_a_role_gets_its_policies_and_the_managed_ones_it_knows():
    t = _templates(
        [
            {
                "Effect": "Allow",
                "Action": "dynamodb:GetItem",
                "Resource": {"Fn::ImportValue": "Data:TableArn"},
            }
        ]
    )
    (role,) = t.principals.values()
    assert role.arn == f"arn:aws:iam::{ACCOUNT}:role/Role"
    assert role.allows(Request("dynamodb:GetItem", TABLE))
    assert role.allows(
        Request("logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s")
    )
    assert not role.unknown_managed


def test_a_seeded_missing_permission_is_denied():
    """The statement that reads the table, without the write the caller also makes."""
    t = _templates(
        [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": {"Fn::ImportValue": "Data:TableArn"},
            }
        ]
    )
    (role,) = t.principals.values()
    assert role.allows(Request("dynamodb:Query", TABLE))
    assert not role.allows(Request("dynamodb:PutItem", TABLE))


def test_key_policies_delegate_to_iam_through_the_account_root():
    t = _templates([])
    key = t.arn_of("data", "Key")
    role = f"arn:aws:iam::{ACCOUNT}:role/Role"
    assert t.key_policy_allows(key, role, "kms:Decrypt") is True
    t.templates["data"]["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"][0][
        "Principal"
    ] = {"Service": "cloudwatch.amazonaws.com"}
    assert t.key_policy_allows(key, role, "kms:Decrypt") is False
    assert (
        t.key_policy_allows("arn:aws:kms:us-east-1:1:key/aws-managed", role, "kms:Decrypt") is None
    )
