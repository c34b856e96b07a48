"""The console in AWS: the files of ``console/`` in a private S3 bucket behind a CloudFront
distribution (Origin Access Control), with a generated ``config.json`` naming the operators' user
pool, and the API's admin routes on the same origin (the behaviour ``/v1/admin/*`` forwards to
the REST API's stage: the page calls relative URLs, so no CORS). docs/deploy.md, "The console".
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.bundling import REPO_ROOT
from infra.config import Settings
from infra.nag import (
    LOG_GROUP_CHECKS,
    acknowledge,
    acknowledge_all,
    skip_checkov,
    skip_checkov_on_cdk_provider,
)
from infra.operators import OperatorPool, cognito_endpoint
from lambdas.routes import ADMIN_PREFIX

CONSOLE_DIR = REPO_ROOT / "console"
ROUTER = Path(__file__).with_name("console_router.js")
# Where the files are, in the bucket and on the distribution: https://<domain>/console/
PREFIX = "console/"
CONFIG_FILE = "config.json"
# CloudFront's (global) findings, with the reasons they are acceptable.
DISTRIBUTION_FINDINGS = {
    "AwsSolutions-CFR1": "No geo restriction: operators sign in from wherever they work; every "
    "admin route needs an operator's token of the operators' user pool",
    "AwsSolutions-CFR2": "No CloudFront web ACL: it must live in us-east-1 and bills per month; "
    "the files are public static code, and the admin routes need an operator's token and pass "
    "the API's own regional WAF (waf=true) and throttling",
    "AwsSolutions-CFR4": "The distribution uses CloudFront's default *.cloudfront.net "
    "certificate (no custom domain), for which CloudFront fixes the viewer TLS policy; "
    "viewers are redirected to HTTPS only and browsers negotiate TLS 1.2 or later",
}
# CDK's function that copies the files into the bucket (BucketDeployment), run by CloudFormation
# on deployments only: its findings, with their reasons.
DEPLOYMENT_FINDINGS = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": "CDK's BucketDeployment function writes its logs with the AWS-managed basic execution policy",
    "AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's BucketDeployment reads the console's asset from the CDK bootstrap bucket",
    "AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's BucketDeployment reads the console's asset from the CDK bootstrap bucket",
    "AwsSolutions-IAM5[Action::s3:List*]": "CDK's BucketDeployment lists the asset and the console's bucket to sync them",
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "CDK's BucketDeployment removes console files that are no longer in the repository (prune)",
    "AwsSolutions-IAM5[Action::s3:Abort*]": "CDK's BucketDeployment aborts its own failed uploads to the console's bucket",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]": "CDK's BucketDeployment reads the console's asset, named by its hash, in the CDK bootstrap bucket",
    "AwsSolutions-L1": "CDK's BucketDeployment function: CDK pins its runtime, and aws-cdk-lib upgrades move it",
}
DEPLOYMENT_CHECKS = {
    "CKV_AWS_115": "a few invocations per deployment, no load to bound",
    "CKV_AWS_116": "CloudFormation invokes it and waits for its answer",
    "CKV_AWS_117": "it calls the S3 API only, nothing in a VPC",
    "CKV_AWS_173": "its environment holds no secret, only CDK's settings",
}


def content_security_policy(cognito_origin: str) -> str:
    """The console's CSP: its own scripts, styles and images only; calls to its own origin (the
    admin routes) and to Cognito (sign-in); never framed, no plugins, no forms posted away."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "manifest-src 'self'",
            f"connect-src 'self' {cognito_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        )
    )


class ConsoleStack(Stack):
    """The console's bucket, its files and config.json, and the distribution in front of it and
    of the API's admin routes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: Settings,
        api: apigw.RestApi,
        operators: OperatorPool,
        console_dir: Path = CONSOLE_DIR,
    ) -> None:
        super().__init__(scope, construct_id, description="musicrec operators' console")
        self.settings = settings
        # the files are the repository's: nothing to keep when the stack goes
        self.logs = self._logs_bucket()
        self.bucket = self._site_bucket()
        self.distribution = self._distribution(api)
        self.deployment = self._deploy(console_dir, operators)
        skip_checkov_on_cdk_provider(
            self,
            "Custom::S3AutoDeleteObjectsCustomResourceProvider",
            "CDK's auto-delete-objects provider, invoked by CloudFormation on deployments",
            {
                "CKV_AWS_115": "a few invocations each, no load to bound",
                "CKV_AWS_116": "CloudFormation invokes it and waits for its answer",
                "CKV_AWS_117": "it calls the S3 API only, nothing in a VPC",
            },
        )
        CfnOutput(
            self,
            "ConsoleUrl",
            value=f"https://{self.distribution.distribution_domain_name}/{PREFIX}",
            description="The operators' console (sign in with a user of OperatorPoolId)",
        )

    def _logs_bucket(self) -> s3.Bucket:
        """The access logs of the console's bucket and of the distribution, kept 90 days.
        CloudFront's standard logs are delivered under an ACL grant: ACLs stay enabled."""
        prod = self.settings.env == "prod"
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN if prod else RemovalPolicy.DESTROY,
            auto_delete_objects=not prod,
        )
        why = "This bucket receives the console bucket's and the distribution's access logs"
        acknowledge(bucket, "AwsSolutions-S1", f"{why}; logging it would recurse")
        skip_checkov(bucket, {"CKV_AWS_18": f"{why}; logging it would recurse"})
        return bucket

    def _site_bucket(self) -> s3.Bucket:
        """The console's files: private (CloudFront reads them through Origin Access Control),
        TLS only, encrypted, access-logged; old versions go after a day."""
        return s3.Bucket(
            self,
            "Site",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )

    def _distribution(self, api: apigw.RestApi) -> cloudfront.Distribution:
        """HTTPS only; the bucket by default (``/`` and ``/console`` redirect to ``/console/``,
        which serves index.html); the admin routes to the API's stage, uncached, every method,
        with the viewer's headers (the operator's token in Authorization) but its Host."""
        headers = self._response_headers()
        router = cloudfront.Function(
            self,
            "Router",
            code=cloudfront.FunctionCode.from_file(file_path=str(ROUTER)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="musicrec console: / and /console to /console/, /console/ to index.html",
        )
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{self.settings.prefix} console",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=router, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors={
                f"{ADMIN_PREFIX}/*": cloudfront.BehaviorOptions(
                    origin=origins.RestApiOrigin(api),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=headers,
                )
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
        )
        acknowledge_all(distribution, DISTRIBUTION_FINDINGS)
        skip_checkov(
            distribution,
            {
                "CKV_AWS_68": DISTRIBUTION_FINDINGS["AwsSolutions-CFR2"],
                "CKV_AWS_174": DISTRIBUTION_FINDINGS["AwsSolutions-CFR4"],
            },
        )
        return distribution

    def _response_headers(self) -> cloudfront.ResponseHeadersPolicy:
        """Security headers on every answer: the CSP (only this origin and Cognito's endpoint),
        HSTS, nosniff, no framing, no referrer."""
        cognito_origin = cognito_endpoint().rstrip("/")
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="musicrec console: CSP, HSTS, nosniff, no framing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(cognito_origin),
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy",
                        value="camera=(), microphone=(), geolocation=(), payment=()",
                        override=True,
                    )
                ]
            ),
        )

    def _deploy(self, console_dir: Path, operators: OperatorPool) -> s3deploy.BucketDeployment:
        """The files of ``console/`` and the generated config.json under ``console/`` in the
        bucket; files no longer in the repository are removed. Browsers and CloudFront
        revalidate every file (no-cache: small files, no hashed names)."""
        if not (console_dir / "index.html").is_file():
            raise FileNotFoundError(f"{console_dir}/index.html: the console's page is missing")
        log_group = logs.LogGroup(self, "DeploymentLogs", retention=self.settings.log_retention)
        skip_checkov(log_group, LOG_GROUP_CHECKS)
        deployment = s3deploy.BucketDeployment(
            self,
            "Files",
            sources=[
                s3deploy.Source.asset(str(console_dir), exclude=[CONFIG_FILE, "**/.*"]),
                s3deploy.Source.json_data(CONFIG_FILE, console_config(self.settings, operators)),
            ],
            destination_bucket=self.bucket,
            destination_key_prefix=PREFIX,
            cache_control=[s3deploy.CacheControl.no_cache()],
            prune=True,
            retain_on_delete=False,
            memory_limit=256,
            log_group=log_group,
        )
        self._acknowledge_deployment()
        return deployment

    def _acknowledge_deployment(self) -> None:
        """The findings of CDK's BucketDeployment function (a singleton of this stack)."""
        site = self.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        findings = {
            **DEPLOYMENT_FINDINGS,
            f"AwsSolutions-IAM5[Resource::<{site}.Arn>/*]": "CDK's BucketDeployment writes, "
            "and prunes, the console's files in its own bucket",
        }
        for child in self.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge_all(child, findings)
                skip_checkov(child, DEPLOYMENT_CHECKS)


def console_config(settings: Settings, operators: OperatorPool) -> dict[str, object]:
    """What the page reads from ``/console/config.json``: where and how operators sign in."""
    return {
        "region": Aws.REGION,
        "stage": settings.env,
        "cognito": {
            "endpoint": cognito_endpoint(),
            "userPoolId": operators.pool.user_pool_id,
            "clientId": operators.client.user_pool_client_id,
        },
    }
