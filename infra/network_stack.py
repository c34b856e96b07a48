"""The private network of the presets with ``vpc`` (prod): a VPC of isolated subnets in two
availability zones, no NAT gateway and no internet gateway; AWS services through VPC endpoints.

What runs in it and what it reaches, all without the internet:

- the functions (API and loader): DynamoDB and S3 through gateway endpoints (free), the SageMaker
  runtime (onboarding's InvokeEndpoint) through an interface endpoint; the console's function
  also reads CloudWatch metrics, the retraining schedule and the endpoint's description through
  interface endpoints of their own (``CONSOLE_ENDPOINTS``). Their logs, metrics (EMF, in the
  logs) and X-Ray segments leave through the Lambda service, not the function's network.
- the endpoint's model and the pipeline's training and processing jobs: their S3 channels,
  inputs and outputs through the S3 gateway endpoint. SageMaker itself pulls the image from ECR
  (``RepositoryAccessMode`` ``Platform``, the default), writes the containers' logs and metrics,
  and the state machine calls the SageMaker API from outside the VPC: no ECR, CloudWatch Logs or
  STS endpoints. The tables use AWS owned/managed keys and the bucket SSE-S3:
  no KMS endpoint (the services call KMS themselves).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import Settings
from infra.nag import LOG_GROUP_CHECKS, skip_checkov, skip_checkov_on_cdk_provider

AZS = 2
HTTPS = 443
# What the console's function calls besides the tables and the bucket (infra/operations.py):
# GetMetricData, the schedule's GetSchedule, DescribeEndpoint and DescribeEndpointConfig.
CONSOLE_ENDPOINTS = {
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Scheduler": ec2.InterfaceVpcEndpointAwsService("scheduler"),
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
}
# The interface endpoints (billed per AZ-hour, docs/deploy.md), by construct id.
INTERFACE_ENDPOINTS = {
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    **CONSOLE_ENDPOINTS,
}
# The gateway endpoints (free), by construct id.
GATEWAY_ENDPOINTS = {
    "S3": ec2.GatewayVpcEndpointAwsService.S3,
    "DynamoDB": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}

# What a SageMaker execution role needs when a job or model has a VpcConfig: SageMaker creates
# the network interfaces in the subnets with the role ("CreateTrainingJob API: Execution Role
# Permissions", and the same list for CreateProcessingJob and CreateModel, in the SageMaker
# developer guide, https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html).
SAGEMAKER_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)


class NetworkStack(Stack):
    """VPC, endpoints and the security groups of the functions and of SageMaker."""

    def __init__(self, scope: Construct, construct_id: str, settings: Settings) -> None:
        super().__init__(scope, construct_id, description="musicrec private network")
        self.settings = settings
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=AZS,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                name: ec2.GatewayVpcEndpointOptions(service=service)
                for name, service in GATEWAY_ENDPOINTS.items()
            },
        )
        self._flow_logs()
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.subnet_ids = self.vpc.select_subnets(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
        ).subnet_ids
        self.functions_sg = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description="musicrec functions: out to the VPC endpoints only (no other route)",
            allow_all_outbound=True,
        )
        self.sagemaker_sg = ec2.SecurityGroup(
            self,
            "SageMaker",
            vpc=self.vpc,
            description="musicrec SageMaker endpoint and jobs: out to the S3 endpoint only",
            allow_all_outbound=True,
        )
        # what SageMaker asks of a VPC's security group when a job has several instances
        self.sagemaker_sg.add_ingress_rule(
            self.sagemaker_sg, ec2.Port.all_traffic(), "between the instances of one job"
        )
        self.endpoints_sg = ec2.SecurityGroup(
            self,
            "Endpoints",
            vpc=self.vpc,
            description="musicrec interface endpoints: HTTPS from the functions",
            allow_all_outbound=False,
        )
        self.endpoints_sg.add_ingress_rule(
            self.functions_sg, ec2.Port.tcp(HTTPS), "the functions call AWS APIs over HTTPS"
        )
        self.interface_endpoints = {
            name: self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                subnets=self.subnets,
                security_groups=[self.endpoints_sg],
                open=False,
            )
            for name, service in INTERFACE_ENDPOINTS.items()
        }
        self._skip_restrict_default_sg_checks()

    def _flow_logs(self) -> None:
        """Rejected and accepted traffic of the VPC, in a log group of the preset's retention."""
        group = logs.LogGroup(self, "FlowLogs", retention=self.settings.log_retention)
        skip_checkov(group, LOG_GROUP_CHECKS)
        self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(group)
        )

    def _skip_restrict_default_sg_checks(self) -> None:
        """checkov's findings on CDK's own function that removes the default security group's
        rules (``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup``)."""
        skip_checkov_on_cdk_provider(
            self,
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            "CDK's restrict-default-security-group provider, invoked by CloudFormation",
            {
                "CKV_AWS_115": "a few invocations per deployment, no load to bound",
                "CKV_AWS_116": "CloudFormation invokes it and waits for its answer",
                "CKV_AWS_117": "it calls the EC2 API only, from outside the VPC",
            },
        )

    def sagemaker_vpc_config(self) -> dict[str, list[str]]:
        """A SageMaker ``VpcConfig`` (CreateTrainingJob, CreateModel, a processing job's
        NetworkConfig): the isolated subnets and the SageMaker security group."""
        return {
            "SecurityGroupIds": [self.sagemaker_sg.security_group_id],
            "Subnets": list(self.subnet_ids),
        }
