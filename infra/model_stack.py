"""The model: the container image as a Docker image asset, the SageMaker model, endpoint
configuration and endpoint (blue/green with canary traffic and automatic rollback on alarms),
target-tracking autoscaling on invocations per instance, or serverless inference."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, Stack
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.bundling import REPO_ROOT
from infra.config import Settings
from infra.nag import acknowledge, acknowledge_all, bucket_findings, skip_checkov
from infra.network_stack import SAGEMAKER_VPC_ACTIONS, NetworkStack

VARIANT = "AllTraffic"
INITIAL_MODEL_KEY = "models/initial/model.tar.gz"
# The image's build context: the Dockerfile and exactly what it copies (container/Dockerfile).
# Nothing else is in the context, so nothing else is in the asset's hash: editing README.md or
# cdk.json neither rebuilds the image nor replaces the endpoint's model on the next deploy.
IMAGE_CONTEXT = (
    "container/Dockerfile",
    "container/requirements.txt",
    "container/*.py",
    "training",
)
# As Docker ignore patterns (an allow-list): everything out, what the image needs back in, minus
# the bytecode a local run leaves beside the sources.
IMAGE_EXCLUDE = ["*", *(f"!{path}" for path in IMAGE_CONTEXT), "**/__pycache__", "**/*.pyc"]


# What SageMaker jobs and the endpoint write to CloudWatch, under names chosen at run time.
LOGS_AND_METRICS = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "cloudwatch:PutMetricData",
]
# The data bucket's read-write grant, as cdk-nag names its wildcard actions.
BUCKET_READ_WRITE = ("GetObject*", "GetBucket*", "List*", "DeleteObject*", "Abort*")


def image_asset(scope: Construct, directory: Path = REPO_ROOT) -> ecr_assets.DockerImageAsset:
    """The model image, built from ``directory`` (the repository root) with IMAGE_CONTEXT only."""
    return ecr_assets.DockerImageAsset(
        scope,
        "Image",
        directory=str(directory),
        file="container/Dockerfile",
        platform=ecr_assets.Platform.LINUX_AMD64,
        exclude=IMAGE_EXCLUDE,
        ignore_mode=IgnoreMode.DOCKER,
    )


class ModelStack(Stack):
    """Image, role, model, endpoint, scaling and the alarms that roll a deployment back."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: Settings,
        network: NetworkStack | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description="musicrec onboarding model endpoint")
        self.settings = settings
        bucket = s3.Bucket.from_bucket_name(self, "DataBucket", settings.data_bucket_name)
        self.image = image_asset(self)
        self.role = self._role(bucket)
        if network is not None:
            self._allow_vpc()
        skip_checkov(
            self.role.node.find_child("DefaultPolicy"),
            {
                "CKV_AWS_111": "SageMaker jobs and the endpoint create log groups and streams and "
                "publish metrics under names chosen at run time; PutMetricData takes no resource"
                + ("; in the VPC, SageMaker creates the network interfaces of jobs and endpoint "
                   "instances, named at run time" if network is not None else ""),
                **(
                    {
                        "CKV_AWS_109": "ec2:CreateNetworkInterfacePermission and its Delete: "
                        "SageMaker lets itself attach the interfaces it creates in the VPC for "
                        "the jobs and endpoint instances (SageMaker's documented VPC permissions)"
                    }
                    if network is not None
                    else {}
                ),
            },
        )  # fmt: skip
        vpc_config = (
            sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=network.sagemaker_vpc_config()["SecurityGroupIds"],
                subnets=network.sagemaker_vpc_config()["Subnets"],
            )
            if network is not None
            else None
        )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image.image_uri,
                model_data_url=bucket.s3_url_for_object(INITIAL_MODEL_KEY),
            ),
            # the server makes no call out; SageMaker fetches the image and model data itself
            enable_network_isolation=None if settings.serverless else True,
            vpc_config=vpc_config,
        )
        # CreateModel checks that the role can read the model data and pull the image: the
        # role's policy must exist first (CloudFormation only orders what depends on what)
        self.model.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        if settings.serverless:
            skip_checkov(
                self.model,
                {
                    "CKV_AWS_370": "Serverless inference (this preset) does not support network "
                    "isolation; the presets on instances enable it"
                },
            )
        self.endpoint_config = self._endpoint_config()
        # the rollback alarms; they notify the failure topic through the Monitoring stack's
        # composite alarm (ModelRollback: the topic is the Pipeline stack's, which depends on this)
        self.errors_alarm = self._errors_alarm()
        self.latency_alarm = self._latency_alarm()
        self._allow_rollback_alarms()
        self.endpoint = self._endpoint()
        self.endpoint_arn = self.format_arn(
            service="sagemaker", resource="endpoint", resource_name=settings.endpoint_name
        )
        if not settings.serverless and settings.autoscaling:
            self._autoscale()

    def _role(self, bucket: s3.IBucket) -> iam.Role:
        """The role of the jobs and the endpoint: pull the image, read and write the bucket,
        write logs and metrics."""
        role = iam.Role(
            self,
            "SageMakerRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker jobs and endpoint: read the image, read and write the data bucket",
        )
        self.image.repository.grant_pull(role)
        bucket.grant_read_write(role)
        acknowledge_all(
            role,
            bucket_findings(
                self.settings.data_bucket_name,
                BUCKET_READ_WRITE,
                "Training and processing jobs read datasets and write models and lists anywhere in "
                "the data bucket (keys are named per run)",
            ),
        )
        role.add_to_policy(iam.PolicyStatement(actions=LOGS_AND_METRICS, resources=["*"]))
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "SageMaker writes logs and metrics under names it chooses at run time",
        )
        return role

    def _allow_vpc(self) -> None:
        """SageMaker creates the network interfaces of the jobs and the endpoint's instances in
        the VPC with this role (SageMaker's documented list; EC2 names the interfaces at run
        time, so they take no narrower resource)."""
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(SAGEMAKER_VPC_ACTIONS), resources=["*"])
        )

    def _allow_rollback_alarms(self) -> None:
        """SageMaker watches the rollback alarms of a deployment (a stack update's, the
        pipeline's UpdateEndpoint) with the models' execution role, which must be allowed to
        read them: "Ensure that your IAM execution role has permission to perform the
        cloudwatch:DescribeAlarms action on the auto-rollback alarms" (SageMaker deployment
        guardrails, Auto-Rollback Configuration and Monitoring)."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:DescribeAlarms"],
                resources=[alarm.alarm_arn for alarm in (self.errors_alarm, self.latency_alarm)],
            )
        )

    def _endpoint_config(self) -> sagemaker.CfnEndpointConfig:
        """The first endpoint configuration, on the initial model (the pipeline makes others)."""
        config = sagemaker.CfnEndpointConfig(
            self, "EndpointConfig", production_variants=[self._production_variant()]
        )
        acknowledge(
            config,
            "AwsSolutions-SM2",
            "The endpoint holds no customer data at rest (a model of genre probabilities)",
        )
        return config

    def _production_variant(self) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        """The endpoint's one variant: serverless or on instances, as the settings say."""
        s = self.settings
        if s.serverless:
            return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT,
                model_name=self.model.attr_model_name,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    max_concurrency=s.serverless_max_concurrency,
                    memory_size_in_mb=s.serverless_memory_mb,
                ),
            )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT,
            model_name=self.model.attr_model_name,
            initial_instance_count=s.instance_count,
            instance_type=s.instance_type,
            initial_variant_weight=1.0,
        )

    def _errors_alarm(self) -> cloudwatch.Alarm:
        """Model errors (5xx): rolls back a deployment in progress."""
        return cloudwatch.Alarm(
            self,
            "Invocation5xx",
            metric=self._variant_metric("Invocation5XXErrors", "Sum"),
            threshold=5,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Model errors: rolls back a deployment in progress",
        )

    def _latency_alarm(self) -> cloudwatch.Alarm:
        """Model p99 latency over 100 ms: rolls back a deployment in progress."""
        return cloudwatch.Alarm(
            self,
            "ModelLatency",
            metric=self._variant_metric("ModelLatency", "p99"),
            threshold=100_000,  # microseconds: 100 ms
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Model p99 latency over 100 ms: rolls back a deployment in progress",
        )

    def _variant_metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        """A SageMaker metric of the endpoint's variant, per minute."""
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=name,
            dimensions_map={"EndpointName": self.settings.endpoint_name, "VariantName": VARIANT},
            period=Duration.minutes(1),
            statistic=statistic,
        )

    def _endpoint(self) -> sagemaker.CfnEndpoint:
        """The endpoint: blue/green updates with 10 % canary traffic, rolled back by the alarms."""
        rollback = [
            sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name)
            for alarm in (self.errors_alarm, self.latency_alarm)
        ]
        return sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.settings.endpoint_name,
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

    def _autoscale(self) -> None:
        """Instances between the settings' bounds, tracking invocations per instance."""
        s = self.settings
        target = autoscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{s.endpoint_name}/variant/{VARIANT}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=s.min_instances,
            max_capacity=s.max_instances,
        )
        target.node.add_dependency(self.endpoint)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=s.invocations_per_instance,
            predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )
