"""The API: a REST API built from the route table, one Lambda per function with exactly the
access the route table grants it, the access model (``api_access``: listeners' Cognito tokens or a
backend's IAM calls; on admin routes the operators' Cognito tokens for the console, IAM for the
others), API keys with a usage plan, a WAF web ACL (``waf``), access logs and tracing."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.access import ADMIN_ROUTE_FINDINGS, SERVER_FINDINGS, ListenerPool, method_authorization
from infra.config import Settings
from infra.functions import live_alias, make_function
from infra.nag import LOG_GROUP_CHECKS, acknowledge_all, bucket_findings, skip_checkov
from infra.network_stack import NetworkStack
from infra.operators import OperatorPool
from infra.waf import ApiFirewall
from lambdas.config import OPERATOR_ISSUER_ENV
from lambdas.routes import FUNCTIONS, ROUTES, SCHEDULED, Function, Route
from lambdas.store.tables import TableName

# cdk-nag findings of the REST API, with the reasons they are acceptable (COG4, a method without
# the Cognito authoriser: infra/access.py, on the admin route or, in server mode, the API).
API_FINDINGS = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]": "API Gateway's account-level role for writing its logs uses the AWS-managed policy",
}
# The same without a WAF (``waf``: off in dev).
NO_WAF_FINDINGS = {
    "AwsSolutions-APIG3": "waf=false in this preset (the web ACL costs a monthly fee per ACL and "
    "rule); every route needs a token or IAM and the app key, and the usage plan throttles; "
    "the prod preset has the WAF",
}
# checkov's findings on the API's stage, with the reasons they are acceptable.
STAGE_CHECKS = {
    "CKV_AWS_120": "No stage cache: answers are per listener or per request body (POST), so a "
    "cache would rarely hit, and it bills by the hour",
}
# Methods whose request body must be a JSON object.
BODY_METHODS = ("POST", "PUT")
# The data bucket's read grant (``reads_batch_bucket``), as cdk-nag names its wildcard actions.
BUCKET_READ = ("GetObject*", "GetBucket*", "List*")


class ApiStack(Stack):
    """REST API, functions, keys and usage plan; the functions the API's state needs on a
    schedule (the home bandit's refresh)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: Settings,
        tables: dict[TableName, dynamodb.TableV2],
        endpoint_arn: str,
        endpoint_config_arn: str,
        network: NetworkStack | None = None,
    ) -> None:
        """``endpoint_config_arn``: the endpoint's first configuration (the Model stack's), which
        the console's function may describe."""
        super().__init__(scope, construct_id, description="musicrec HTTP API")
        bucket = s3.Bucket.from_bucket_name(self, "DataBucket", settings.data_bucket_name)
        # the operators' user pool and its authoriser on the console's routes (every mode)
        self.operators = OperatorPool(self, "Operators", settings)
        self.functions = {
            fn.name: make_function(
                self, settings, fn, tables, endpoint_arn, bucket, network=network,
                snapstart=settings.snapstart, endpoint_config_arn=endpoint_config_arn,
            )
            for fn in FUNCTIONS
        }  # fmt: skip
        self._operator_functions(settings)
        # what API Gateway invokes: with SnapStart the alias on the latest published version
        self.targets: dict[str, lambda_.IFunction] = {
            name: live_alias(self, fn) if settings.snapstart else fn
            for name, fn in self.functions.items()
        }
        self.scheduled = {
            fn.name: self._scheduled(settings, fn, schedule, tables, endpoint_arn, network)
            for fn, schedule in SCHEDULED
        }
        self.api = self._rest_api(settings)
        # listener mode: the listeners' user pool and its authoriser on every app route
        self.listeners = (
            ListenerPool(self, "Listeners", settings) if settings.api_access == "listener" else None
        )
        self._add_routes()
        self.api_key = self._add_usage_plan(settings)
        acknowledge_all(self.api, API_FINDINGS)
        if self.listeners is None:
            acknowledge_all(self.api, SERVER_FINDINGS)
        self.firewall = (
            ApiFirewall(self, "Firewall", settings, self.api.deployment_stage)
            if settings.waf
            else None
        )
        if self.firewall is None:
            acknowledge_all(self.api, NO_WAF_FINDINGS)
        skip_checkov(self.api.deployment_stage, STAGE_CHECKS)

    def _operator_functions(self, settings: Settings) -> None:
        """What the functions of the console's routes need besides their grants: the operators'
        token issuer, and the reason of their read of the data bucket."""
        for fn in FUNCTIONS:
            handler = self.functions[fn.name]
            if any(r.operator_auth == "token" for r in ROUTES if r.admin and r.function == fn.name):
                handler.add_environment(OPERATOR_ISSUER_ENV, self.operators.issuer)
            if fn.reads_batch_bucket:
                why = "The console reads the training runs' records and the batch versions"
                acknowledge_all(
                    handler, bucket_findings(settings.data_bucket_name, BUCKET_READ, why)
                )

    def _scheduled(
        self,
        settings: Settings,
        fn: Function,
        schedule: str,
        tables: dict[TableName, dynamodb.TableV2],
        endpoint_arn: str,
        network: NetworkStack | None,
    ) -> lambda_.Function:
        """A function EventBridge invokes on ``schedule`` (no retry: the next run catches up)."""
        handler = make_function(self, settings, fn, tables, endpoint_arn, network=network)
        events.Rule(
            self,
            f"Schedule-{fn.name}",
            description=f"{settings.prefix}: {fn.description}",
            schedule=events.Schedule.expression(schedule),
            targets=[targets.LambdaFunction(handler, retry_attempts=0)],
        )
        return handler

    def _rest_api(self, settings: Settings) -> apigw.RestApi:
        """The regional REST API and its stage: tracing, metrics, access logs, throttling."""
        access_logs = logs.LogGroup(self, "AccessLogs", retention=settings.log_retention)
        skip_checkov(access_logs, LOG_GROUP_CHECKS)
        return apigw.RestApi(
            self,
            "Api",
            rest_api_name=settings.api_name,
            description="musicrec: onboarding, personal lists, similar songs and artists, events",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=settings.env,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
                throttling_rate_limit=settings.throttle_rate,
                throttling_burst_limit=settings.throttle_burst,
            ),
        )

    def _add_routes(self) -> None:
        """One method per route of the route table, validated, on its function."""
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
        integrations = {name: apigw.LambdaIntegration(fn) for name, fn in self.targets.items()}
        for route in ROUTES:
            self._add_method(route, integrations[route.function], validator, body_model)

    def _add_method(
        self,
        route: Route,
        integration: apigw.LambdaIntegration,
        validator: apigw.RequestValidator,
        body_model: apigw.Model,
    ) -> None:
        """A route's method: app routes need the API key and a listener's token (or, in server
        mode, IAM); the console's admin routes an operator's token, the other admin routes IAM."""
        resource = self.api.root.resource_for_path(route.path)
        params = {f"method.request.path.{p}": True for p in route.path_parameters}
        method = resource.add_method(
            route.method,
            integration,
            api_key_required=not route.admin,
            request_validator=validator,
            request_parameters=params or None,
            request_models={"application/json": body_model}
            if route.method in BODY_METHODS
            else None,
            **method_authorization(route, self.listeners, self.operators.authorizer),  # type: ignore[arg-type]
        )
        if route.admin and route.operator_auth == "iam" and self.listeners is not None:
            acknowledge_all(method, ADMIN_ROUTE_FINDINGS)

    def _add_usage_plan(self, settings: Settings) -> apigw.IApiKey:
        """The apps' API key, throttled by a usage plan on the API's stage."""
        api_key = self.api.add_api_key("AppKey", api_key_name=f"{settings.prefix}-app")
        plan = self.api.add_usage_plan(
            "UsagePlan",
            name=f"{settings.prefix}-apps",
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.throttle_rate, burst_limit=settings.throttle_burst
            ),
        )
        plan.add_api_key(api_key)
        plan.add_api_stage(stage=self.api.deployment_stage)
        return api_key


def _access_log_format() -> apigw.AccessLogFormat:
    """JSON access logs with the standard fields, without the caller and user."""
    return apigw.AccessLogFormat.json_with_standard_fields(
        caller=False,
        http_method=True,
        ip=True,
        protocol=True,
        request_time=True,
        resource_path=True,
        response_length=True,
        status=True,
        user=False,
    )
