"""The API: a REST API built from the route table, one Lambda per function with exactly the
access the route table grants it, API keys with a usage plan, access logs and tracing."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.bundling import lambda_code
from infra.config import Settings
from infra.nag import XRAY, acknowledge
from lambdas.config import BATCH_BUCKET_ENV, ENDPOINT_NAME_ENV
from lambdas.routes import FUNCTIONS, ROUTES, Function
from lambdas.store.tables import TABLES, TableName

RUNTIME = lambda_.Runtime.PYTHON_3_12


def function_environment(settings: Settings, fn: Function) -> dict[str, str]:
    """What a function reads from its environment: its tables, the endpoint, Powertools."""
    env = {
        spec.env_var: spec.physical_name(settings.prefix)
        for spec in TABLES
        if spec.name in fn.tables
    }
    if fn.invokes_endpoint:
        env[ENDPOINT_NAME_ENV] = settings.endpoint_name
    env.update({"POWERTOOLS_SERVICE_NAME": "musicrec", "POWERTOOLS_METRICS_NAMESPACE": "musicrec"})
    return env


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


def make_function(
    scope: Construct,
    settings: Settings,
    fn: Function,
    tables: dict[TableName, dynamodb.TableV2],
    endpoint_arn: str,
    batch_bucket: s3.IBucket | None = None,
) -> lambda_.Function:
    """One Lambda of the route table (or the loader), least privilege."""
    if fn.reads_batch_bucket and batch_bucket is None:
        raise ValueError(f"function {fn.name} reads the batch bucket: pass it")
    retention = _retention(settings.log_retention_days)
    log_group = logs.LogGroup(scope, f"Logs-{fn.name}", retention=retention)
    handler = lambda_.Function(
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
    )
    grant_tables(fn, handler, tables)
    if fn.reads_batch_bucket and batch_bucket is not None:
        handler.add_environment(BATCH_BUCKET_ENV, batch_bucket.bucket_name)
        batch_bucket.grant_read(handler)
    if fn.invokes_endpoint:
        handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"],
                resources=[endpoint_arn],
            )
        )
    acknowledge_lambda(handler)
    return handler


RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def _retention(days: int) -> logs.RetentionDays:
    if days not in RETENTION:
        raise ValueError(f"log_retention_days={days}: use one of {sorted(RETENTION)}")
    return RETENTION[days]


def acknowledge_lambda(handler: lambda_.Function) -> None:
    acknowledge(handler, "AwsSolutions-IAM5[Resource::*]", XRAY)
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


class ApiStack(Stack):
    """REST API, functions, keys and usage plan."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: Settings,
        tables: dict[TableName, dynamodb.TableV2],
        endpoint_arn: str,
    ) -> None:
        super().__init__(scope, construct_id, description="musicrec HTTP API")
        self.functions = {
            fn.name: make_function(self, settings, fn, tables, endpoint_arn) for fn in FUNCTIONS
        }
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=_retention(settings.log_retention_days)
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{settings.prefix}-api",
            description="musicrec: onboarding, personal lists, similar songs and artists, events",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=settings.env,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                throttling_rate_limit=settings.throttle_rate,
                throttling_burst_limit=settings.throttle_burst,
            ),
        )
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        body_model = self.api.add_model(
            "JsonObject",
            content_type="application/json",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4, type=apigw.JsonSchemaType.OBJECT
            ),
        )
        integrations = {name: apigw.LambdaIntegration(fn) for name, fn in self.functions.items()}
        for route in ROUTES:
            resource = self.api.root.resource_for_path(route.path)
            params = {f"method.request.path.{p}": True for p in route.path_parameters}
            resource.add_method(
                route.method,
                integrations[route.function],
                api_key_required=not route.admin,
                authorization_type=apigw.AuthorizationType.IAM
                if route.admin
                else apigw.AuthorizationType.NONE,
                request_validator=validator,
                request_parameters=params or None,
                request_models={"application/json": body_model}
                if route.method in ("POST", "PUT")
                else None,
            )
        self.api_key = self.api.add_api_key("AppKey", api_key_name=f"{settings.prefix}-app")
        plan = self.api.add_usage_plan(
            "UsagePlan",
            name=f"{settings.prefix}-apps",
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.throttle_rate, burst_limit=settings.throttle_burst
            ),
        )
        plan.add_api_key(self.api_key)
        plan.add_api_stage(stage=self.api.deployment_stage)
        for finding, reason in {
            "AwsSolutions-APIG3": "WAF is the operator's choice per deployment; keys and throttling limit abuse",
            "AwsSolutions-APIG4": "App routes use API keys with a usage plan (apps have no AWS identity); the admin route uses IAM",
            "AwsSolutions-COG4": "No end-user pool: apps call with API keys, operators with IAM",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]": "API Gateway's account-level role for writing its logs uses the AWS-managed policy",
        }.items():
            acknowledge(self.api, finding, reason=reason)
