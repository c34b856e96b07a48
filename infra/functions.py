"""Our Lambda functions: one factory for every function of the route table and the loader. Each
gets the shared asset and runtime, its own log group, the environment it reads, exactly the access
the route table grants it (the console's metrics and operations reads: infra/operations.py) and
the cdk-nag acknowledgements every function shares."""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.bundling import lambda_code
from infra.config import Settings
from infra.nag import LOG_GROUP_CHECKS, XRAY, acknowledge, skip_checkov
from infra.network_stack import NetworkStack
from infra.operations import grant_operations, operations_environment, wildcard_reason
from lambdas.config import (
    ACCESS_MODE_ENV,
    BATCH_BUCKET_ENV,
    DEFAULT_LISTENER_CLAIM,
    ENDPOINT_NAME_ENV,
    EVENT_MAX_AGE_DAYS_ENV,
    LISTENER_CLAIM_ENV,
)
from lambdas.routes import FUNCTIONS, SCHEDULED, Function
from lambdas.store.tables import TABLES, TableName

RUNTIME = lambda_.Runtime.PYTHON_3_12
POWERTOOLS_ENV = {"POWERTOOLS_SERVICE_NAME": "musicrec", "POWERTOOLS_METRICS_NAMESPACE": "musicrec"}
# checkov's findings every one of our functions has, with their reasons.
FUNCTION_CHECKS = {
    "CKV_AWS_115": "No reserved concurrency: it would come out of the account's unreserved pool, "
    "and the load is bounded upstream (the usage plan's throttling, the Distributed Map's "
    "MaxConcurrency)",
    "CKV_AWS_116": "Invoked synchronously only (API Gateway, Step Functions), where a dead-letter "
    "queue never receives anything: failures go back to the caller or the state's catch",
    "CKV_AWS_173": "The environment holds resource names and Powertools settings, no secret; "
    "Lambda encrypts it at rest with its service key",
}
# The same findings of a function EventBridge invokes on a schedule (asynchronously).
SCHEDULED_CHECKS = {
    "CKV_AWS_115": "No reserved concurrency: it would come out of the account's unreserved pool; "
    "the schedule invokes it once a minute, and overlapping runs are harmless (a conditional "
    "write on the state's version)",
    "CKV_AWS_116": "Invoked by a schedule every minute: a failed run changes nothing and the next "
    "run folds what it would have (from the watermark), so a dead-letter queue would hold "
    "nothing worth replaying",
}
# The same finding of the presets without a VPC (``vpc``: in prod the functions are in one).
OUTSIDE_VPC_CHECKS = {
    "CKV_AWS_117": "Calls AWS APIs only (DynamoDB, SageMaker, S3, CloudWatch, EventBridge "
    "Scheduler), under IAM: this "
    "preset has no VPC (vpc=false), the prod preset puts the functions in one",
}
VPC_ACCESS_POLICY = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
)
# The alias API Gateway invokes when the functions use SnapStart (a published version).
ALIAS = "live"


def make_function(
    scope: Construct,
    settings: Settings,
    fn: Function,
    tables: dict[TableName, dynamodb.TableV2],
    endpoint_arn: str,
    batch_bucket: s3.IBucket | None = None,
    network: NetworkStack | None = None,
    snapstart: bool = False,
    endpoint_config_arn: str | None = None,
) -> lambda_.Function:
    """One Lambda of the route table (or the loader), least privilege; in ``network``'s isolated
    subnets when given, with SnapStart on its published versions when ``snapstart``.
    ``endpoint_config_arn``: the endpoint's first configuration, for ``reads_operations``."""
    if (fn.reads_batch_bucket or fn.reads_operations) and batch_bucket is None:
        raise ValueError(f"function {fn.name} reads the batch bucket: pass it")
    if fn.reads_operations and endpoint_config_arn is None:
        raise ValueError(f"function {fn.name} reads the endpoint's configuration: pass it")
    handler = _create_function(scope, settings, fn, network, snapstart)
    grant_tables(fn, handler, tables)
    if fn.reads_batch_bucket and batch_bucket is not None:
        _grant_batch_bucket(handler, batch_bucket)
    if fn.invokes_endpoint:
        _grant_endpoint(handler, endpoint_arn)
    if batch_bucket is not None:
        grant_operations(
            handler, settings, fn, batch_bucket, endpoint_arn, endpoint_config_arn or ""
        )
    scheduled = any(fn is other for other, _ in SCHEDULED)
    acknowledge_lambda(
        handler, in_vpc=network is not None, scheduled=scheduled, wildcard=wildcard_reason(fn)
    )
    return handler


def live_alias(scope: Construct, handler: lambda_.Function) -> lambda_.Alias:
    """The alias on the function's latest published version (SnapStart restores published
    versions only, never $LATEST): what API Gateway invokes."""
    Annotations.of(handler).acknowledge_warning(
        "@aws-cdk/aws-lambda:snapStartRequirePublish",
        "Published: the alias API Gateway invokes is on the function's current version",
    )
    return lambda_.Alias(
        scope,
        f"{handler.node.id}-{ALIAS}",
        alias_name=ALIAS,
        version=handler.current_version,
    )


def function_environment(settings: Settings, fn: Function) -> dict[str, str]:
    """What a function reads from its environment: its tables, the endpoint, the API's access
    model (the route table's functions), what the console reads, Powertools."""
    env = {
        spec.env_var: spec.physical_name(settings.prefix)
        for spec in TABLES
        if spec.name in fn.tables
    }
    if fn.invokes_endpoint:
        env[ENDPOINT_NAME_ENV] = settings.endpoint_name
    if fn in FUNCTIONS:
        env.update(access_environment(settings))
    env.update(operations_environment(settings, fn))
    env.update(POWERTOOLS_ENV)
    return env


def access_environment(settings: Settings) -> dict[str, str]:
    """Who may call the API and for whom, as every API function reads it: the access mode, the
    ID-token claim naming the listener a call acts for (the user pool's custom attribute,
    infra/access.py) and how old an event may be."""
    return {
        ACCESS_MODE_ENV: settings.api_access,
        LISTENER_CLAIM_ENV: DEFAULT_LISTENER_CLAIM,
        EVENT_MAX_AGE_DAYS_ENV: str(settings.event_max_age_days),
    }


def grant_tables(
    fn: Function, handler: lambda_.IFunction, tables: dict[TableName, dynamodb.TableV2]
) -> None:
    """DynamoDB access on exactly the function's tables, read or write as the route table says."""
    for name, access in fn.tables.items():
        table = tables[name]
        if access == "read":
            table.grant_read_data(handler)
        elif access == "write":
            table.grant_write_data(handler)
        else:
            table.grant_read_write_data(handler)


def acknowledge_lambda(
    handler: lambda_.Function, in_vpc: bool = False, scheduled: bool = False, wildcard: str = XRAY
) -> None:
    """The cdk-nag and checkov findings every one of our functions has, with their reasons
    (``scheduled``: invoked by a schedule, not by API Gateway or Step Functions; ``wildcard``:
    why its role has statements on ``*``)."""
    acknowledge(handler, "AwsSolutions-IAM5[Resource::*]", wildcard)
    acknowledge(
        handler,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "The AWS-managed basic execution policy only lets the function write its own logs",
    )
    acknowledge(
        handler,
        "AwsSolutions-L1",
        "The design pins python3.12 (the container image's Python); upgrades are deliberate",
    )
    if in_vpc:
        acknowledge(
            handler,
            f"AwsSolutions-IAM4[Policy::{VPC_ACCESS_POLICY}]",
            "The AWS-managed VPC access policy only lets Lambda manage the function's network "
            "interfaces in the VPC (and write its logs)",
        )
    checks = {**FUNCTION_CHECKS, **(SCHEDULED_CHECKS if scheduled else {})}
    skip_checkov(handler, checks if in_vpc else {**checks, **OUTSIDE_VPC_CHECKS})


def _create_function(
    scope: Construct,
    settings: Settings,
    fn: Function,
    network: NetworkStack | None = None,
    snapstart: bool = False,
) -> lambda_.Function:
    """The function itself (arm64, traced) and its log group, with no access yet."""
    log_group = logs.LogGroup(scope, f"Logs-{fn.name}", retention=settings.log_retention)
    skip_checkov(log_group, LOG_GROUP_CHECKS)
    options: dict[str, object] = {}
    if network is not None:
        options = {
            "vpc": network.vpc,
            "vpc_subnets": network.subnets,
            "security_groups": [network.functions_sg],
        }
    if snapstart:
        options["snap_start"] = lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS
        # a replaced version goes (each kept version's snapshot is billed while it exists)
        options["current_version_options"] = lambda_.VersionOptions(
            removal_policy=RemovalPolicy.DESTROY
        )
    return lambda_.Function(
        scope,
        f"Fn-{fn.name}",
        function_name=f"{settings.prefix}-{fn.name}",
        description=fn.description,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=fn.handler,
        code=lambda_code(),
        memory_size=fn.memory_mb,
        timeout=Duration.seconds(fn.timeout_s),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        environment=function_environment(settings, fn),
        **options,  # type: ignore[arg-type]
    )


def _grant_batch_bucket(handler: lambda_.Function, batch_bucket: s3.IBucket) -> None:
    """Read access on the bucket of batch lists, and its name in the environment."""
    handler.add_environment(BATCH_BUCKET_ENV, batch_bucket.bucket_name)
    batch_bucket.grant_read(handler)


def _grant_endpoint(handler: lambda_.Function, endpoint_arn: str) -> None:
    """Invoking the model endpoint, and only this one."""
    handler.add_to_role_policy(
        iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn])
    )
