"""The roles' permissions that a real account needs and moto never checks: the failure topic's
key for the state machine, the rollback alarms for the SageMaker execution role, the endpoint
update onto a run's configuration, and the model created only once its role's policy exists."""

from __future__ import annotations

import pytest

from tests.iam.needs import App, encryption_keys
from tests.iam.policies import ACCOUNT, Request, Templates

CONFIG = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config"


@pytest.fixture(scope="module", params=["dev", "prod"])
def synthesis(request):
    synth = request.getfixturevalue(request.param)
    return synth, App(Templates(synth.json))


def test_the_state_machine_may_publish_to_the_encrypted_failure_topic(synthesis):
    _, app = synthesis
    (topic,) = [arn for arn in encryption_keys(app) if ":sns:" in arn]
    key = encryption_keys(app)[topic]
    role = app.templates.principals[app.state_machine_role]
    assert role.allows(Request("sns:Publish", topic))
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):  # SNS encrypts with the publisher's
        assert role.allows(Request(action, key)), action
        assert app.templates.key_policy_allows(key, role.arn, action)


def test_the_execution_role_may_read_the_rollback_alarms_and_no_others(synthesis):
    synth, app = synthesis
    (endpoint,) = synth.resources("model", "AWS::SageMaker::Endpoint").values()
    rollback = endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    names = [app.templates.resolve("model", alarm["AlarmName"]) for alarm in rollback]
    assert len(names) == 2
    role = app.templates.principals[app.sagemaker_role]
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm"
    for name in names:
        assert role.allows(Request("cloudwatch:DescribeAlarms", f"{alarm}:{name}")), name
    assert not role.allows(Request("cloudwatch:DescribeAlarms", f"{alarm}:someone-elses"))
    state_machine = app.templates.principals[app.state_machine_role]
    assert not state_machine.allows(Request("cloudwatch:DescribeAlarms", f"{alarm}:{names[0]}"))


def test_the_state_machine_may_update_the_endpoint_onto_a_runs_configuration(synthesis):
    _, app = synthesis
    role = app.templates.principals[app.state_machine_role]
    endpoint = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{app.endpoint}"
    assert role.allows(Request("sagemaker:UpdateEndpoint", endpoint))
    assert role.allows(Request("sagemaker:UpdateEndpoint", f"{CONFIG}/{app.prefix}-0a1b2c"))
    other = "musicrec-prod" if app.prefix == "musicrec-dev" else "musicrec-dev"
    assert not role.allows(Request("sagemaker:UpdateEndpoint", f"{CONFIG}/{other}-0a1b2c"))


def test_the_model_is_created_after_its_roles_policy(synthesis):
    """CreateModel checks the role's access to the model data and the image: CloudFormation must
    not create the model before the role's policy (it would fail now and then on a first
    deploy)."""
    synth, _ = synthesis
    (model,) = synth.resources("model", "AWS::SageMaker::Model").values()
    role = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    policies = [
        logical
        for logical, policy in synth.resources("model", "AWS::IAM::Policy").items()
        if {"Ref": role} in policy["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    assert policies[0] in model.get("DependsOn", [])
