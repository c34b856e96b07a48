"""What the CDK app promises: least privilege, scaling, safe deployments, the pipeline's order,
API keys, encryption, alarms and a clean cdk-nag report."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lambdas.routes import FUNCTIONS, ROUTES
from lambdas.tables import TABLES
from tests.conftest import REPO_ROOT
from training.steps import step_names

pytestmark = pytest.mark.slow


def _statements(synth, stack: str) -> dict[str, list[dict]]:
    """Policy name -> statements."""
    return {
        name: policy["Properties"]["PolicyDocument"]["Statement"]
        for name, policy in synth.resources(stack, "AWS::IAM::Policy").items()
    }


def _actions(statement) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def test_only_onboarding_may_invoke_the_endpoint_and_only_this_one(prod):
    found = {}
    for name, statements in _statements(prod, "api").items():
        for statement in statements:
            if "sagemaker:InvokeEndpoint" in _actions(statement):
                found[name] = statement["Resource"]
    assert len(found) == 1
    ((policy, resource),) = found.items()
    assert policy.startswith("Fnonboarding")
    assert "endpoint/musicrec-prod-onboarding" in json.dumps(resource)


def test_functions_touch_only_their_tables_with_their_access(prod):
    statements = _statements(prod, "api")
    for fn in FUNCTIONS:
        policy = next(v for k, v in statements.items() if k.startswith(f"Fn{fn.name}"))
        dynamo = [s for s in policy if any(a.startswith("dynamodb:") for a in _actions(s))]
        touched = json.dumps([s["Resource"] for s in dynamo])
        for spec in TABLES:
            assert (f"Table{spec.name}" in touched) == (spec.name in fn.tables), (
                fn.name,
                spec.name,
            )
        writes = any(a in ("dynamodb:PutItem", "dynamodb:BatchWriteItem")
                     for s in dynamo for a in _actions(s))  # fmt: skip
        assert writes == any(access != "read" for access in fn.tables.values()), fn.name


def test_autoscaling_tracks_invocations_per_instance(prod):
    prod.templates["model"].has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {
        "MinCapacity": 2, "MaxCapacity": 8, "ServiceNamespace": "sagemaker",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    })  # fmt: skip
    prod.templates["model"].has_resource_properties("AWS::ApplicationAutoScaling::ScalingPolicy", {
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 3000,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    })  # fmt: skip


def test_dev_uses_serverless_inference_without_scaling_policies(dev):
    config = next(iter(dev.resources("model", "AWS::SageMaker::EndpointConfig").values()))
    assert "ServerlessConfig" in config["Properties"]["ProductionVariants"][0]
    assert not dev.resources("model", "AWS::ApplicationAutoScaling::ScalingPolicy")


def test_deployments_are_canary_blue_green_rolled_back_by_the_alarms(prod):
    endpoint = next(iter(prod.resources("model", "AWS::SageMaker::Endpoint").values()))
    config = endpoint["Properties"]["DeploymentConfig"]
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY"
    assert routing["CanarySize"] == {"Type": "CAPACITY_PERCENT", "Value": 10}
    alarms = prod.resources("model", "AWS::CloudWatch::Alarm")
    rollback = {json.dumps(a["AlarmName"]) for a in config["AutoRollbackConfiguration"]["Alarms"]}
    assert rollback == {json.dumps({"Ref": name}) for name in alarms}
    assert {a["Properties"]["MetricName"] for a in alarms.values()} == {
        "Invocation5XXErrors",
        "ModelLatency",
    }


def _definition(synth) -> dict:
    machine = next(iter(synth.resources("pipeline", "AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def test_state_machine_runs_the_step_list_in_order_and_a_schedule_starts_it(prod):
    definition = _definition(prod)
    order, state = [], definition["StartAt"]
    while state:
        order.append(state)
        state = definition["States"][state].get("Next")
    assert [s for s in order if s in step_names()] == list(step_names())
    for name in step_names():
        assert "Catch" in definition["States"][name] or definition["States"][name]["Type"] == "Map"
    load = definition["States"]["load"]
    assert load["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert "$$.Execution.Name" in load["ItemReader"]["Parameters"]["Prefix.$"]  # this run's files
    batch = definition["States"]["batch-score"]["Parameters"]["ProcessingResources"]
    assert batch["ClusterConfig"]["InstanceCount"] == 4
    prod.templates["pipeline"].has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "cron(0 3 * * ? *)"})  # fmt: skip


def test_every_app_route_needs_an_api_key_and_admin_routes_need_iam(prod):
    methods = [m["Properties"] for m in prod.resources("api", "AWS::ApiGateway::Method").values()
               if m["Properties"]["HttpMethod"] != "OPTIONS"]  # fmt: skip
    assert len(methods) == len(ROUTES)
    admin = sum(1 for r in ROUTES if r.admin)
    assert sum(1 for m in methods if m.get("AuthorizationType") == "AWS_IAM") == admin
    assert all(m.get("ApiKeyRequired") for m in methods if m.get("AuthorizationType") != "AWS_IAM")
    prod.templates["api"].resource_count_is("AWS::ApiGateway::UsagePlan", 1)
    stage = next(iter(prod.resources("api", "AWS::ApiGateway::Stage").values()))["Properties"]
    assert stage["TracingEnabled"] is True
    assert "AccessLogSetting" in stage


def test_encryption_everywhere(prod):
    for bucket in prod.resources("data", "AWS::S3::Bucket").values():
        assert "BucketEncryption" in bucket["Properties"]
        assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    tables = prod.resources("data", "AWS::DynamoDB::GlobalTable")
    assert len(tables) == len(TABLES)
    for table in tables.values():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
        replica = table["Properties"]["Replicas"][0]
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    for topic in prod.resources("pipeline", "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]


def test_cdk_nag_reports_nothing_unacknowledged(prod, dev):
    for synth in (prod, dev):
        report = synth.outdir / "validation-report.json"
        if report.exists():
            violations = json.loads(report.read_text())["pluginReports"][0].get("violations", [])
            assert violations == []


def test_cfn_lint_finds_no_errors(prod, dev):
    templates = [str(p) for s in (prod, dev) for p in s.outdir.glob("*.template.json")]
    result = subprocess.run([sys.executable, "-m", "cfnlint", "--format", "parseable", *templates],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    errors = [
        line for line in result.stdout.splitlines() if ":E" in line.split(" ")[0] or ":E" in line
    ]
    assert errors == [], "\n".join(errors)


def test_cdk_cli_synthesizes_without_aws_credentials_or_docker(tmp_path):
    """``npx cdk synth`` as a user runs it: pinned CLI, its own HOME, no AWS keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"HOME": str(tmp_path), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
                "CDK_DISABLE_VERSION_CHECK": "1"})  # fmt: skip
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "-q", "--no-notices", "-o", str(tmp_path / "out")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(list((tmp_path / "out").glob("*.template.json"))) == 5
