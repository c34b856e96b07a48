"""Data: the bucket for datasets, model artifacts and batch lists, and the DynamoDB tables of
``lambdas.store.tables`` (on demand, point-in-time recovery, TTL, encryption)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import Settings
from infra.nag import acknowledge, skip_checkov, skip_checkov_on_cdk_provider
from lambdas.store.tables import TABLES, Table, TableName


class DataStack(Stack):
    """Bucket and tables; other stacks get them as attributes."""

    def __init__(self, scope: Construct, construct_id: str, settings: Settings) -> None:
        super().__init__(scope, construct_id, description="musicrec data: bucket and tables")
        self.settings = settings
        # prod keeps its data when the stack goes; dev's goes with it
        self.removal_policy = (
            RemovalPolicy.RETAIN if settings.env == "prod" else RemovalPolicy.DESTROY
        )
        self.access_logs = self._access_logs_bucket()
        self.bucket = self._data_bucket()
        self.tables: dict[TableName, dynamodb.TableV2] = {
            spec.name: self._table(spec) for spec in TABLES
        }
        self._skip_auto_delete_checks()

    def _access_logs_bucket(self) -> s3.Bucket:
        """The bucket of the data bucket's access logs, kept 90 days."""
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=self.removal_policy,
            auto_delete_objects=self.removal_policy == RemovalPolicy.DESTROY,
        )
        why = "This bucket receives the data bucket's access logs; logging it would recurse"
        acknowledge(bucket, "AwsSolutions-S1", why)
        skip_checkov(bucket, {"CKV_AWS_18": why})
        return bucket

    def _skip_auto_delete_checks(self) -> None:
        """checkov's findings on CDK's own function that empties the buckets when a dev stack is
        deleted (there is none in prod, which keeps its buckets)."""
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

    def _data_bucket(self) -> s3.Bucket:
        """Datasets, model artifacts and batch lists; old batch lists and versions expire."""
        return s3.Bucket(
            self,
            "Data",
            bucket_name=self.settings.data_bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="old-batch-lists", prefix="batch/", expiration=Duration.days(30)
                ),
                s3.LifecycleRule(
                    id="old-versions", noncurrent_version_expiration=Duration.days(30)
                ),
                s3.LifecycleRule(
                    id="incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
            removal_policy=self.removal_policy,
            auto_delete_objects=self.removal_policy == RemovalPolicy.DESTROY,
        )

    def _table(self, spec: Table) -> dynamodb.TableV2:
        """One table of ``lambdas.store.tables``: on demand, point-in-time recovery, TTL."""
        return dynamodb.TableV2(
            self,
            f"Table-{spec.name}",
            table_name=spec.physical_name(self.settings.prefix),
            partition_key=_string_key(spec.partition_key),
            sort_key=_string_key(spec.sort_key) if spec.sort_key else None,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            removal_policy=self.removal_policy,
        )


def _string_key(name: str) -> dynamodb.Attribute:
    """A key attribute of type string."""
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)
