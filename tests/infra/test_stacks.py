"""What the CDK app promises: least privilege, scaling, safe deployments, the pipeline's order,
API keys, encryption, alarms and a clean cdk-nag report."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lambdas.config import BATCH_BUCKET_ENV, ENDPOINT_NAME_ENV
from lambdas.logic.metrics import FALLBACKS
from lambdas.routes import BANDIT_REFRESH, FUNCTIONS, LOADER, ROUTES
from lambdas.store.tables import TABLES
from tests.conftest import REPO_ROOT
from training.pipeline.steps import step_names

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


def test_only_the_functions_that_invoke_the_endpoint_may_and_only_this_one(prod):
    found = {}
    for name, statements in _statements(prod, "api").items():
        for statement in statements:
            if "sagemaker:InvokeEndpoint" in _actions(statement):
                found[name] = statement["Resource"]
    invokers = [fn.name for fn in FUNCTIONS if fn.invokes_endpoint]
    assert "onboarding" in invokers
    assert sorted(found) == sorted(
        next(p for p in _statements(prod, "api") if p.startswith(f"Fn{name}ServiceRole"))
        for name in invokers
    )
    for resource in found.values():
        assert json.dumps(resource).count(":endpoint/") == 1
        assert ":endpoint/musicrec-prod-onboarding" in json.dumps(resource)


WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem"}  # fmt: skip
READS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}


@pytest.mark.parametrize("fn", [*FUNCTIONS, LOADER, BANDIT_REFRESH], ids=lambda f: f.name)
def test_functions_touch_only_their_tables_with_their_access(prod, fn):
    stack = "pipeline" if fn is LOADER else "api"
    policy = next(
        v
        for k, v in _statements(prod, stack).items()
        if k.startswith(f"Fn{fn.name.replace('-', '')}")
    )
    dynamo = [s for s in policy if any(a.startswith("dynamodb:") for a in _actions(s))]
    for spec in TABLES:
        actions = {a for s in dynamo if f"Table{spec.name}" in json.dumps(s["Resource"])
                   for a in _actions(s)}  # fmt: skip
        access = fn.tables.get(spec.name)
        assert bool(actions) == (access is not None), (fn.name, spec.name)
        assert bool(actions & WRITES) == (access in ("write", "readwrite")), (fn.name, spec.name)
        assert bool(actions & READS) == (access in ("read", "readwrite")), (fn.name, spec.name)
    assert not [a for s in dynamo for a in _actions(s) if "*" in a]  # no wildcard actions
    invokes = [s for s in policy if "sagemaker:InvokeEndpoint" in _actions(s)]
    assert bool(invokes) == fn.invokes_endpoint
    reads_bucket = [s for s in policy if "s3:GetObject*" in _actions(s)]
    assert bool(reads_bucket) == fn.reads_batch_bucket
    puts = [s for s in policy if any(a.startswith("s3:Put") for a in _actions(s))]
    if fn is LOADER:  # the record step writes each run's record, under the runs prefix only
        assert [_actions(s) for s in puts] == [["s3:PutObject"]]
        assert json.dumps(puts[0]["Resource"]).endswith('/runs/*"]]}')
    else:
        assert not puts
    functions = prod.resources(stack, "AWS::Lambda::Function")
    function = next(
        v["Properties"]
        for k, v in functions.items()
        if k.startswith(f"Fn{fn.name.replace('-', '')}")
    )
    env = function["Environment"]["Variables"]
    assert (BATCH_BUCKET_ENV in env) == (fn.reads_batch_bucket or fn.reads_operations)
    assert (ENDPOINT_NAME_ENV in env) == fn.invokes_endpoint
    assert {t.env_var for t in TABLES if t.env_var in env} == {
        t.env_var for t in TABLES if t.name in fn.tables
    }


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


def _order(definition: dict) -> list[str]:
    """The states of a successful run, in order (a Choice's first rule is its way on)."""
    order, state = [], definition["StartAt"]
    while state and state not in order:
        order.append(state)
        node = definition["States"][state]
        choices: list[dict] = node.get("Choices", [])
        state = node.get("Next") or (choices[0]["Next"] if choices else None)
    return order


def test_the_pipelines_endpoint_update_is_guarded_by_the_same_alarms(prod):
    update = _definition(prod)["States"]["update-endpoint-canary"]["Parameters"]
    assert update["EndpointName"] == "musicrec-prod-onboarding"
    config = update["DeploymentConfig"]
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY"
    endpoint = next(iter(prod.resources("model", "AWS::SageMaker::Endpoint").values()))
    guarded = endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert len(config["AutoRollbackConfiguration"]["Alarms"]) == len(guarded) == 2
    machine = prod.json["pipeline"]["Resources"]
    alarm_refs = json.dumps(machine)
    for alarm in prod.resources("model", "AWS::CloudWatch::Alarm"):
        assert alarm in alarm_refs  # the alarm names come from the model stack's alarms


def test_state_machine_runs_the_step_list_in_order_and_a_schedule_starts_it(prod):
    definition = _definition(prod)
    order = _order(definition)
    assert [s for s in order if s in step_names()] == list(step_names())
    assert order[-1] == "switch"
    # the training job's failure is recorded first; a failed record does not stop the run
    recorded = {"train": ["train-record-failure"], "train-record": ["create-model"]}
    for name in order:  # every task of the run notifies the topic when it fails
        state = definition["States"][name]
        if state["Type"] in ("Pass", "Wait", "Choice"):  # these states take no Catch
            continue
        expected = recorded.get(name, ["notify-failure"])
        assert [c["Next"] for c in state.get("Catch", [])] == expected, name
    load = definition["States"]["load"]
    assert load["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert "$$.Execution.Name" in load["ItemReader"]["Parameters"]["Prefix.$"]  # this run's files
    batch = definition["States"]["batch-score"]["Parameters"]
    assert batch["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 4
    assert "'--shard', 'sagemaker'" in batch["AppSpecification"]["ContainerArguments.$"]
    assert definition["States"]["merge"]["Type"] == "Task"
    prod.templates["pipeline"].has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "cron(0 3 * * ? *)"})  # fmt: skip


def test_one_processing_instance_has_no_shards_to_merge(dev):
    definition = _definition(dev)
    batch = definition["States"]["batch-score"]["Parameters"]["ProcessingResources"]
    assert batch["ClusterConfig"]["InstanceCount"] == 1
    assert definition["States"]["merge"]["Type"] == "Pass"
    assert [s for s in _order(definition) if s in step_names()] == list(step_names())


def test_training_job_channels_are_the_ones_the_train_entrypoint_reads(prod, tmp_path):
    """Lay out /opt/ml as the training job will: the entrypoint must find its channels."""
    from training.pipeline.sagemaker_train import run

    job = _definition(prod)["States"]["train"]["Parameters"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in job["InputDataConfig"]}  # fmt: skip
    assert channels["baseline"].endswith("/models/current/model.tar.gz")
    for name in channels:
        (tmp_path / "input" / "data" / name).mkdir(parents=True)
    assert run(tmp_path, progress=False) == 2  # an empty dataset, not a missing channel
    failure = (tmp_path / "output" / "failure").read_text()
    assert "not a valid dataset" in failure, failure


def test_accepted_model_becomes_the_next_runs_baseline_once_the_endpoint_serves_it(prod):
    """Promoted (copied to models/current) only on the way out of the canary's check, when the
    endpoint is InService on this run's configuration: a rolled-back model never is."""
    definition = _definition(prod)
    order = _order(definition)
    states = definition["States"]
    promote = states["update-endpoint-promote"]
    assert order.index("create-model") < order.index("update-endpoint-canary")
    assert order.index("update-endpoint-check") + 1 == order.index("update-endpoint-promote")
    # then batch scoring, from its read of the active version (the batch gate's reference)
    assert order.index("update-endpoint-promote") + 1 == order.index("batch-score-active")
    into = [
        name
        for name, state in states.items()
        if state.get("Next") == "update-endpoint-promote"
        or any(c.get("Next") == "update-endpoint-promote" for c in state.get("Choices", []))
    ]
    assert into == ["update-endpoint-check"]
    (rule,) = [c for c in states["update-endpoint-check"]["Choices"]
               if c["Next"] == "update-endpoint-promote"]  # fmt: skip
    assert rule["And"] == [
        {"Variable": "$.described.EndpointStatus", "StringEquals": "InService"},
        {"Variable": "$.described.EndpointConfigName",
         "StringEqualsPath": "$.rollout.Config"},
    ]  # fmt: skip
    run_config = states["update-endpoint-canary"]["Parameters"]["EndpointConfigName.$"]
    assert states["update-endpoint-watch"]["Parameters"]["Config.$"] == run_config
    assert promote["Resource"].endswith(":s3:copyObject")
    assert promote["Parameters"]["Key"] == "models/current/model.tar.gz"
    job = definition["States"]["train"]["Parameters"]
    assert job["OutputDataConfig"]["S3OutputPath"].endswith("/models/")
    assert (
        "/models/musicrec-prod-train-{}/output/model.tar.gz"
        in (promote["Parameters"]["CopySource.$"])
    )
    assert "musicrec-prod-train-{}" in job["TrainingJobName.$"]


def test_failures_reach_the_alarm_email_when_one_is_set(prod, dev):
    prod.templates["pipeline"].has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    dev.templates["pipeline"].resource_count_is("AWS::SNS::Subscription", 0)
    topic = next(iter(prod.resources("pipeline", "AWS::SNS::Topic")))
    alarms = prod.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    assert alarms
    for alarm in alarms:
        assert topic in json.dumps(alarm["Properties"]["AlarmActions"])
    # the model's rollback alarms (in the model stack) reach the topic through a composite one
    (rollback,) = prod.resources("monitoring", "AWS::CloudWatch::CompositeAlarm").values()
    assert topic in json.dumps(rollback["Properties"]["AlarmActions"])
    rule = json.dumps(rollback["Properties"]["AlarmRule"])
    assert rule.count("ALARM(") == len(prod.resources("model", "AWS::CloudWatch::Alarm")) == 2
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    key = next(iter(prod.resources("pipeline", "AWS::KMS::Key").values()))
    assert any(st["Principal"] == cloudwatch and "kms:GenerateDataKey*" in _actions(st)
               for st in key["Properties"]["KeyPolicy"]["Statement"])  # fmt: skip
    policy = next(iter(prod.resources("pipeline", "AWS::SNS::TopicPolicy").values()))
    assert any(st["Effect"] == "Allow" and st["Principal"] == cloudwatch
               for st in policy["Properties"]["PolicyDocument"]["Statement"])  # fmt: skip


def test_every_app_route_needs_an_api_key_and_admin_routes_none(prod):
    methods = [m["Properties"] for m in prod.resources("api", "AWS::ApiGateway::Method").values()
               if m["Properties"]["HttpMethod"] != "OPTIONS"]  # fmt: skip
    assert len(methods) == len(ROUTES)
    iam = sum(1 for r in ROUTES if r.admin and r.operator_auth == "iam")
    assert sum(1 for m in methods if m.get("AuthorizationType") == "AWS_IAM") == iam
    assert sum(1 for m in methods if m.get("ApiKeyRequired")) == sum(
        1 for r in ROUTES if not r.admin
    )
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


def test_buckets_are_versioned_tls_only_with_lifecycle_and_tables_on_demand_with_ttl(prod):
    buckets = prod.resources("data", "AWS::S3::Bucket")
    for bucket in buckets.values():
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    policies = prod.resources("data", "AWS::S3::BucketPolicy").values()
    tls_only = [p["Properties"]["Bucket"]["Ref"] for p in policies
                if any(st["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(st)
                       for st in p["Properties"]["PolicyDocument"]["Statement"])]  # fmt: skip
    assert sorted(tls_only) == sorted(buckets)
    by_name = {t["Properties"]["TableName"]: t["Properties"]
               for t in prod.resources("data", "AWS::DynamoDB::GlobalTable").values()}  # fmt: skip
    for spec in TABLES:
        table = by_name[spec.physical_name("musicrec-prod")]
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        ttl = table.get("TimeToLiveSpecification")
        if spec.ttl_attribute:
            assert ttl == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert ttl is None


def test_cdk_nag_finds_nothing_unacknowledged(prod, dev, server_mode):
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    for synth in (prod, dev, server_mode):
        assert "console" in synth.json
        report = AwsSolutionsChecks(cdk.App()).validate_scope(synth.app)
        assert report.success, [(v.rule_name, v.violating_resources) for v in report.violations]


def test_every_nag_acknowledgement_names_a_resource_and_a_reason(prod):
    import aws_cdk as cdk

    found = []
    for node in prod.app.node.find_all():
        for entry in node.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in entry.data.items():
                    if rule.removeprefix("Annotation::").startswith("AwsSolutions-"):
                        found.append((node.node.path, rule, reason))
    assert found
    for path, rule, reason in found:
        assert path.count("/") >= 1, (path, rule)  # a construct inside a stack, never a stack
        assert len(reason.split()) >= 6, (path, rule, reason)


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
    assert len(list((tmp_path / "out").glob("*.template.json"))) == 6  # dev: no network stack


def test_each_fallback_rate_has_an_alarm_on_the_metrics_its_function_emits(prod):
    """Each alarm divides the fallback metric by every answer that could have fallen back, under
    the dimension its function emits them with (lambdas.logic.metrics.FALLBACKS, which the
    console reads too; tests/lambdas/api/test_home.py checks the function's side)."""
    alarms = [
        a["Properties"] for a in prod.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    ]
    for name, (fallback, total, dims) in FALLBACKS.items():
        (alarm,) = [a for a in alarms if fallback in _metric_names(a)]
        assert _metric_names(alarm) == {fallback, *total}
        stats = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
        assert all(m["Namespace"] == "musicrec" for m in stats)
        assert all(m["Dimensions"] == [{"Name": k, "Value": v} for k, v in dims] for m in stats)
        (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
        assert expression.startswith(f"100 * {name}_fallback / (")
        assert expression.count("+") == len(total)  # every answer metric, and the epsilon
        assert alarm["Threshold"] == 5


def _metric_names(alarm: dict) -> set[str]:
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", [])
            if "MetricStat" in m}  # fmt: skip
