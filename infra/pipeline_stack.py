"""The retraining pipeline: an EventBridge Scheduler schedule starts a Step Functions state
machine built from ``training.pipeline.steps.STEPS``, in that order; any failure notifies an SNS topic."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import Settings
from infra.functions import make_function
from infra.nag import LOG_GROUP_CHECKS, acknowledge_all, bucket_findings, skip_checkov
from infra.network_stack import NetworkStack
from lambdas.config import AdminSettings
from lambdas.routes import LOADER
from lambdas.store import keys
from lambdas.store.tables import TableName
from training.pipeline.steps import STEPS, Step

PROCESSING = "/opt/ml/processing"
PROCESSING_INPUT = f"{PROCESSING}/input"
PROCESSING_OUTPUT = f"{PROCESSING}/output"
# The batch gate's reference: the active batch version's files, where shard 0 reads them
# (``--active``), and where the state machine puts the loader's pointer to it (GetItem's Item).
ACTIVE_INPUT = "active"
PROCESSING_ACTIVE = f"{PROCESSING}/active"
ACTIVE_POINTER = "$.active"
ACTIVE_VERSION = f"{ACTIVE_POINTER}.Item.version.S"
ACTIVE_FILES = "$.active_files"
# The channels ``python -m training.pipeline.sagemaker_train`` reads under /opt/ml/input/data/.
TRAIN_CHANNEL = "train"
BASELINE_CHANNEL = "baseline"
# The accepted model the next run's quality gate compares against (the baseline channel).
CURRENT_MODEL_KEY = "models/current/model.tar.gz"
# Where the record step puts each run's record (what the console lists): the admin function's
# default RUNS_PREFIX; the loader function's ``record-run`` action writes there, and only there.
RUNS_PREFIX = AdminSettings().runs_prefix
JOB_MAX_RUNTIME_S = 4 * 3600
JOB_VOLUME_GB = 50
# What the state machine creates in SageMaker, each named "<prefix>-..." per run.
RUN_RESOURCES = ("training-job", "processing-job", "model", "endpoint-config")
RUN_ACTIONS = [
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:AddTags",
]
# SageMaker allows 63 characters in the name of a job, model or endpoint configuration
# (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}); an execution name may have 80, and other characters
# (EventBridge Scheduler's are long). A run's SageMaker resources are named after the MD5 of the
# execution name instead: 32 hexadecimal characters, the same in every state of the run.
RUN_ID = "States.Hash($$.Execution.Name, 'MD5')"
# The read grant on the data bucket, as cdk-nag names its wildcard actions.
BUCKET_READ = ("GetObject*", "GetBucket*", "List*")
# The states that can fail (and so catch their failure); Pass states cannot.
CATCHING = (sfn.CustomState, sfn.TaskStateBase, sfn.DistributedMap)
# The wait for the canary update (DescribeEndpoint every CANARY_POLL_S, at most CANARY_CHECKS
# times). SageMaker ends a blue/green deployment itself, rolling it back, once it has run
# CANARY_TIMEOUT_S (its MaximumExecutionTimeoutInSeconds); the loop outlasts that by a quarter
# of an hour (the rollback), so it ends on the deployment's outcome, not on a guess of its length.
CANARY_TIMEOUT_S = 3600
CANARY_POLL_S = 60
CANARY_CHECKS = CANARY_TIMEOUT_S // CANARY_POLL_S + 15
# The DescribeEndpoint statuses of an update still under way (its rollback included).
UPDATING = ("Updating", "SystemUpdating", "RollingBack")

# The first and last state of a step (the same state for a one-state step).
StepStates = tuple[sfn.IChainable, Any]


@dataclass(frozen=True)
class ProcessingJob:
    """What differs between the pipeline's processing jobs (batch scoring and its merge)."""

    arguments: tuple[str, ...]  # after the step's own command
    input_name: str
    input_uri: str  # an S3 URI, or a ``States.Format`` of one
    input_path: str  # where the job finds its input
    output_uri: str  # where the job's output goes: an S3 URI, or a ``States.Format`` of one
    instance_count: int
    per_version: bool  # also pass ``--version <execution name>``
    needs_shards: bool  # nothing to do when batch scoring ran on one instance
    gated: bool = False  # the batch gate: given the active version (``--active``), if any


def processing_jobs(settings: Settings, bucket_name: str) -> dict[str, ProcessingJob]:
    """The processing steps by name: batch scoring, one shard per instance, writes the version
    named after the execution; the merge combines the shards' manifests in that version.

    Batch scoring writes ``<--out>/<--version>/...``, so its output is the batch root: the files
    land under ``batch/<execution name>/``, where the merge, the Distributed Map and the loader
    read them. The merge reads that version's prefix at its input path and writes only
    manifest.json to its output path, uploaded to the same prefix (an input and an output on one
    local path would upload every downloaded object again)."""
    version_uri = f"States.Format('s3://{bucket_name}/batch/{{}}', $$.Execution.Name)"
    return {
        "batch-score": ProcessingJob(
            arguments=(
                "--data",
                PROCESSING_INPUT,
                "--out",
                PROCESSING_OUTPUT,
                "--shard",
                "sagemaker",
                "--no-progress",
            ),
            input_name="dataset",
            input_uri=f"s3://{bucket_name}/datasets/current/",
            input_path=PROCESSING_INPUT,
            output_uri=f"s3://{bucket_name}/batch",
            instance_count=settings.processing_instances,
            per_version=True,
            needs_shards=False,
            gated=True,
        ),
        "merge": ProcessingJob(
            arguments=(PROCESSING_INPUT, "--out", PROCESSING_OUTPUT),
            input_name="version",
            input_uri=version_uri,
            input_path=PROCESSING_INPUT,
            output_uri=version_uri,
            instance_count=1,
            per_version=False,
            needs_shards=True,
        ),
    }


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
        network: NetworkStack | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description="musicrec retraining pipeline")
        self.settings, self.image_uri, self.role = settings, image_uri, role
        self.rollback_alarms = rollback_alarms
        self.network = network
        self.bucket = s3.Bucket.from_bucket_name(self, "DataBucket", settings.data_bucket_name)
        self.state_table = tables["state"]  # the loader's active pointer (the batch gate's)
        self.loader = self._loader(tables, endpoint_arn)
        self.failures = self._failure_topic()
        self.notify = self._notify_failure()
        self.inner: list[Any] = []  # states within a step that catch its failure too
        self.own_catch: list[Any] = []  # states that catch their failures themselves
        self.nonblocking: list[Any] = []  # states whose failure the run goes on past (recorded)
        self.state_machine = self._state_machine(self._definition())
        self._grant_state_machine(endpoint_arn)
        self.schedule = self._schedule()
        self._acknowledge_state_machine()

    # Resources around the state machine

    def _loader(
        self, tables: dict[TableName, dynamodb.TableV2], endpoint_arn: str
    ) -> lambda_.Function:
        """The function the loading steps invoke."""
        loader = make_function(
            self, self.settings, LOADER, tables, endpoint_arn, self.bucket, network=self.network
        )
        findings = bucket_findings(
            self.settings.data_bucket_name,
            BUCKET_READ,
            "The loader reads the batch files of any version",
        )
        acknowledge_all(loader, findings)
        # the record step: each run's record, under the runs prefix only
        loader.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{RUNS_PREFIX}*")]
            )
        )
        printed = self.settings.data_bucket_name.replace(Aws.ACCOUNT_ID, "<AWS::AccountId>")
        printed = printed.replace(Aws.REGION, "<AWS::Region>")  # as cdk-nag prints them
        acknowledge_all(
            loader,
            {
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{printed}/{RUNS_PREFIX}*]": "The record step writes one record per run under the runs prefix (named per run)"
            },
        )
        return loader

    def _failure_topic(self) -> sns.Topic:
        """The encrypted topic failed runs and the alarms publish to (and the alarm email reads)."""
        key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="pipeline failure topic"
        )
        topic = sns.Topic(
            self,
            "Failures",
            master_key=key,
            enforce_ssl=True,
            display_name="musicrec retraining failures",
        )
        self._allow_alarms(topic, key)
        if self.settings.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.settings.alarm_email))
        CfnOutput(
            self,
            "FailuresTopicArn",
            value=topic.topic_arn,
            description="Failed runs and the alarms publish here",
        )
        return topic

    def _allow_alarms(self, topic: sns.Topic, key: kms.Key) -> None:
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
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[cloudwatch],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )

    def _state_machine(self, definition: sfn.IChainable) -> sfn.StateMachine:
        """The traced, logged state machine of a run."""
        log_group = logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH)
        skip_checkov(log_group, LOG_GROUP_CHECKS)
        return sfn.StateMachine(
            self,
            "Retrain",
            state_machine_name=f"{self.settings.prefix}-retrain",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )

    def _grant_state_machine(self, endpoint_arn: str) -> None:
        """What the states need beyond their own grants: the run's SageMaker resources, the
        endpoint update (authorized on the endpoint and on the configuration it moves to), the
        SageMaker role, the bucket, the loader and the failure topic with its key."""
        run_configs = self.format_arn(
            service="sagemaker",
            resource="endpoint-config",
            resource_name=f"{self.settings.prefix}-*",
        )
        for statement in (
            iam.PolicyStatement(actions=RUN_ACTIONS, resources=self._run_resource_arns()),
            iam.PolicyStatement(
                actions=["sagemaker:UpdateEndpoint"], resources=[endpoint_arn, run_configs]
            ),
            iam.PolicyStatement(  # the wait for the canary update to end
                actions=["sagemaker:DescribeEndpoint"], resources=[endpoint_arn]
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(  # the .sync integrations' managed EventBridge rules
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    self.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsFor*",
                    )
                ],
            ),
        ):
            self.state_machine.add_to_role_policy(statement)
        self.bucket.grant_read(self.state_machine)
        self.loader.grant_invoke(self.state_machine)
        # SnsPublish grants sns:Publish only; the topic is encrypted: publishing needs its key too
        self.failures.grant_publish(self.state_machine)

    def _run_resource_arns(self) -> list[str]:
        """The ARNs of the SageMaker resources a run creates (named after this environment)."""
        return [
            self.format_arn(
                service="sagemaker", resource=kind, resource_name=f"{self.settings.prefix}-*"
            )
            for kind in RUN_RESOURCES
        ]

    def _schedule(self) -> scheduler.CfnSchedule:
        """The schedule that starts a run, with a role allowed to do only that."""
        role = iam.Role(
            self, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com")
        )
        self.state_machine.grant_start_execution(role)
        return scheduler.CfnSchedule(
            self,
            "Schedule",
            name=f"{self.settings.prefix}-retrain",
            schedule_expression=self.settings.schedule,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=role.role_arn,
                input="{}",
            ),
        )

    def _acknowledge_state_machine(self) -> None:
        """The state machine's wildcard findings, each with its reason."""
        prefix = self.settings.prefix
        sagemaker_arn = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
        states_arn = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
        execution = 'execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"Retrain8C99BF17"}]}]}'
        child_executions = "The Distributed Map starts child executions of this state machine only"
        acknowledge_all(
            self.state_machine,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery accept no resource but *",
                **bucket_findings(
                    self.settings.data_bucket_name,
                    BUCKET_READ,
                    "The Distributed Map lists the batch files of the run's version",
                ),
                **{
                    f"AwsSolutions-IAM5[Resource::{sagemaker_arn}:{kind}/{prefix}-*]": "Jobs, models and endpoint configurations are named per run under this prefix"
                    for kind in RUN_RESOURCES
                },
                "AwsSolutions-IAM5[Resource::<FnloaderF0ABC212.Arn>:*]": "Invoking the loader includes its versions (Step Functions' LambdaInvoke grant)",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsFor*]": "The .sync SageMaker integrations use Step Functions' managed EventBridge rules",
                f"AwsSolutions-IAM5[Resource::{states_arn}:{execution}:*]": child_executions,
                f"AwsSolutions-IAM5[Resource::{states_arn}:{execution}/*:*]": child_executions,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "Publishing to the encrypted failure topic: SNS asks the failure topic's key (only) for a data key (Topic.grant_publish)",
            },
        )

    # The state machine's definition

    def _definition(self) -> sfn.IChainable:
        """The steps' states chained in order; a failing step notifies the failure topic."""
        states = [self.state(step) for step in STEPS]
        for (_, last), (first, _) in itertools.pairwise(states):
            last.next(first)
            if last in self.nonblocking:  # its failure is kept at $.record_error; the run goes on
                last.add_catch(first, result_path="$.record_error")
        self._catch_failures(states)
        return states[0][0]

    def _notify_failure(self) -> sfn.Chain:
        """Publish ``$.error`` (a caught failure's Error and Cause, or what a state that found
        the run failed put there) to the failure topic, then fail the run with that error and
        cause (what the console and DescribeExecution show)."""
        return tasks.SnsPublish(
            self,
            "notify-failure",
            topic=self.failures,
            message=sfn.TaskInput.from_json_path_at("$.error"),
            result_path=sfn.JsonPath.DISCARD,
        ).next(sfn.Fail(self, "failed", error_path="$.error.Error", cause_path="$.error.Cause"))

    def _catch_failures(self, states: list[StepStates]) -> None:
        """Every step's first and last state (and the tasks within a step listed in ``inner``)
        catches its failure: notify, then fail the run."""
        catching: list[Any] = [*self.inner]
        for first, last in states:
            catching += [first] if first is last else [first, last]
        for state in catching:
            if any(state is own for own in [*self.own_catch, *self.nonblocking]):
                continue
            if isinstance(state, CATCHING):
                state.add_catch(self.notify, result_path="$.error")

    def state(self, step: Step) -> StepStates:
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
        self,
        name: str,
        resource: str,
        parameters: dict[str, Any],
        result: str | None,
        *,
        sdk: bool = False,
    ) -> sfn.CustomState:
        """A task state of a SageMaker integration: the optimized one (``createTrainingJob.sync``,
        ...), or with ``sdk`` the AWS SDK one, for requests beyond the parameters the optimized
        integration documents: AWS refuses a state machine that passes it others, the SDK one
        takes the SageMaker API's own (both checked by infra.contracts.sfn)."""
        integration = "aws-sdk:sagemaker" if sdk else "sagemaker"
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"arn:aws:states:::{integration}:{resource}",
            "Parameters": parameters,
        }
        state["ResultPath"] = result if result else None
        return sfn.CustomState(self, name, state_json=state)

    def _training(self, step: Step) -> tuple[sfn.CustomState, tasks.LambdaInvoke]:
        """Train on the current dataset, gated against the current model (the baseline)."""
        s, b = self.settings, self.bucket.bucket_name
        state = self._custom(
            step.name,
            "createTrainingJob.sync",
            {
                "TrainingJobName.$": run_name(s.prefix, "train"),
                "AlgorithmSpecification": {
                    "TrainingImage": self.image_uri,
                    "TrainingInputMode": "File",
                },
                "RoleArn": self.role.role_arn,
                "InputDataConfig": [
                    _channel(TRAIN_CHANNEL, f"s3://{b}/datasets/current/"),
                    _channel(BASELINE_CHANNEL, f"s3://{b}/{CURRENT_MODEL_KEY}"),
                ],
                "OutputDataConfig": {"S3OutputPath": f"s3://{b}/models/"},
                "ResourceConfig": {
                    "InstanceCount": 1,
                    "InstanceType": s.training_instance_type,
                    "VolumeSizeInGB": JOB_VOLUME_GB,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": JOB_MAX_RUNTIME_S},
                **self._private("training"),
            },
            "$.training",
        )
        record = self._record_run(step, failed=False)
        failed = self._record_run(step, failed=True)
        state.add_catch(failed, result_path="$.error")
        failed.add_catch(self.notify, result_path="$.record_error")
        failed.next(self.notify)
        state.next(record)
        self.own_catch += [state, failed]
        self.nonblocking.append(record)
        return state, record

    def _record_run(self, step: Step, failed: bool) -> tasks.LambdaInvoke:
        """The loader's ``record-run``: the run's record (training's run.json from the job's
        model.tar.gz, or, for a failed job that left none, its failure reason) under the runs
        prefix, passed, refused or failed. After a passed job its verdict goes to ``$.run`` and
        its own failure does not stop the run (``$.record_error``); after a failed job (a
        refused model fails it) it runs before the notification, which goes out either way."""
        s, b = self.settings, self.bucket.bucket_name
        run = sfn.JsonPath.hash(sfn.JsonPath.execution_name, "MD5")  # RUN_ID
        job = sfn.JsonPath.format(f"{s.prefix}-train-{{}}", run)
        payload: dict[str, Any] = {
            "action": "record-run",
            "job": job,
            "runs": f"s3://{b}/{RUNS_PREFIX}",
        }
        if failed:  # SageMaker writes <S3OutputPath><job name>/output/model.tar.gz
            payload["artifact"] = sfn.JsonPath.format(
                f"s3://{b}/models/{s.prefix}-train-{{}}/output/model.tar.gz", run
            )
            payload["error"] = sfn.JsonPath.object_at("$.error")
        else:
            payload["artifact"] = sfn.JsonPath.string_at(
                "$.training.ModelArtifacts.S3ModelArtifacts"
            )
        return tasks.LambdaInvoke(
            self,
            f"{step.name}-record-failure" if failed else f"{step.name}-record",
            lambda_function=self.loader,
            payload_response_only=True,
            retry_on_service_exceptions=True,
            payload=sfn.TaskInput.from_object(payload),
            result_path=sfn.JsonPath.DISCARD if failed else "$.run",
        )

    def _create_model(self, step: Step) -> tuple[sfn.CustomState, sfn.CustomState]:
        """Register the accepted artifact (it becomes the next run's gate baseline only once the
        endpoint serves it: ``update-endpoint-promote``)."""
        s = self.settings
        state = self._custom(
            step.name,
            "createModel",
            {
                "ModelName.$": run_name(s.prefix),
                "ExecutionRoleArn": self.role.role_arn,
                "PrimaryContainer": {
                    "Image": self.image_uri,
                    "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts",
                },
                **self._private("model"),
            },
            "$.model",
        )
        return state, state

    def _promote(self, step: Step) -> tasks.CallAwsService:
        """Make the run's model the next run's gate baseline (``models/current``): only once
        the endpoint serves it, so a model the canary rolled back never becomes the baseline."""
        s, b = self.settings, self.bucket.bucket_name
        return tasks.CallAwsService(
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
                    sfn.JsonPath.hash(sfn.JsonPath.execution_name, "MD5"),  # RUN_ID
                ),
            },
            iam_action="s3:PutObject",
            iam_resources=[self.bucket.arn_for_objects(CURRENT_MODEL_KEY)],
            result_path=sfn.JsonPath.DISCARD,
        )

    def _update_endpoint(self, step: Step) -> tuple[sfn.CustomState, tasks.CallAwsService]:
        """An endpoint configuration for the run's model, then the canary update to it: both
        through the AWS SDK integration, as the optimized one documents neither ServerlessConfig
        in a variant nor DeploymentConfig (same IAM actions; errors are SageMaker.<Exception>).
        UpdateEndpoint returns as the update starts: the run waits for its outcome
        (:meth:`_canary_outcome`) and promotes the model only once the endpoint serves it."""
        model = run_name(self.settings.prefix)
        config = self._custom(
            step.name,
            "createEndpointConfig",
            {
                "EndpointConfigName.$": model,
                "ProductionVariants": [self._production_variant(model)],
            },
            "$.endpoint_config",
            sdk=True,
        )
        update = self._custom(
            f"{step.name}-canary",
            "updateEndpoint",
            {
                "EndpointName": self.settings.endpoint_name,
                "EndpointConfigName.$": model,
                "DeploymentConfig": self._canary_deployment(),
                # on instances the autoscaler owns the count: the green fleet starts at the
                # variant's current DesiredInstanceCount, not the config's InitialInstanceCount
                **({} if self.settings.serverless else {"RetainAllVariantProperties": True}),
            },
            "$.endpoint",
            sdk=True,
        )
        promote = self._promote(step)
        config.next(update)
        update.next(self._canary_outcome(step, model, promote))
        self.inner.append(update)
        return config, promote

    def _canary_outcome(self, step: Step, model: str, promote: sfn.IChainable) -> sfn.IChainable:
        """Wait for the canary update to end: DescribeEndpoint every CANARY_POLL_S while it is
        under way, at most CANARY_CHECKS times, counted in ``$.rollout.Checks``. InService on
        this run's configuration: the new model serves, ``promote`` it. InService on another
        configuration: SageMaker rolled the update back (an alarm fired during the canary, or
        the new fleet did not come up). Any other status, or still updating after the last
        check: the run fails, notifying why (``$.error``) with what DescribeEndpoint said."""
        name, endpoint = step.name, self.settings.endpoint_name
        status, config = "$.described.EndpointStatus", "$.described.EndpointConfigName"
        watch = self._pass(f"{name}-watch", {"Config.$": model, "Checks": 0})
        wait = sfn.Wait(
            self, f"{name}-wait", time=sfn.WaitTime.duration(Duration.seconds(CANARY_POLL_S))
        )
        describe = self._custom(
            f"{name}-describe",
            "describeEndpoint",
            {"EndpointName": endpoint},
            "$.described",
            sdk=True,
        )
        describe.add_retry(
            errors=["States.ALL"], interval=Duration.seconds(10), max_attempts=3, backoff_rate=2
        )
        self.inner.append(describe)
        count = self._pass(
            f"{name}-count",
            {
                "Config.$": "$.rollout.Config",
                "Checks.$": "States.MathAdd($.rollout.Checks, 1)",
            },
        )
        alarms = " or ".join(self.rollback_alarms)
        rolled_back = self._failure(
            f"{name}-rolled-back",
            "CanaryRolledBack",
            f"canary rolled back by alarm ({alarms}) or by a deployment that did not come up:"
            f" endpoint {endpoint} is InService again on the endpoint configuration {{}}"
            " instead of {} of this run; the previous model keeps serving and stays the"
            " baseline (models/current unchanged)",
            config,
            "$.rollout.Config",
        )
        timed_out = self._failure(
            f"{name}-timed-out",
            "CanaryTimedOut",
            f"endpoint {endpoint} still {{}} after {{}} checks {CANARY_POLL_S} s apart: the run"
            " stops waiting for the update to {}; the model is not promoted (models/current"
            " unchanged), check the endpoint",
            status,
            "$.rollout.Checks",
            "$.rollout.Config",
        )
        failed = self._failure(
            f"{name}-failed",
            "EndpointUpdateFailed",
            f"endpoint {endpoint} is {{}} after the update to {{}} (its FailureReason is in"
            " this message); the model is not promoted (models/current unchanged)",
            status,
            "$.rollout.Config",
        )
        updating = sfn.Condition.or_(*(sfn.Condition.string_equals(status, s) for s in UPDATING))
        in_service = sfn.Condition.string_equals(status, "InService")
        check = (
            sfn.Choice(self, f"{name}-check")
            .when(
                sfn.Condition.and_(
                    in_service,
                    sfn.Condition.string_equals_json_path(config, "$.rollout.Config"),
                ),
                promote,
            )
            .when(
                sfn.Condition.and_(
                    updating, sfn.Condition.number_less_than("$.rollout.Checks", CANARY_CHECKS)
                ),
                wait,
            )
            .when(updating, timed_out)
            .when(in_service, rolled_back)
            .otherwise(failed)
        )
        return watch.next(wait).next(describe).next(count).next(check)

    def _pass(self, name: str, parameters: dict[str, Any]) -> sfn.CustomState:
        """A Pass state putting ``parameters`` (intrinsics allowed) at ``$.rollout``."""
        state = {"Type": "Pass", "Parameters": parameters, "ResultPath": "$.rollout"}
        return sfn.CustomState(self, name, state_json=state)

    def _failure(self, name: str, error: str, cause: str, *paths: str) -> sfn.IChainable:
        """A Pass state that puts the run's failure at ``$.error`` (``error``, the ``cause``
        template filled with ``paths``, and what DescribeEndpoint said), then notifies."""
        arguments = "".join(f", {path}" for path in paths)
        state = {
            "Type": "Pass",
            "Parameters": {
                "Error": error,
                "Cause.$": f"States.Format('{cause}'{arguments})",
                "Endpoint.$": "$.described",
            },
            "ResultPath": "$.error",
        }
        return sfn.CustomState(self, name, state_json=state).next(self.notify)

    def _production_variant(self, model: str) -> dict[str, Any]:
        """The endpoint's one variant: serverless or on instances, as the settings say."""
        s = self.settings
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
        return variant

    def _canary_deployment(self) -> dict[str, Any]:
        """Blue/green with 10 % canary traffic, rolled back by the model's alarms."""
        return {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": 300,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                },
                "TerminationWaitInSeconds": 300,
                # then SageMaker rolls the update back (the run waits that long: CANARY_CHECKS)
                "MaximumExecutionTimeoutInSeconds": CANARY_TIMEOUT_S,
            },
            "AutoRollbackConfiguration": {
                "Alarms": [{"AlarmName": a} for a in self.rollback_alarms]
            },
        }

    def _processing(self, step: Step) -> StepStates:
        """A processing job on the model image (batch scoring: with the batch gate's reference,
        :meth:`_gated_processing`), or a Pass state when it would have no shards to work on (an
        unsharded run writes manifest.json itself)."""
        jobs = processing_jobs(self.settings, self.bucket.bucket_name)
        if step.name not in jobs:
            raise ValueError(f"processing step {step.name!r}: describe it in processing_jobs()")
        job = jobs[step.name]
        if job.needs_shards and self.settings.processing_instances == 1:
            skip = sfn.Pass(self, step.name, comment="one processing instance: nothing to merge")
            return skip, skip
        if job.gated:
            return self._gated_processing(step, job)
        parameters = self._processing_parameters(step, job)
        state = self._custom(step.name, "createProcessingJob.sync", parameters, None)
        return state, state

    def _gated_processing(self, step: Step, job: ProcessingJob) -> StepStates:
        """Batch scoring with the batch gate: read the loader's active pointer (GetItem,
        strongly consistent: the version the last switch or rollback made active); when there is
        one and its manifest.json is still under ``batch/<version>/`` (batch lists expire after
        30 days: the data bucket's lifecycle), the job (``<step>``) gets that prefix as its
        input ``active`` and ``--active`` (SageMaker gives every instance the same arguments and
        inputs; only shard 0 gates, the others ignore it). Otherwise (the first run, or the
        active version's files expired) the job without either (``<step>-ungated``): the gate
        passes, saying no active version was given. Both go on to the next step."""
        name, bucket = step.name, self.bucket.bucket_name
        pointer = tasks.DynamoGetItem(
            self,
            f"{name}-active",
            table=self.state_table,
            key={k: tasks.DynamoAttributeValue.from_string(v) for k, v in keys.ACTIVE.items()},
            consistent_read=True,
            result_path=ACTIVE_POINTER,
        )
        files = tasks.CallAwsService(
            self,
            f"{name}-active-files",
            service="s3",
            action="listObjectsV2",
            parameters={
                "Bucket": bucket,
                "Prefix": sfn.JsonPath.format(
                    "batch/{}/manifest.json", sfn.JsonPath.string_at(ACTIVE_VERSION)
                ),
                "MaxKeys": 1,
            },
            iam_action="s3:ListBucket",
            iam_resources=[self.bucket.bucket_arn],
            result_selector={"KeyCount": sfn.JsonPath.number_at("$.KeyCount")},
            result_path=ACTIVE_FILES,
        )
        for state in (pointer, files):
            state.add_retry(
                errors=["States.ALL"], interval=Duration.seconds(5), max_attempts=3, backoff_rate=2
            )
        job_state = "createProcessingJob.sync"
        gated = self._custom(
            name, job_state, self._processing_parameters(step, job, active=True), None
        )
        ungated = self._custom(
            f"{name}-ungated", job_state, self._processing_parameters(step, job), None
        )
        has_files = (
            sfn.Choice(self, f"{name}-active-found")
            .when(sfn.Condition.number_greater_than(f"{ACTIVE_FILES}.KeyCount", 0), gated)
            .otherwise(ungated)
        )
        has_active = (
            sfn.Choice(self, f"{name}-has-active")
            .when(sfn.Condition.is_present(ACTIVE_VERSION), files.next(has_files))
            .otherwise(ungated)
        )
        pointer.next(has_active)
        self.inner += [files, gated, ungated]
        return pointer, sfn.Chain.custom(pointer, [gated, ungated], ungated)

    def _processing_parameters(
        self, step: Step, job: ProcessingJob, active: bool = False
    ) -> dict[str, Any]:
        """The ``createProcessingJob`` request of a step: ``python -m <module> <arguments>``;
        with ``active``, also the active batch version's prefix as the input ``active`` and
        ``--active`` (the batch gate's reference)."""
        s = self.settings
        entrypoint, arguments = step.command[:3], [*step.command[3:], *job.arguments]
        inputs = [_processing_input(job)]
        if active:
            arguments += ["--active", PROCESSING_ACTIVE]
            inputs.append(_active_input(bucket=self.bucket.bucket_name))
        return {
            "ProcessingJobName.$": run_name(s.prefix, step.name),
            "RoleArn": self.role.role_arn,
            "AppSpecification": {
                "ImageUri": self.image_uri,
                "ContainerEntrypoint": list(entrypoint),
                "ContainerArguments.$": _arguments(arguments, job.per_version),
            },
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {"Outputs": [_processing_output(job)]},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": job.instance_count,
                    "InstanceType": s.processing_instance_type,
                    "VolumeSizeInGB": JOB_VOLUME_GB,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": JOB_MAX_RUNTIME_S},
            **self._private("processing"),
        }

    def _private(self, kind: str) -> dict[str, Any]:
        """With a private network (the ``vpc`` presets): a request's VpcConfig (the isolated
        subnets, the SageMaker security group) and network isolation, as the training job, the
        model (``createModel``) or a processing job (``NetworkConfig``) takes them. The image
        calls nothing: SageMaker downloads the channels, inputs and model data and uploads the
        outputs (through the S3 gateway endpoint), and pulls the image itself. Without one,
        nothing (dev: its serverless endpoint supports neither)."""
        if self.network is None:
            return {}
        vpc = self.network.sagemaker_vpc_config()
        if kind == "processing":
            return {"NetworkConfig": {"EnableNetworkIsolation": True, "VpcConfig": vpc}}
        return {"EnableNetworkIsolation": True, "VpcConfig": vpc}

    def _map_load(self, step: Step) -> tuple[sfn.DistributedMap, sfn.DistributedMap]:
        """A Distributed Map over the run's batch files, the loader once per file."""
        load = sfn.DistributedMap(
            self,
            step.name,
            item_reader=sfn.S3ObjectsItemReader(
                bucket=self.bucket,
                prefix=sfn.JsonPath.format("batch/{}/", sfn.JsonPath.execution_name),
            ),
            item_selector={
                "action": "load-file",
                "batch": self._version_uri(),
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
        """The loader verifies the run's version and makes it the active one."""
        state = tasks.LambdaInvoke(
            self,
            step.name,
            lambda_function=self.loader,
            payload_response_only=True,
            payload=sfn.TaskInput.from_object({"action": "switch", "batch": self._version_uri()}),
            result_path="$.switch",
        )
        return state, state

    def _version_uri(self) -> str:
        """Where the run's batch version lives: ``s3://<bucket>/batch/<execution name>``."""
        return sfn.JsonPath.format(
            f"s3://{self.bucket.bucket_name}/batch/{{}}", sfn.JsonPath.execution_name
        )


def run_name(prefix: str, kind: str = "") -> str:
    """The intrinsic function naming one of a run's SageMaker resources: ``<prefix>-<kind>-<run
    id>``, or ``<prefix>-<run id>`` without a kind (at most 63 characters: see RUN_ID)."""
    head = f"{prefix}-{kind}" if kind else prefix
    return f"States.Format('{head}-{{}}', {RUN_ID})"


def _channel(name: str, uri: str) -> dict[str, Any]:
    """A training job's input channel: everything under ``uri``."""
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def _processing_input(job: ProcessingJob) -> dict[str, Any]:
    """The job's one input, downloaded before it starts."""
    return {
        "InputName": job.input_name,
        "S3Input": {
            **_s3_uri(job.input_uri),
            "LocalPath": job.input_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def _active_input(bucket: str) -> dict[str, Any]:
    """The active batch version (the loader's pointer, at ``ACTIVE_VERSION``) as the batch
    gate reads it: its prefix, of which the gate opens manifest.json and the `personal` files."""
    uri = f"States.Format('s3://{bucket}/batch/{{}}/', {ACTIVE_VERSION})"
    return {
        "InputName": ACTIVE_INPUT,
        "S3Input": {
            "S3Uri.$": uri,
            "LocalPath": PROCESSING_ACTIVE,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def _processing_output(job: ProcessingJob) -> dict[str, Any]:
    """The job's output (the batch lists), uploaded when it ends."""
    return {
        "OutputName": "lists",
        "S3Output": {
            **_s3_uri(job.output_uri),
            "LocalPath": PROCESSING_OUTPUT,
            "S3UploadMode": "EndOfJob",
        },
    }


def _s3_uri(uri: str) -> dict[str, str]:
    """``S3Uri``, or ``S3Uri.$`` when the URI is an intrinsic function of the execution."""
    return {"S3Uri.$": uri} if uri.startswith("States.") else {"S3Uri": uri}


def _arguments(args: list[str], per_version: bool) -> str:
    """The processing job's arguments as an intrinsic array, with ``--version <execution name>``
    when the job writes the version named after the execution."""
    quoted = ", ".join(f"'{a}'" for a in args)
    return (
        f"States.Array({quoted}, '--version', $$.Execution.Name)"
        if per_version
        else f"States.Array({quoted})"
    )
