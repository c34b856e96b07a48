"""The retraining pipeline: an EventBridge Scheduler schedule starts a Step Functions state
machine built from ``training.pipeline.steps.STEPS``, in that order; any failure notifies an SNS topic."""

from __future__ import annotations

import itertools
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.api_stack import make_function
from infra.config import Settings
from infra.nag import acknowledge_all, bucket_findings
from lambdas.routes import LOADER
from lambdas.store.tables import TableName
from training.pipeline.steps import STEPS, Step

PROCESSING = "/opt/ml/processing"
# The channels ``python -m training.pipeline.sagemaker_train`` reads under /opt/ml/input/data/.
TRAIN_CHANNEL = "train"
BASELINE_CHANNEL = "baseline"
# The accepted model the next run's quality gate compares against (the baseline channel).
CURRENT_MODEL_KEY = "models/current/model.tar.gz"


class PipelineStack(Stack):
    """Schedule, state machine, loader function and failure topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: Settings,
        tables: dict[TableName, dynamodb.TableV2],
        image_uri: str,
        role: iam.IRole,
        endpoint_arn: str,
        rollback_alarms: list[str],
    ) -> None:
        super().__init__(scope, construct_id, description="musicrec retraining pipeline")
        bucket = s3.Bucket.from_bucket_name(self, "DataBucket", settings.data_bucket_name)
        self.settings, self.bucket, self.image_uri, self.role = settings, bucket, image_uri, role
        self.rollback_alarms = rollback_alarms
        self.loader = make_function(self, settings, LOADER, tables, endpoint_arn, bucket)
        reading = ("GetObject*", "GetBucket*", "List*")
        acknowledge_all(
            self.loader,
            bucket_findings(
                settings.data_bucket_name,
                reading,
                "The loader reads the batch files of any version",
            ),
        )
        key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="pipeline failure topic"
        )
        self.failures = sns.Topic(
            self,
            "Failures",
            master_key=key,
            enforce_ssl=True,
            display_name="musicrec retraining failures",
        )
        self.allow_alarms(key)
        if settings.alarm_email:
            self.failures.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        CfnOutput(
            self,
            "FailuresTopicArn",
            value=self.failures.topic_arn,
            description="Failed runs and the alarms publish here",
        )
        states = [self.state(step) for step in STEPS]
        definition = states[0][0]
        for (_, last), (first, _) in itertools.pairwise(states):
            last.next(first)
        notify = tasks.SnsPublish(
            self,
            "notify-failure",
            topic=self.failures,
            message=sfn.TaskInput.from_json_path_at("$.error"),
            result_path=sfn.JsonPath.DISCARD,
        ).next(sfn.Fail(self, "failed", cause="a pipeline step failed"))
        for first, last in states:
            for state in {id(first): first, id(last): last}.values():
                if isinstance(state, (sfn.CustomState, sfn.TaskStateBase, sfn.DistributedMap)):
                    state.add_catch(notify, result_path="$.error")
        log_group = logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.state_machine = sfn.StateMachine(
            self,
            "Retrain",
            state_machine_name=f"{settings.prefix}-retrain",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:AddTags",
                ],
                resources=[
                    self.format_arn(
                        service="sagemaker", resource=kind, resource_name=f"{settings.prefix}-*"
                    )
                    for kind in ("training-job", "processing-job", "model", "endpoint-config")
                ],
            )
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["sagemaker:UpdateEndpoint"], resources=[endpoint_arn])
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    self.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsFor*",
                    )
                ],
            )
        )
        bucket.grant_read(self.state_machine)
        self.loader.grant_invoke(self.state_machine)
        schedule_role = iam.Role(
            self, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com")
        )
        self.state_machine.grant_start_execution(schedule_role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=f"{settings.prefix}-retrain",
            schedule_expression=settings.schedule,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=schedule_role.role_arn,
                input="{}",
            ),
        )
        sagemaker_arn = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
        states_arn = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
        execution = 'execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"Retrain8C99BF17"}]}]}'
        acknowledge_all(
            self.state_machine,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery accept no resource but *",
                **bucket_findings(
                    settings.data_bucket_name,
                    reading,
                    "The Distributed Map lists the batch files of the run's version",
                ),
                **{
                    f"AwsSolutions-IAM5[Resource::{sagemaker_arn}:{kind}/{settings.prefix}-*]": "Jobs, models and endpoint configurations are named per run under this prefix"
                    for kind in ("training-job", "processing-job", "model", "endpoint-config")
                },
                "AwsSolutions-IAM5[Resource::<FnloaderF0ABC212.Arn>:*]": "Invoking the loader includes its versions (Step Functions' LambdaInvoke grant)",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsFor*]": "The .sync SageMaker integrations use Step Functions' managed EventBridge rules",
                f"AwsSolutions-IAM5[Resource::{states_arn}:{execution}:*]": "The Distributed Map starts child executions of this state machine only",
                f"AwsSolutions-IAM5[Resource::{states_arn}:{execution}/*:*]": "The Distributed Map starts child executions of this state machine only",
            },
        )

    def allow_alarms(self, key: kms.Key) -> None:
        """CloudWatch alarms publish to the encrypted topic: the topic policy (which replaces
        SNS's default one) and the key policy must let CloudWatch in."""
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[cloudwatch],
                resources=["*"],  # in a key policy: this key
            )
        )
        self.failures.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[cloudwatch],
                resources=[self.failures.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )

    def state(self, step: Step) -> tuple[sfn.IChainable, Any]:
        """The first and last state of a step (named after the step)."""
        builders = {
            "training-job": self._training,
            "create-model": self._create_model,
            "update-endpoint": self._update_endpoint,
            "processing-job": self._processing,
            "map-load": self._map_load,
            "switch": self._switch,
        }
        return builders[step.kind](step)

    def _custom(
        self, name: str, resource: str, parameters: dict[str, Any], result: str | None
    ) -> sfn.CustomState:
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"arn:aws:states:::sagemaker:{resource}",
            "Parameters": parameters,
        }
        state["ResultPath"] = result if result else None
        return sfn.CustomState(self, name, state_json=state)

    def _training(self, step: Step) -> tuple[sfn.CustomState, sfn.CustomState]:
        s, b = self.settings, self.bucket.bucket_name
        channel = lambda name, prefix: {  # noqa: E731
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{b}/{prefix}",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        state = self._custom(
            step.name,
            "createTrainingJob.sync",
            {
                "TrainingJobName.$": f"States.Format('{s.prefix}-train-{{}}', $$.Execution.Name)",
                "AlgorithmSpecification": {
                    "TrainingImage": self.image_uri,
                    "TrainingInputMode": "File",
                },
                "RoleArn": self.role.role_arn,
                "InputDataConfig": [
                    channel(TRAIN_CHANNEL, "datasets/current/"),
                    channel(BASELINE_CHANNEL, CURRENT_MODEL_KEY),
                ],
                "OutputDataConfig": {"S3OutputPath": f"s3://{b}/models/"},
                "ResourceConfig": {
                    "InstanceCount": 1,
                    "InstanceType": s.training_instance_type,
                    "VolumeSizeInGB": 50,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 4 * 3600},
            },
            "$.training",
        )
        return state, state

    def _create_model(self, step: Step) -> tuple[sfn.CustomState, tasks.CallAwsService]:
        """Register the accepted artifact, then make it the next run's gate baseline."""
        s, b = self.settings, self.bucket.bucket_name
        state = self._custom(
            step.name,
            "createModel",
            {
                "ModelName.$": f"States.Format('{s.prefix}-{{}}', $$.Execution.Name)",
                "ExecutionRoleArn": self.role.role_arn,
                "PrimaryContainer": {
                    "Image": self.image_uri,
                    "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts",
                },
            },
            "$.model",
        )
        promote = tasks.CallAwsService(
            self,
            f"{step.name}-promote",
            service="s3",
            action="copyObject",
            parameters={
                "Bucket": b,
                "Key": CURRENT_MODEL_KEY,
                # SageMaker writes the artifact to <S3OutputPath><job name>/output/model.tar.gz
                "CopySource": sfn.JsonPath.format(
                    f"{b}/models/{s.prefix}-train-{{}}/output/model.tar.gz",
                    sfn.JsonPath.execution_name,
                ),
            },
            iam_action="s3:PutObject",
            iam_resources=[self.bucket.arn_for_objects(CURRENT_MODEL_KEY)],
            result_path=sfn.JsonPath.DISCARD,
        )
        state.next(promote)
        return state, promote

    def _update_endpoint(self, step: Step) -> tuple[sfn.CustomState, sfn.CustomState]:
        s = self.settings
        model = f"States.Format('{s.prefix}-{{}}', $$.Execution.Name)"
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName.$": model}
        if s.serverless:
            variant["ServerlessConfig"] = {
                "MaxConcurrency": s.serverless_max_concurrency,
                "MemorySizeInMB": s.serverless_memory_mb,
            }
        else:
            variant.update(
                {"InitialInstanceCount": s.instance_count, "InstanceType": s.instance_type}
            )
        config = self._custom(
            step.name,
            "createEndpointConfig",
            {
                "EndpointConfigName.$": model,
                "ProductionVariants": [variant],
            },
            "$.endpoint_config",
        )
        update = self._custom(
            f"{step.name}-canary",
            "updateEndpoint",
            {
                "EndpointName": s.endpoint_name,
                "EndpointConfigName.$": model,
                "DeploymentConfig": {
                    "BlueGreenUpdatePolicy": {
                        "TrafficRoutingConfiguration": {
                            "Type": "CANARY",
                            "WaitIntervalInSeconds": 300,
                            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                        },
                        "TerminationWaitInSeconds": 300,
                    },
                    "AutoRollbackConfiguration": {
                        "Alarms": [{"AlarmName": a} for a in self.rollback_alarms]
                    },
                },
            },
            "$.endpoint",
        )
        config.next(update)
        return config, update

    def _processing(
        self, step: Step
    ) -> tuple[sfn.CustomState, sfn.CustomState] | tuple[sfn.Pass, sfn.Pass]:
        s, b = self.settings, self.bucket.bucket_name
        merge = step.name == "merge"
        if merge and s.processing_instances == 1:
            # An unsharded run writes manifest.json itself; there are no shard manifests.
            skip = sfn.Pass(self, step.name, comment="one processing instance: nothing to merge")
            return skip, skip
        output = f"{PROCESSING}/output"
        args = (
            [*step.command[3:], output]
            if merge
            else [
                *step.command[3:],
                "--data",
                f"{PROCESSING}/input",
                "--out",
                output,
                "--shard",
                "sagemaker",
                "--no-progress",
            ]
        )
        entry = list(step.command[:3])
        version_uri = f"States.Format('s3://{b}/batch/{{}}', $$.Execution.Name)"
        inputs = (
            []
            if merge
            else [
                {
                    "InputName": "dataset",
                    "S3Input": {
                        "S3Uri": f"s3://{b}/datasets/current/",
                        "LocalPath": f"{PROCESSING}/input",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ]
        )
        if merge:
            inputs = [
                {
                    "InputName": "version",
                    "S3Input": {
                        "S3Uri.$": version_uri,
                        "LocalPath": output,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ]
        state = self._custom(
            step.name,
            "createProcessingJob.sync",
            {
                "ProcessingJobName.$": f"States.Format('{s.prefix}-{step.name}-{{}}', $$.Execution.Name)",
                "RoleArn": self.role.role_arn,
                "AppSpecification": {
                    "ImageUri": self.image_uri,
                    "ContainerEntrypoint": entry,
                    "ContainerArguments.$": _arguments(args, merge),
                },
                "ProcessingInputs": inputs,
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": "lists",
                            "S3Output": {
                                "S3Uri.$": version_uri
                                if merge
                                else f"States.Format('s3://{b}/batch', $$.Execution.Name)",
                                "LocalPath": output,
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ]
                },
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1 if merge else s.processing_instances,
                        "InstanceType": s.processing_instance_type,
                        "VolumeSizeInGB": 50,
                    }
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 4 * 3600},
            },
            None,
        )
        return state, state

    def _map_load(self, step: Step) -> tuple[sfn.DistributedMap, sfn.DistributedMap]:
        b = self.bucket.bucket_name
        load = sfn.DistributedMap(
            self,
            step.name,
            item_reader=sfn.S3ObjectsItemReader(
                bucket=self.bucket,
                prefix=sfn.JsonPath.format("batch/{}/", sfn.JsonPath.execution_name),
            ),
            item_selector={
                "action": "load-file",
                "batch": sfn.JsonPath.format(f"s3://{b}/batch/{{}}", sfn.JsonPath.execution_name),
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
            },
            max_concurrency=20,
            result_path=sfn.JsonPath.DISCARD,
        )
        load.item_processor(
            tasks.LambdaInvoke(
                self,
                "load-file",
                lambda_function=self.loader,
                payload_response_only=True,
                retry_on_service_exceptions=True,
            )
        )
        return load, load

    def _switch(self, step: Step) -> tuple[tasks.LambdaInvoke, tasks.LambdaInvoke]:
        b = self.bucket.bucket_name
        state = tasks.LambdaInvoke(
            self,
            step.name,
            lambda_function=self.loader,
            payload_response_only=True,
            payload=sfn.TaskInput.from_object(
                {
                    "action": "switch",
                    "batch": sfn.JsonPath.format(
                        f"s3://{b}/batch/{{}}", sfn.JsonPath.execution_name
                    ),
                }
            ),
            result_path="$.switch",
        )
        return state, state


def _arguments(args: list[str], merge: bool) -> str:
    """The processing job's arguments as an intrinsic array; batch scoring writes the version
    named after the execution."""
    quoted = ", ".join(f"'{a}'" for a in args)
    return (
        f"States.Array({quoted})"
        if merge
        else f"States.Array({quoted}, '--version', $$.Execution.Name)"
    )
