"""What the console's function reads about the running system, least privilege: CloudWatch metrics
(``reads_metrics``: the API's and our functions' time series), and the retraining schedule, the
endpoint with its configurations and the pipeline's run records (``reads_operations``); and the
environment naming them (``lambdas.config.AdminSettings``).

Every name is built from the settings (as the Pipeline and Model stacks name these resources), so
the API stack takes no reference to the Pipeline stack: the one exception is the endpoint's first
configuration, which CloudFormation names (the Model stack's, passed in).

A further read for the console goes in ``operations_statements`` (its action on its resource,
never ``*`` where the service has resource-level permissions), with its name in
``operations_environment`` when the function needs one; in the private network (prod) its
service needs an interface endpoint too (``infra/network_stack.py``: ``CONSOLE_ENDPOINTS``).
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from infra.config import Settings
from infra.nag import XRAY, acknowledge_all
from lambdas.config import (
    API_NAME_ENV,
    API_STAGE_ENV,
    BATCH_BUCKET_ENV,
    RETRAIN_SCHEDULE_ENV,
    RUNS_PREFIX_ENV,
    SCHEDULE_GROUP_ENV,
    STATE_MACHINE_ENV,
    AdminSettings,
)
from lambdas.routes import Function

# The pipeline's schedule is in EventBridge Scheduler's default group (infra/pipeline_stack.py).
SCHEDULE_GROUP = "default"
# Where the training step records each run, in the data bucket.
RUNS_PREFIX = AdminSettings().runs_prefix
METRICS = (
    "CloudWatch's GetMetricData takes no resource but * (CloudWatch has no resource-level "
    "permissions for reading metrics)"
)


def _arn(service: str, resource: str) -> str:
    """An ARN in this stack's account and region (pseudo parameters, no reference)."""
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def schedule_arn(settings: Settings) -> str:
    """The retraining schedule's ARN (EventBridge Scheduler: ``schedule/<group>/<name>``)."""
    return _arn("scheduler", f"schedule/{SCHEDULE_GROUP}/{settings.retrain_name}")


def state_machine_arn(settings: Settings) -> str:
    """The retraining state machine's ARN."""
    return _arn("states", f"stateMachine:{settings.retrain_name}")


def run_configs_arn(settings: Settings) -> str:
    """The endpoint configurations the pipeline creates, one per run (``<prefix>-<md5>``)."""
    return _arn("sagemaker", f"endpoint-config/{settings.prefix}-*")


def operations_environment(settings: Settings, fn: Function) -> dict[str, str]:
    """What the function reads from its environment for its metrics and operations flags."""
    env: dict[str, str] = {}
    if fn.reads_metrics:
        env.update({API_NAME_ENV: settings.api_name, API_STAGE_ENV: settings.env})
    if fn.reads_operations:
        env.update(
            {
                RETRAIN_SCHEDULE_ENV: settings.retrain_name,
                SCHEDULE_GROUP_ENV: SCHEDULE_GROUP,
                STATE_MACHINE_ENV: state_machine_arn(settings),
                RUNS_PREFIX_ENV: RUNS_PREFIX,
                BATCH_BUCKET_ENV: settings.data_bucket_name,
            }
        )
    return env


def operations_statements(
    settings: Settings, bucket: s3.IBucket, endpoint_arn: str, initial_config_arn: str
) -> list[iam.PolicyStatement]:
    """``reads_operations``: the schedule (its next run), the endpoint and its configurations
    (the serving model), and the run records under ``runs/`` of the data bucket."""
    return [
        iam.PolicyStatement(actions=["scheduler:GetSchedule"], resources=[schedule_arn(settings)]),
        iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint"], resources=[endpoint_arn]),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpointConfig"],
            resources=[run_configs_arn(settings), initial_config_arn],
        ),
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [RUNS_PREFIX, f"{RUNS_PREFIX}*"]}},
        ),
        iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{RUNS_PREFIX}*")]
        ),
    ]


def grant_operations(
    handler: lambda_.Function,
    settings: Settings,
    fn: Function,
    bucket: s3.IBucket,
    endpoint_arn: str,
    initial_config_arn: str,
) -> None:
    """The grants of ``fn``'s metrics and operations flags, and their cdk-nag findings."""
    if fn.reads_metrics:
        handler.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"])
        )
    if fn.reads_operations:
        for statement in operations_statements(settings, bucket, endpoint_arn, initial_config_arn):
            handler.add_to_role_policy(statement)
        acknowledge_all(handler, operations_findings(settings))


def wildcard_reason(fn: Function) -> str:
    """Why the function's role has statements on ``*``: X-Ray, and GetMetricData."""
    return f"{XRAY}; {METRICS}" if fn.reads_metrics else XRAY


def operations_findings(settings: Settings) -> dict[str, str]:
    """cdk-nag's wildcard findings of ``operations_statements``, with their reasons."""
    bucket = settings.data_bucket_name.replace(Aws.ACCOUNT_ID, "<AWS::AccountId>").replace(
        Aws.REGION, "<AWS::Region>"
    )  # as cdk-nag prints the pseudo parameters
    sagemaker = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
    return {
        f"AwsSolutions-IAM5[Resource::{sagemaker}:endpoint-config/{settings.prefix}-*]": "The "
        "pipeline names each run's endpoint configuration under this prefix; the console reads "
        "the one the endpoint serves",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/{RUNS_PREFIX}*]": "The "
        "training step records each run under runs/ (one object per run, named at run time)",
    }
