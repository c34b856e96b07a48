"""The model: the container image as a Docker image asset, the SageMaker model, endpoint
configuration and endpoint (blue/green with canary traffic and automatic rollback on alarms),
target-tracking autoscaling on invocations per instance, or serverless inference."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.bundling import REPO_ROOT
from infra.config import Settings
from infra.nag import acknowledge, acknowledge_all, bucket_findings

VARIANT = "AllTraffic"
INITIAL_MODEL_KEY = "models/initial/model.tar.gz"
# The image needs training/ and container/ only (see container/Dockerfile).
IMAGE_EXCLUDE = [
    ".*",
    "node_modules",
    "cdk.out",
    "docs",
    "tests",
    "bench",
    "lambdas",
    "local",
    "infra",
    "**/__pycache__",
    "*.egg-info",
]


class ModelStack(Stack):
    """Image, role, model, endpoint, scaling and the alarms that roll a deployment back."""

    def __init__(self, scope: Construct, construct_id: str, settings: Settings) -> None:
        super().__init__(scope, construct_id, description="musicrec onboarding model endpoint")
        bucket = s3.Bucket.from_bucket_name(self, "DataBucket", settings.data_bucket_name)
        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO_ROOT),
            file="container/Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=IMAGE_EXCLUDE,
        )
        self.role = iam.Role(
            self,
            "SageMakerRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker jobs and endpoint: read the image, read and write the data bucket",
        )
        self.image.repository.grant_pull(self.role)
        bucket.grant_read_write(self.role)
        acknowledge_all(
            self.role,
            bucket_findings(
                settings.data_bucket_name,
                ("GetObject*", "GetBucket*", "List*", "DeleteObject*", "Abort*"),
                "Training and processing jobs read datasets and write models and lists anywhere in "
                "the data bucket (keys are named per run)",
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "cloudwatch:PutMetricData",
                ],
                resources=["*"],
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "SageMaker writes logs and metrics under names it chooses at run time",
        )
        model_data = bucket.s3_url_for_object(INITIAL_MODEL_KEY)
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image.image_uri,
                model_data_url=model_data,
            ),
        )
        if settings.serverless:
            variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT,
                model_name=self.model.attr_model_name,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    max_concurrency=settings.serverless_max_concurrency,
                    memory_size_in_mb=settings.serverless_memory_mb,
                ),
            )
        else:
            variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT,
                model_name=self.model.attr_model_name,
                initial_instance_count=settings.instance_count,
                instance_type=settings.instance_type,
                initial_variant_weight=1.0,
            )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self, "EndpointConfig", production_variants=[variant]
        )
        acknowledge(
            self.endpoint_config,
            "AwsSolutions-SM2",
            "The endpoint holds no customer data at rest (a model of genre probabilities)",
        )
        self.errors_alarm = cloudwatch.Alarm(
            self,
            "Invocation5xx",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="Invocation5XXErrors",
                dimensions_map={"EndpointName": settings.endpoint_name, "VariantName": VARIANT},
                period=Duration.minutes(1),
                statistic="Sum",
            ),
            threshold=5,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Model errors: rolls back a deployment in progress",
        )
        self.latency_alarm = cloudwatch.Alarm(
            self,
            "ModelLatency",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="ModelLatency",
                dimensions_map={"EndpointName": settings.endpoint_name, "VariantName": VARIANT},
                period=Duration.minutes(1),
                statistic="p99",
            ),
            threshold=100_000,
            evaluation_periods=3,  # microseconds: 100 ms
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Model p99 latency over 100 ms: rolls back a deployment in progress",
        )
        rollback = [
            sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name)
            for alarm in (self.errors_alarm, self.latency_alarm)
        ]
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=settings.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                        type="CANARY",
                        canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                            type="CAPACITY_PERCENT", value=10
                        ),
                        wait_interval_in_seconds=300,
                    ),
                    termination_wait_in_seconds=300,
                    maximum_execution_timeout_in_seconds=3600,
                ),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=rollback
                ),
            ),
        )
        self.endpoint_arn = self.format_arn(
            service="sagemaker", resource="endpoint", resource_name=settings.endpoint_name
        )
        if not settings.serverless:
            target = autoscaling.ScalableTarget(
                self,
                "ScalableTarget",
                service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
                resource_id=f"endpoint/{settings.endpoint_name}/variant/{VARIANT}",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=settings.min_instances,
                max_capacity=settings.max_instances,
            )
            target.node.add_dependency(self.endpoint)
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                target_value=settings.invocations_per_instance,
                predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                scale_in_cooldown=Duration.minutes(5),
                scale_out_cooldown=Duration.minutes(1),
            )
