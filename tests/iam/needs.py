"""What each role of a synthesis must be allowed to do: the IAM requests (:class:`Need`) behind

* the AWS calls recorded while the tests ran the functions and the pipeline's steps locally
  (:mod:`local.aws_calls`), the local names of tables, bucket and endpoint translated to the
  environment's (:func:`recorded_needs`);
* what AWS does on the roles' behalf and never runs locally (:func:`service_needs`): the state
  machine's tasks (SageMaker jobs, model, endpoint configuration and update, S3, Lambda, SNS), the
  SageMaker execution role's reads and writes of the jobs' channels and outputs, image pulls and
  logs, the endpoint's rollback alarms, the functions' and the state machine's traces and logs,
  the schedule starting the state machine; and the console's reads of what exists only in AWS
  (the retraining schedule, the endpoint and its configurations: :func:`operations_needs`);
* the KMS actions on the customer managed key of each encrypted resource they touch
  (:func:`kms_needs`).

:func:`check` evaluates them with :mod:`tests.iam.policies`; :func:`unused_grants` lists what the
roles are granted and nothing needed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lambdas.config import ENDPOINT_NAME_ENV, RETRAIN_SCHEDULE_ENV, SCHEDULE_GROUP_ENV
from lambdas.routes import BANDIT_REFRESH, FUNCTIONS, LOADER
from lambdas.store.tables import TABLES
from tests.iam.policies import ACCOUNT, PARTITION, REGION, Grant, Request, Templates, dumps
from training.pipeline.steps import STEPS

EXECUTION = "execution-0001"  # the execution name the state machine's names are formatted with
SAGEMAKER = "sagemaker.amazonaws.com"
# The steps whose work runs as SageMaker jobs (with the SageMaker execution role); the others run
# as the state machine (or the loader function it invokes).
JOB_KINDS = ("training-job", "processing-job")
READ, WRITE = "read", "write"
SCHEDULE_GROUP = "default"  # EventBridge Scheduler's group of a schedule that names none
# What the state machine's GetItem of the loader's active pointer stands for (its version)
ACTIVE_VERSION = "active-version"


@dataclass(frozen=True)
class Need:
    """One IAM request a principal makes: who (a function, a step or a state of the pipeline, a
    resource), as which role, and why."""

    who: str
    principal: str  # the role's ARN
    request: Request
    why: str

    def __str__(self) -> str:
        return f"{self.who} ({_role_name(self.principal)}): {dumps(self.request)} [{self.why}]"


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{resource}"


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}" + ("" if key is None else f"/{key}")


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class App:
    """One synthesis of the app: its templates resolved, and the environment's names and roles
    the needs are attributed to."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.tables = {  # "lists" -> the environment's table name
            spec.name: name
            for _, _, res in templates.resources()
            if res["Type"] in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
            for spec in TABLES
            if (name := str(res["Properties"]["TableName"])).endswith(f"-{spec.name}")
        }
        self.prefix = self.tables["lists"].removesuffix("-lists")
        self.bucket = self._one(
            str(templates.resolve(stack, res["Properties"]["BucketName"]))
            for stack, _, res in templates.resources("AWS::S3::Bucket")
            if "BucketName" in res.get("Properties", {})
        )
        self.endpoint = self._one(
            str(templates.resolve(stack, res["Properties"]["EndpointName"]))
            for stack, _, res in templates.resources("AWS::SageMaker::Endpoint")
        )
        self.state_machine_role = self._one(
            str(templates.resolve(stack, res["Properties"]["RoleArn"]))
            for stack, _, res in templates.resources("AWS::StepFunctions::StateMachine")
        )
        self.sagemaker_role = self._one(
            str(templates.resolve(stack, res["Properties"]["ExecutionRoleArn"]))
            for stack, _, res in templates.resources("AWS::SageMaker::Model")
        )
        self.schedules = {  # "retrain" -> the environment's schedule ARN
            name.rsplit("-", 1)[-1]: _arn("scheduler", f"schedule/{group}/{name}")
            for stack, logical, res in templates.resources("AWS::Scheduler::Schedule")
            for props in [templates.resolve(stack, res["Properties"])]
            for name, group in [
                (str(props.get("Name", logical)), props.get("GroupName", SCHEDULE_GROUP))
            ]
        }
        self.functions = {  # route-table name -> (function ARN, role ARN)
            str(templates.resolve(stack, res["Properties"]["FunctionName"])).removeprefix(
                f"{self.prefix}-"
            ): (
                templates.arn_of(stack, logical),
                str(templates.resolve(stack, res["Properties"]["Role"])),
            )
            for stack, logical, res in templates.resources("AWS::Lambda::Function")
            if "FunctionName" in res.get("Properties", {})
        }

    @staticmethod
    def _one(values: Iterable[str]) -> str:
        found = sorted(set(values))
        if len(found) != 1:
            raise ValueError(f"expected one, found {found}")
        return found[0]

    def principal_of(self, who: str) -> str:
        """The role that makes the calls of ``function:<name>``, ``step:<name>`` or
        ``state:<step name>`` (the state machine's own states around that step) in AWS."""
        kind, _, name = who.partition(":")
        if kind == "function" and name in self.functions:
            return self.functions[name][1]
        step = next((s for s in STEPS if s.name == name), None)
        if kind not in ("step", "state") or step is None:
            raise ValueError(f"{who}: no such function in the templates or step in STEPS")
        if kind == "state" or step.kind not in JOB_KINDS:
            return self.state_machine_role
        return self.sagemaker_role

    # the environment's names for the local ones

    def table_arn(self, local_name: str, index: str | None = None) -> str:
        spec = next((s for s in TABLES if local_name.endswith(f"-{s.name}")), None)
        if spec is None:
            raise ValueError(f"table {local_name!r} is none of lambdas.store.tables.TABLES")
        arn = _arn("dynamodb", f"table/{self.tables[spec.name]}")
        return f"{arn}/index/{index}" if index else arn

    def endpoint_arn(self, _local_name: str) -> str:
        return _arn("sagemaker", f"endpoint/{self.endpoint.lower()}")

    def function_arn(self, local_name: str) -> str:
        name = local_name.rsplit(":", 1)[-1].rsplit("-", 1)[-1]
        return self.functions[name][0]

    def schedule_arn(self, local_name: str) -> str:
        """The environment's schedule of the same role (``<prefix>-retrain``), whatever the
        local group (the environment's schedule is in its own)."""
        schedule = self.schedules.get(local_name.rsplit("-", 1)[-1])
        if schedule is None:
            raise ValueError(f"schedule {local_name!r}: none such in the templates")
        return schedule

    def sagemaker_name(self, local_name: str) -> str:
        """The environment's name of a SageMaker resource named locally ``<prefix>-<rest>``
        (``musicrec-local-...``, ``musicrec-test-...``): ``<the environment's prefix>-<rest>``
        (the pipeline names what it creates so: the run's model and endpoint configuration)."""
        match = re.fullmatch(r"musicrec-[a-z0-9]+-(.+)", local_name)
        return f"{self.prefix}-{match.group(1)}" if match else local_name


# recorded calls


def recorded_needs(calls: Iterable[dict[str, Any]], app: App) -> list[Need]:
    """The IAM requests of the recorded calls, made by the innermost caller of each."""
    needs = []
    for call in calls:
        who = call["caller"][-1]
        why = f"recorded {call['service']} {call['operation']}"
        if len(call["caller"]) > 1:
            why += f" (in {call['caller'][0]})"
        needs += [
            Need(who, app.principal_of(who), request, why)
            for request in call_requests(call["service"], call["operation"], call["params"], app)
        ]
    return needs


# boto3 operations whose IAM action is not "<prefix>:<operation>" (or covers more than one).
S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "ListParts": "s3:ListMultipartUploadParts",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "DeleteObjects": "s3:DeleteObject",
    "ListBuckets": "s3:ListAllMyBuckets",
}
TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
PREFIXES = {"sagemaker-runtime": "sagemaker", "stepfunctions": "states", "monitoring": "cloudwatch"}
SAGEMAKER_RESOURCES = {
    "EndpointName": "endpoint",
    "EndpointConfigName": "endpoint-config",
    "ModelName": "model",
    "TrainingJobName": "training-job",
    "ProcessingJobName": "processing-job",
}


class UnmappedError(ValueError):
    """A recorded operation this module cannot translate to IAM requests yet."""


def call_requests(service: str, operation: str, params: dict[str, Any], app: App) -> list[Request]:
    """The IAM requests one boto3 call makes (its action and resource, in the environment)."""
    prefix = PREFIXES.get(service, service)
    if service == "dynamodb":
        return _dynamodb(operation, params, app)
    if service == "s3":
        return _s3(operation, params, app)
    if service == "sagemaker-runtime" and "EndpointName" in params:
        return [Request(f"sagemaker:{operation}", app.endpoint_arn(params["EndpointName"]))]
    if service == "sagemaker":
        for param, kind in SAGEMAKER_RESOURCES.items():
            if param in params:
                name = app.endpoint if kind == "endpoint" else app.sagemaker_name(params[param])
                return [Request(f"sagemaker:{operation}", _arn("sagemaker", f"{kind}/{name}"))]
    if service == "scheduler" and "Name" in params:  # GetSchedule, UpdateSchedule...
        return [Request(f"scheduler:{operation}", app.schedule_arn(params["Name"]))]
    if service == "lambda" and "FunctionName" in params:
        action = "lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}"
        return [Request(action, app.function_arn(params["FunctionName"]))]
    if service == "sns" and ("TopicArn" in params or "TargetArn" in params):
        return [Request(f"sns:{operation}", params.get("TopicArn") or params["TargetArn"])]
    if params:
        raise UnmappedError(f"{service} {operation} {params}: map it in tests/iam/needs.py")
    return [Request(f"{prefix}:{operation}", "*")]


def _dynamodb(operation: str, params: dict[str, Any], app: App) -> list[Request]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{operation}", app.table_arn(t)) for t in params["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            Request(TRANSACT_ACTIONS[kind], app.table_arn(name))
            for kind, name in params["TransactItems"]
        ]
    if "TableName" not in params:
        raise UnmappedError(f"dynamodb {operation} {params}: map it in tests/iam/needs.py")
    index = params.get("IndexName") if operation in ("Query", "Scan") else None
    return [Request(f"dynamodb:{operation}", app.table_arn(params["TableName"], index))]


def _s3(operation: str, params: dict[str, Any], app: App) -> list[Request]:
    action = S3_ACTIONS.get(operation, f"s3:{operation}")
    if operation == "ListBuckets":
        return [Request(action, "*")]
    if "Bucket" not in params:
        raise UnmappedError(f"s3 {operation} {params}: map it in tests/iam/needs.py")
    bucket = app.bucket  # the app has one bucket its code reads and writes: the data bucket
    if operation == "CopyObject":
        _, _, source = str(params["CopySource"]).partition("/")
        return [
            Request("s3:PutObject", s3_arn(bucket, params["Key"])),
            Request("s3:GetObject", s3_arn(bucket, source)),
        ]
    if operation == "DeleteObjects":
        return [Request(action, s3_arn(bucket, "*"))]
    if "Key" in params:
        return [Request(action, s3_arn(bucket, params["Key"]))]
    context = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
    return [Request(action, s3_arn(bucket), context)]


# what AWS does on the roles' behalf


def service_needs(app: App) -> list[Need]:
    """The state machine's tasks, the SageMaker resources', the functions' and the schedule's
    requests (none of which runs locally)."""
    t = app.templates
    needs: list[Need] = []
    for stack, logical, res in t.resources("AWS::StepFunctions::StateMachine"):
        props = res["Properties"]
        machine = t.arn_of(stack, logical)
        definition = json.loads(t.resolve(stack, props["DefinitionString"]))
        role = str(t.resolve(stack, props["RoleArn"]))
        needs += StateMachine(app, machine, role).needs(definition)
        if (props.get("TracingConfiguration") or {}).get("Enabled"):
            needs += _each("state machine", role, XRAY_SAMPLING, "*", "tracing")
        if props.get("LoggingConfiguration"):
            needs += _each("state machine", role, LOG_DELIVERY, "*", "logging to CloudWatch Logs")
    for stack, logical, res in t.resources("AWS::Lambda::Function"):
        needs += _function_needs(app, stack, logical, res["Properties"])
    needs += _model_needs(app)
    created = {
        n.request.resource for n in needs if n.request.action == "sagemaker:CreateEndpointConfig"
    }
    needs += operations_needs(app, sorted(created))
    for stack, _, res in t.resources("AWS::Scheduler::Schedule"):
        target = t.resolve(stack, res["Properties"]["Target"])
        needs.append(
            Need(
                "schedule",
                target["RoleArn"],
                Request("states:StartExecution", target["Arn"]),
                "the schedule starts a run",
            )
        )
    return needs


def operations_needs(app: App, run_configs: Iterable[str] = ()) -> list[Need]:
    """What the functions that read the pipeline's operations (``reads_operations``: the
    console's models view, lambdas.logic.models_view) read only in AWS, named as their
    environment in the templates names them: the retraining schedule (GetSchedule; locally no
    schedule is configured), the endpoint (DescribeEndpoint) and the configuration it serves
    (DescribeEndpointConfig: the endpoint's first, or one a run created, ``run_configs``;
    locally SageMaker describes no endpoint, the local model is a server)."""
    t = app.templates
    readers = {
        f"{app.prefix}-{fn.name}"
        for fn in (*FUNCTIONS, LOADER, BANDIT_REFRESH)
        if fn.reads_operations
    }
    needs: list[Need] = []
    for stack, logical, res in t.resources("AWS::Lambda::Function"):
        props = t.resolve(stack, res["Properties"])
        name = str(props.get("FunctionName", logical))
        if name not in readers:
            continue
        who, role = f"function:{name.removeprefix(f'{app.prefix}-')}", str(props["Role"])
        env = (props.get("Environment") or {}).get("Variables") or {}
        missing = {ENDPOINT_NAME_ENV, RETRAIN_SCHEDULE_ENV} - set(env)
        if missing:
            raise ValueError(f"{who} reads operations: its environment has no {sorted(missing)}")
        group = env.get(SCHEDULE_GROUP_ENV, SCHEDULE_GROUP)
        schedule = _arn("scheduler", f"schedule/{group}/{env[RETRAIN_SCHEDULE_ENV]}")
        endpoint = _arn("sagemaker", f"endpoint/{str(env[ENDPOINT_NAME_ENV]).lower()}")
        needs.append(Need(who, role, Request("scheduler:GetSchedule", schedule), "the next run"))
        needs.append(
            Need(who, role, Request("sagemaker:DescribeEndpoint", endpoint), "the serving model")
        )
        served = _resource_named(t, "AWS::SageMaker::Endpoint", str(env[ENDPOINT_NAME_ENV]))
        if served is None:
            raise ValueError(f"{who}: no endpoint {env[ENDPOINT_NAME_ENV]} in the templates")
        first = _arn("sagemaker", f"endpoint-config/{served['EndpointConfigName']}")
        for config in [first, *run_configs]:
            request = Request("sagemaker:DescribeEndpointConfig", config)
            needs.append(Need(who, role, request, "the endpoint's configuration (its models)"))
    return needs


XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
XRAY_SAMPLING = (*XRAY, "xray:GetSamplingRules", "xray:GetSamplingTargets")
# What Step Functions needs to deliver a state machine's logs (no resource-level permissions).
LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
# What Lambda does with a function's role when the function is in a VPC (Lambda developer guide,
# "Giving Lambda functions access to resources in an Amazon VPC", required IAM permissions).
LAMBDA_ENI = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
# What SageMaker does with the execution role of a job or model that has a VpcConfig (SageMaker
# developer guide, execution role permissions of CreateTrainingJob, CreateProcessingJob and
# CreateModel: "if you specify a private VPC").
SAGEMAKER_ENI = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


def _in_vpc(who: str, role: str, vpc_config: Any) -> list[Need]:
    """SageMaker's network interfaces for a job or model in a VPC (none without VpcConfig)."""
    return _each(who, role, SAGEMAKER_ENI, "*", "its network interfaces") if vpc_config else []


def _each(who: str, role: str, actions: Iterable[str], resource: str, why: str) -> list[Need]:
    return [Need(who, role, Request(action, resource), why) for action in actions]


def _function_needs(app: App, stack: str, logical: str, props: dict[str, Any]) -> list[Need]:
    """A function's traces and logs (the Lambda runtime sends them with the function's role)."""
    t = app.templates
    role = str(t.resolve(stack, props["Role"]))
    name = str(t.resolve(stack, props.get("FunctionName", logical)))
    who = f"function:{name.removeprefix(f'{app.prefix}-')}"
    needs = []
    if (props.get("TracingConfig") or {}).get("Mode") == "Active":
        needs += _each(who, role, XRAY, "*", "active tracing")
    group = t.resolve(stack, (props.get("LoggingConfig") or {}).get("LogGroup")) or (
        f"/aws/lambda/{name}"
    )
    stream = _arn("logs", f"log-group:{group}:log-stream:2025/01/01/[$LATEST]0")
    needs += _each(who, role, ("logs:CreateLogStream", "logs:PutLogEvents"), stream, "its logs")
    if props.get("VpcConfig"):
        needs += _each(who, role, LAMBDA_ENI, "*", "its network interfaces in the VPC")
    return needs


def _model_needs(app: App) -> list[Need]:
    """The model resources' execution role: SageMaker reads the artifact and pulls the image when
    it creates the model; the endpoint reads the rollback alarms during an update."""
    t = app.templates
    needs: list[Need] = []
    roles: dict[str, str] = {}  # model name -> its execution role
    for stack, logical, res in t.resources("AWS::SageMaker::Model"):
        props = t.resolve(stack, res["Properties"])
        role, who = props["ExecutionRoleArn"], f"model:{logical}"
        roles[t.get_att(stack, logical, "ModelName")] = role
        container = props.get("PrimaryContainer", {})
        if "ModelDataUrl" in container:
            needs += _s3_reads(who, role, container["ModelDataUrl"], "S3Object", "the model data")
        needs += _image_pull(who, role, container["Image"])
        needs += _in_vpc(who, role, props.get("VpcConfig"))
    for stack, logical, res in t.resources("AWS::SageMaker::Endpoint"):
        props = t.resolve(stack, res["Properties"])
        alarms = ((props.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}).get(
            "Alarms", []
        )
        config = _resource_named(t, "AWS::SageMaker::EndpointConfig", props["EndpointConfigName"])
        variants = config.get("ProductionVariants", []) if config else []
        for role in sorted({roles[v["ModelName"]] for v in variants if v["ModelName"] in roles}):
            needs += _rollback_alarms(f"endpoint:{logical}", role, alarms)
    return needs


def _resource_named(t: Templates, kind: str, name: str) -> dict[str, Any] | None:
    """The resolved properties of the resource of type ``kind`` whose name is ``name``."""
    attribute = kind.rsplit("::", 1)[-1] + "Name"
    for stack, logical, res in t.resources(kind):
        if t.get_att(stack, logical, attribute) == name:
            return dict(t.resolve(stack, res["Properties"]))
    return None


def _rollback_alarms(who: str, role: str, alarms: list[dict[str, str]]) -> list[Need]:
    """SageMaker reads the rollback alarms of a deployment with the execution role (deployment
    guardrails: "your IAM execution role" needs cloudwatch:DescribeAlarms on them)."""
    return [
        Need(
            who,
            role,
            Request("cloudwatch:DescribeAlarms", _arn("cloudwatch", f"alarm:{a['AlarmName']}")),
            "auto-rollback alarm of a deployment",
        )
        for a in alarms
    ]


def _s3_reads(who: str, role: str, uri: str, data_type: str, why: str) -> list[Need]:
    """Reading an S3 input: the object, or (a prefix) listing it and reading what is under it."""
    bucket, key = split_s3_uri(uri)
    if data_type == "S3Object":
        return [Need(who, role, Request("s3:GetObject", s3_arn(bucket, key)), why)]
    under = key if key and not key.endswith("/") else f"{key}object"
    return [
        Need(who, role, Request("s3:ListBucket", s3_arn(bucket), {"s3:prefix": key}), why),
        Need(who, role, Request("s3:GetObject", s3_arn(bucket, under)), why),
    ]


def _s3_write(who: str, role: str, uri: str, why: str) -> Need:
    """Writing under an S3 output URI (an object under it, as a job's upload makes)."""
    bucket, key = split_s3_uri(uri)
    return Need(
        who, role, Request("s3:PutObject", s3_arn(bucket, f"{key.rstrip('/')}/object")), why
    )


def _image_pull(who: str, role: str, image: str) -> list[Need]:
    """Pulling an image from this account's ECR (``<account>.dkr.ecr.<region>...``)."""
    match = re.fullmatch(rf"{ACCOUNT}\.dkr\.ecr\.{REGION}\.[^/]+/([^:@]+)[:@].*", image)
    if not match:
        return []
    repository = _arn("ecr", f"repository/{match.group(1)}")
    return [
        *_each(who, role, ECR_PULL, repository, "pulling the image"),
        Need(who, role, Request("ecr:GetAuthorizationToken", "*"), "pulling the image"),
    ]


def _job_logs(who: str, role: str, group: str, job: str) -> list[Need]:
    """A SageMaker job's logs and metrics (written with the execution role)."""
    stream = _arn("logs", f"log-group:{group}:log-stream:{job}/algo-1")
    return [
        Need(who, role, Request("logs:CreateLogGroup", _arn("logs", f"log-group:{group}")), "logs"),
        *_each(who, role, ("logs:CreateLogStream", "logs:PutLogEvents"), stream, "logs"),
        Need(who, role, Request("cloudwatch:PutMetricData", "*"), "metrics"),
    ]


@dataclass
class StateMachine:
    """The requests of a state machine's states: its own role's (the task integrations) and
    the roles it passes (what the jobs it starts do)."""

    app: App
    arn: str
    role: str
    results: dict[str, str] = field(default_factory=dict)  # JSONPath -> what a state put there

    def needs(self, definition: dict[str, Any]) -> list[Need]:
        self._items_read(definition)
        return [
            need
            for name, state in definition["States"].items()
            for need in self._state(self._who(name), name, state)
        ]

    @staticmethod
    def _who(state: str) -> str:
        """The step a top-level state belongs to (``<step>`` or ``<step>-<more>``)."""
        for step in STEPS:
            if state == step.name or state.startswith(f"{step.name}-"):
                return f"step:{step.name}"
        return f"state:{state}"

    def _state(self, who: str, name: str, state: dict[str, Any]) -> Iterator[Need]:
        kind = state["Type"]
        if kind == "Map":
            yield from self._map(who, state)
        elif kind == "Parallel":
            for branch in state["Branches"]:
                for inner, sub in branch["States"].items():
                    yield from self._state(who, inner, sub)
        elif kind == "Task":
            yield from self._task(who, name, state)

    def _map(self, who: str, state: dict[str, Any]) -> Iterator[Need]:
        reader = state.get("ItemReader")
        if reader:
            params = self._params(reader.get("Parameters", {}))
            if reader["Resource"].endswith(":s3:listObjectsV2"):
                bucket, prefix = params["Bucket"], params.get("Prefix", "")
                request = Request("s3:ListBucket", s3_arn(bucket), {"s3:prefix": prefix})
                yield Need(who, self.role, request, "Distributed Map's item reader")
            else:
                raise NotImplementedError(f"item reader {reader['Resource']}")
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
            request = Request("states:StartExecution", self.arn)
            yield Need(who, self.role, request, "Distributed Map's child executions")
        for inner, sub in processor.get("States", {}).items():
            yield from self._state(who, inner, sub)

    def _task(self, who: str, name: str, state: dict[str, Any]) -> Iterator[Need]:
        resource = state["Resource"]
        params = self._params(state.get("Parameters", {}))
        why = f"state {name}"
        if resource.startswith(f"arn:{PARTITION}:lambda:"):  # invoked directly by its ARN
            yield Need(who, self.role, Request("lambda:InvokeFunction", resource), why)
            return
        service, _, action = resource.removeprefix(f"arn:{PARTITION}:states:::").partition(":")
        sync = action.endswith(".sync")
        action = action.removesuffix(".sync").removesuffix(".waitForTaskToken")
        if service == "sagemaker":
            yield from self._sagemaker(who, why, action, sync, params, state)
        elif service == "lambda" and action == "invoke":
            yield Need(
                who, self.role, Request("lambda:InvokeFunction", params["FunctionName"]), why
            )
        elif service == "sns" and action == "publish":
            yield Need(who, self.role, Request("sns:Publish", params["TopicArn"]), why)
        elif service == "dynamodb":
            yield from self._dynamodb_task(who, why, action, params)
        elif service == "aws-sdk" and action.startswith("sagemaker:"):  # same IAM actions
            yield from self._sagemaker(who, why, action.split(":", 1)[1], sync, params, state)
        elif service == "aws-sdk":
            sdk_service, _, operation = action.partition(":")
            operation = operation[0].upper() + operation[1:]
            for request in call_requests(sdk_service, operation, params, self.app):
                yield Need(who, self.role, request, why)
        else:
            raise NotImplementedError(f"{name}: task {resource}: add it to tests/iam/needs.py")

    def _sagemaker(
        self,
        who: str,
        why: str,
        action: str,
        sync: bool,
        params: dict[str, Any],
        state: dict[str, Any],
    ) -> Iterator[Need]:
        operation = action[0].upper() + action[1:]
        sm = self.role

        def on(kind: str, name: str) -> str:
            return _arn("sagemaker", f"{kind}/{name.lower()}")

        if operation in ("CreateTrainingJob", "CreateProcessingJob"):
            training = operation == "CreateTrainingJob"
            kind = "training-job" if training else "processing-job"
            job = params["TrainingJobName" if training else "ProcessingJobName"]
            noun = "TrainingJob" if training else "ProcessingJob"
            actions = [operation] + ([f"Describe{noun}", f"Stop{noun}"] if sync else [])
            for a in actions:
                yield Need(who, sm, Request(f"sagemaker:{a}", on(kind, job)), why)
            if sync:
                rule = _arn("events", f"rule/StepFunctionsGetEventsForSageMaker{noun}sRule")
                for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                    yield Need(who, sm, Request(a, rule), f"{why}: .sync")
            yield from self._pass_role(who, why, params["RoleArn"])
            yield from self._job(who, training, job, params)
            if training and state.get("ResultPath"):
                output = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
                artifact = f"{output}/{job}/output/model.tar.gz"
                self.results[f"{state['ResultPath']}.ModelArtifacts.S3ModelArtifacts"] = artifact
        elif operation == "CreateModel":
            yield Need(
                who, sm, Request("sagemaker:CreateModel", on("model", params["ModelName"])), why
            )
            role = params["ExecutionRoleArn"]
            yield from self._pass_role(who, why, role)
            container = params.get("PrimaryContainer", {})
            if container.get("ModelDataUrl"):
                yield from _s3_reads(who, role, container["ModelDataUrl"], "S3Object", why)
            yield from _image_pull(who, role, container["Image"])
            yield from _in_vpc(who, role, params.get("VpcConfig"))
        elif operation == "CreateEndpointConfig":
            config = on("endpoint-config", params["EndpointConfigName"])
            yield Need(who, sm, Request("sagemaker:CreateEndpointConfig", config), why)
        elif operation == "UpdateEndpoint":
            for kind, key in (
                ("endpoint", "EndpointName"),
                ("endpoint-config", "EndpointConfigName"),
            ):
                yield Need(who, sm, Request("sagemaker:UpdateEndpoint", on(kind, params[key])), why)
            rollback = (params.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}
            yield from _rollback_alarms(who, self.app.sagemaker_role, rollback.get("Alarms", []))
        elif operation == "DescribeEndpoint":
            endpoint = on("endpoint", params["EndpointName"])
            yield Need(who, sm, Request("sagemaker:DescribeEndpoint", endpoint), why)
        else:
            raise NotImplementedError(f"sagemaker:{action}: add it to tests/iam/needs.py")

    def _dynamodb_task(
        self, who: str, why: str, action: str, params: dict[str, Any]
    ) -> Iterator[Need]:
        """The optimized DynamoDB integration: batch-score's GetItem of the loader's active
        pointer, whose version the gated job's input reads (:meth:`_items_read`)."""
        operation = action[0].upper() + action[1:]
        for request in _dynamodb(operation, params, self.app):
            yield Need(who, self.role, request, why)

    def _items_read(self, definition: dict[str, Any]) -> None:
        """Where the GetItem states put the item (whatever order the states are listed in):
        its version stands for ACTIVE_VERSION in the paths of later states."""
        for state in definition["States"].values():
            if state.get("Resource", "").endswith(":dynamodb:getItem") and state.get("ResultPath"):
                self.results[f"{state['ResultPath']}.Item.version.S"] = ACTIVE_VERSION

    def _pass_role(self, who: str, why: str, role: str) -> Iterator[Need]:
        context = {"iam:PassedToService": SAGEMAKER}
        yield Need(
            who, self.role, Request("iam:PassRole", role, context), f"{why}: passes the role"
        )

    def _job(self, who: str, training: bool, job: str, params: dict[str, Any]) -> Iterator[Need]:
        """What the job does with the role passed to it: read its channels or inputs, write its
        output, pull its image, write logs and metrics."""
        role = params["RoleArn"]
        if training:
            for channel in params.get("InputDataConfig", []):
                source = channel["DataSource"]["S3DataSource"]
                what = f"training channel {channel['ChannelName']}"
                yield from _s3_reads(who, role, source["S3Uri"], source["S3DataType"], what)
            output = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            yield _s3_write(who, role, f"{output}/{job}/output", "training output")
            yield from _image_pull(who, role, params["AlgorithmSpecification"]["TrainingImage"])
            yield from _job_logs(who, role, "/aws/sagemaker/TrainingJobs", job)
            yield from _in_vpc(who, role, params.get("VpcConfig"))
            return
        for item in params.get("ProcessingInputs", []):
            source = item["S3Input"]
            what = f"processing input {item['InputName']}"
            yield from _s3_reads(who, role, source["S3Uri"], source["S3DataType"], what)
        for item in (params.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            yield _s3_write(who, role, item["S3Output"]["S3Uri"], f"output {item['OutputName']}")
        yield from _image_pull(who, role, params["AppSpecification"]["ImageUri"])
        yield from _job_logs(who, role, "/aws/sagemaker/ProcessingJobs", job)
        yield from _in_vpc(who, role, (params.get("NetworkConfig") or {}).get("VpcConfig"))

    # parameters: literal, JSONPath of an earlier state's result, or an intrinsic of the run

    def _params(self, params: Any) -> Any:
        if isinstance(params, list):
            return [self._params(p) for p in params]
        if not isinstance(params, dict):
            return params
        resolved: dict[str, Any] = {}
        for key, value in params.items():
            if key.endswith(".$"):
                resolved[key[:-2]] = self._dynamic(value)
            else:
                resolved[key] = self._params(value)
        return resolved

    def _dynamic(self, expression: str) -> Any:
        """A ``.$`` value: an intrinsic function of the run (its execution's name), or what an
        earlier state wrote at a JSONPath (the training job's artifact)."""
        if expression.startswith("States."):
            return Intrinsic(expression, self._path).value()
        return self._path(expression)

    def _path(self, path: str) -> Any:
        if path == "$$.Execution.Name":
            return EXECUTION
        return self.results.get(path, path)


class Intrinsic:
    """An intrinsic function of Amazon States Language (``States.Format``, ``States.Hash``,
    ``States.Array``...), evaluated with ``paths`` giving the value of a JSONPath."""

    def __init__(self, text: str, paths: Any) -> None:
        self.text, self.at, self.paths = text, 0, paths

    def value(self) -> Any:
        result = self._expression()
        if self.text[self.at :].strip():
            raise ValueError(f"intrinsic {self.text!r}: unexpected {self.text[self.at :]!r}")
        return result

    def _skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at] == " ":
            self.at += 1

    def _expression(self) -> Any:
        self._skip()
        rest = self.text[self.at :]
        if rest.startswith("'"):
            match = re.match(r"'((?:[^'\\]|\\.)*)'", rest)
            if not match:
                raise ValueError(f"intrinsic {self.text!r}: unterminated string")
            self.at += match.end()
            return re.sub(r"\\(.)", r"\1", match.group(1))
        match = re.match(r"\$[^,) ]*|-?\d+(?:\.\d+)?", rest)
        if match:
            self.at += match.end()
            token = match.group(0)
            return self.paths(token) if token.startswith("$") else json.loads(token)
        match = re.match(r"States\.(\w+)\(", rest)
        if not match:
            raise ValueError(f"intrinsic {self.text!r}: unexpected {rest!r}")
        self.at += match.end()
        args = []
        self._skip()
        while self.text[self.at] != ")":
            args.append(self._expression())
            self._skip()
            if self.text[self.at] == ",":
                self.at += 1
        self.at += 1
        return self._call(match.group(1), args)

    @staticmethod
    def _call(name: str, args: list[Any]) -> Any:
        if name == "Format":
            template, *values = args
            for value in values:
                template = template.replace("{}", str(value), 1)
            return template
        if name == "Hash":
            return hashlib.new(args[1].replace("-", "").lower(), str(args[0]).encode()).hexdigest()
        if name == "Array":
            return args
        raise NotImplementedError(f"States.{name}: add it to tests/iam/needs.py")


# KMS


def encryption_keys(app: App) -> dict[str, str]:
    """Resource ARN -> the customer managed key that encrypts it (tables, buckets, topics)."""
    t, keys = app.templates, {}
    for stack, logical, res in t.resources():
        props = t.resolve(stack, res.get("Properties", {}))
        key = None
        if res["Type"] == "AWS::SNS::Topic":
            key = props.get("KmsMasterKeyId")
        elif res["Type"] == "AWS::S3::Bucket":
            for rule in (props.get("BucketEncryption") or {}).get(
                "ServerSideEncryptionConfiguration", []
            ):
                key = (rule.get("ServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID")
        elif res["Type"] == "AWS::DynamoDB::Table":
            key = (props.get("SSESpecification") or {}).get("KMSMasterKeyId")
        elif res["Type"] == "AWS::DynamoDB::GlobalTable":
            for replica in props.get("Replicas", []):
                key = key or (replica.get("SSESpecification") or {}).get("KMSMasterKeyId")
        if key and not str(key).startswith("alias/aws/"):
            keys[t.arn_of(stack, logical)] = t.key_arn(str(key))
    return keys


# The KMS actions a request on an encrypted resource needs (by its IAM action's kind).
KMS_READ = ("kms:Decrypt",)
KMS_WRITE = ("kms:GenerateDataKey", "kms:Decrypt")
KMS_BY_ACTION = {"sns:Publish": KMS_WRITE, "s3:GetObject": KMS_READ, "s3:PutObject": KMS_WRITE}


def kms_needs(needs: Iterable[Need], app: App) -> list[Need]:
    """The KMS requests of the needs that touch a resource encrypted with a customer managed key:
    decrypt to read; generate a data key (and decrypt) to write or publish."""
    keys, extra = encryption_keys(app), []
    for need in needs:
        request = need.request
        resource = request.resource
        if resource.startswith("arn:aws:s3:::"):
            resource = resource.split("/", 1)[0]
        elif ":dynamodb:" in resource:
            resource = "/".join(resource.split("/")[:2])
        key = keys.get(resource)
        if key is None:
            continue
        service = request.action.split(":", 1)[0]
        actions = KMS_BY_ACTION.get(request.action) or (KMS_READ if service == "dynamodb" else ())
        for action in actions:
            why = f"{request.action} on an encrypted resource"
            extra.append(Need(need.who, need.principal, Request(action, key), why))
    return extra


# evaluation


@dataclass
class Result:
    missing: list[Need]
    used: set[tuple[str, Grant]]  # (role ARN, grant) of every allowed need


def check(needs: Iterable[Need], app: App) -> Result:
    """Every need against its role's policies (and a KMS key's policy for KMS requests)."""
    principals = app.templates.principals
    result = Result([], set())
    for need in needs:
        principal = principals.get(need.principal)
        if principal is None:
            result.missing.append(need)
            continue
        decision = principal.allows(need.request)
        key_ok = True
        if need.request.action.startswith("kms:"):
            key_ok = (
                app.templates.key_policy_allows(
                    need.request.resource, need.principal, need.request.action
                )
                is not False
            )
        if not decision or not key_ok:
            result.missing.append(need)
        result.used |= {(need.principal, grant) for grant in decision.grants}
    return result


def unused_grants(
    app: App, used: set[tuple[str, Grant]], roles: dict[str, str]
) -> dict[str, list[str]]:
    """For each of ``roles`` (ARN -> label), what its Allow statements grant that no need used:
    a statement nothing used, else its action patterns no need matched (on any of its resources)
    and its resource patterns no need matched (with any of its actions)."""
    principals = app.templates.principals
    report: dict[str, list[str]] = {}
    for role, label in sorted(roles.items(), key=lambda item: item[1]):
        grants = [g for r, g in used if r == role]
        lines = []
        for st in principals[role].statements:
            if st.effect != "Allow":
                continue
            actions = list(st.actions or ("NotAction",))
            resources = list(st.resources or ("NotResource",))
            matched = [g for g in grants if g.statement == st.source]
            idle_actions = [a for a in actions if all(g.action != a for g in matched)]
            idle_resources = [r for r in resources if all(g.resource != r for g in matched)]
            if not matched:
                lines.append(f"{', '.join(actions)} on {', '.join(resources)}")
                continue
            if idle_actions:
                lines.append(f"{', '.join(idle_actions)} (on {', '.join(resources)})")
            lines += [f"anything on {r} (of {', '.join(actions)})" for r in idle_resources]
        report[label] = lines
    return report


def roles_in_scope(app: App) -> dict[str, str]:
    """Role ARN -> what uses it: the functions of the route table, the loader, the bandit's
    refresh, the state machine, the SageMaker execution role."""
    roles = {
        app.functions[fn.name][1]: f"function {fn.name}"
        for fn in (*FUNCTIONS, LOADER, BANDIT_REFRESH)
    }
    roles[app.state_machine_role] = "state machine"
    roles[app.sagemaker_role] = "SageMaker execution role"
    return roles


def by_who(needs: Iterable[Need]) -> dict[str, list[str]]:
    """Each caller's requests, sorted, S3 objects by folder (for the report)."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for need in needs:
        request = need.request
        if request.resource.startswith("arn:aws:s3:::") and "/" in request.resource:
            folder = request.resource.rsplit("/", 1)[0]
            request = Request(request.action, f"{folder}/*", request.context)
        grouped[need.who].add(dumps(request))
    return {who: sorted(requests) for who, requests in sorted(grouped.items())}
