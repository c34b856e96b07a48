"""What Step Functions accepts, as data: the optimized integrations' APIs with the parameters AWS
documents for each (and the page it documents them on), the Distributed Map's item readers, the
AWS SDK integrations' naming, the intrinsic functions and the context object.

Provenance of the parameter lists: the Step Functions developer guide's integration pages (the
``source`` of each entry). The names were written down from knowledge of those pages and checked,
API by API, against the number of "Supported parameters" the archived Markdown source of the
guide lists (github.com/awsdocs/aws-step-functions-developer-guide, doc_source/connect-*.md) and
against what aws-cdk-lib's own tasks (aws_stepfunctions_tasks) send through each integration. The
lists are deliberately not generous: a parameter missing here fails the check until someone adds
it from the page, a parameter wrongly listed would let AWS refuse the state machine at creation.
Optimized integrations validate their parameters against a schema that does not follow the
service API: anything beyond the documented list needs the AWS SDK integration
(``arn:aws:states:::aws-sdk:<service>:<action>``), whose parameters are the API's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SAGEMAKER_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html"
SNS_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html"
LAMBDA_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html"
DYNAMODB_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html"
ITEM_READER_PAGE = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html"
)
SDK_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"
INTRINSICS_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html"
CONTEXT_PAGE = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html"
)
CDK_ENDPOINT_CONFIG = (
    "https://github.com/aws/aws-cdk/blob/v2.275.0/packages/aws-cdk-lib/"
    "aws-stepfunctions-tasks/lib/sagemaker/create-endpoint-config.ts"
)

REQUEST_RESPONSE, SYNC, CALLBACK = "", ".sync", ".waitForTaskToken"


@dataclass(frozen=True)
class Optimized:
    """One API of an optimized integration: ``arn:<partition>:states:::<service>:<api><suffix>``."""

    service: str
    api: str
    suffixes: tuple[str, ...]  # the integration patterns the API supports
    parameters: frozenset[str]  # the top-level ``Parameters`` the page documents
    source: str
    # suffix -> "<botocore service>:<Operation>" whose output the task's result is (where known)
    results: Mapping[str, str] = field(default_factory=dict)
    # list member -> the members its items may have, where AWS documents no nested list but the
    # integration is known to predate members the API has since gained (``nested_source`` says)
    nested: Mapping[str, frozenset[str]] = field(default_factory=dict)
    nested_source: str = ""


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _sagemaker(
    api: str,
    parameters: str,
    sync: bool = False,
    describe: str = "",
    **nested: frozenset[str],
) -> Optimized:
    create = api[0].upper() + api[1:]
    results = {REQUEST_RESPONSE: f"sagemaker:{create}"}
    if sync:
        results[SYNC] = f"sagemaker:{describe}"
    return Optimized(
        service="sagemaker",
        api=api,
        suffixes=(REQUEST_RESPONSE, SYNC) if sync else (REQUEST_RESPONSE,),
        parameters=_names(parameters),
        source=SAGEMAKER_PAGE,
        results=results,
        nested=nested,
        nested_source=CDK_ENDPOINT_CONFIG if nested else "",
    )


OPTIMIZED: tuple[Optimized, ...] = (
    _sagemaker("createEndpoint", "EndpointConfigName EndpointName Tags"),
    _sagemaker(
        "createEndpointConfig",
        "EndpointConfigName KmsKeyId ProductionVariants Tags",
        # The ProductionVariant members of 2018, when the integration was built (and all that
        # aws-cdk-lib's SageMakerCreateEndpointConfig sends): ServerlessConfig and the later
        # members are the SDK integration's.
        ProductionVariants=_names(
            "AcceleratorType InitialInstanceCount InitialVariantWeight InstanceType ModelName"
            " VariantName"
        ),
    ),
    _sagemaker(
        "createHyperParameterTuningJob",
        "HyperParameterTuningJobConfig HyperParameterTuningJobName Tags TrainingJobDefinition"
        " WarmStartConfig",
        sync=True,
        describe="DescribeHyperParameterTuningJob",
    ),
    _sagemaker(
        "createLabelingJob",
        "HumanTaskConfig InputConfig LabelAttributeName LabelCategoryConfigS3Uri"
        " LabelingJobAlgorithmsConfig LabelingJobName OutputConfig RoleArn StoppingConditions"
        " Tags",
        sync=True,
        describe="DescribeLabelingJob",
    ),
    _sagemaker(
        "createModel",
        "Containers EnableNetworkIsolation ExecutionRoleArn ModelName PrimaryContainer Tags"
        " VpcConfig",
    ),
    _sagemaker(
        "createProcessingJob",
        "AppSpecification Environment ExperimentConfig NetworkConfig ProcessingInputs"
        " ProcessingJobName ProcessingOutputConfig ProcessingResources RoleArn StoppingCondition"
        " Tags",
        sync=True,
        describe="DescribeProcessingJob",
    ),
    _sagemaker(
        "createTrainingJob",
        # EnableNetworkIsolation: sent through this integration by aws-cdk-lib's
        # SageMakerCreateTrainingJob (enableNetworkIsolation, aws-stepfunctions-tasks/lib/
        # sagemaker/create-training-job.ts, v2.275.0)
        "AlgorithmSpecification EnableNetworkIsolation HyperParameters InputDataConfig"
        " OutputDataConfig ResourceConfig RoleArn StoppingCondition Tags TrainingJobName"
        " VpcConfig",
        sync=True,
        describe="DescribeTrainingJob",
    ),
    _sagemaker(
        "createTransformJob",
        "BatchStrategy Environment MaxConcurrentTransforms MaxPayloadInMB ModelName Tags"
        " TransformInput TransformJobName TransformOutput TransformResources",
        sync=True,
        describe="DescribeTransformJob",
    ),
    _sagemaker("updateEndpoint", "EndpointConfigName EndpointName"),
    Optimized(
        service="sns",
        api="publish",
        suffixes=(REQUEST_RESPONSE, CALLBACK),
        parameters=_names(
            "Message MessageAttributes MessageStructure PhoneNumber Subject TargetArn TopicArn"
        ),
        source=SNS_PAGE,
    ),
    Optimized(
        service="lambda",
        api="invoke",
        suffixes=(REQUEST_RESPONSE, CALLBACK),
        parameters=_names("ClientContext FunctionName InvocationType Payload Qualifier"),
        source=LAMBDA_PAGE,
    ),
    Optimized(
        service="dynamodb",
        api="getItem",
        suffixes=(REQUEST_RESPONSE,),
        parameters=_names(
            "AttributesToGet ConsistentRead ExpressionAttributeNames Key ProjectionExpression"
            " ReturnConsumedCapacity TableName"
        ),
        source=DYNAMODB_PAGE,
        results={REQUEST_RESPONSE: "dynamodb:GetItem"},
    ),
)


@dataclass(frozen=True)
class ItemReader:
    """A Distributed Map's ``ItemReader.Resource``: ``arn:<partition>:states:::s3:<api>``."""

    api: str
    parameters: frozenset[str]
    source: str = ITEM_READER_PAGE


ITEM_READERS: tuple[ItemReader, ...] = (
    ItemReader("listObjectsV2", frozenset({"Bucket", "Prefix"})),
    ItemReader("getObject", frozenset({"Bucket", "Key"})),
)

# AWS SDK integrations: ``arn:<partition>:states:::aws-sdk:<service>:<action>``, the action the
# camelCase of the API operation, request-response or callback (never .sync: SDK_PAGE). Where the
# integration's service name is not botocore's:
SDK_SUFFIXES = (REQUEST_RESPONSE, CALLBACK)
SDK_SERVICE_ALIASES: Mapping[str, str] = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
}

# Intrinsic functions (INTRINSICS_PAGE): name -> (fewest, most) arguments (None: any number).
INTRINSICS: Mapping[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}
# What each returns, as a botocore type family (None: depends on its input).
INTRINSIC_RESULTS: Mapping[str, str | None] = {
    "States.Format": "string",
    "States.StringToJson": None,
    "States.JsonToString": "string",
    "States.Array": "list",
    "States.ArrayPartition": "list",
    "States.ArrayContains": "boolean",
    "States.ArrayRange": "list",
    "States.ArrayGetItem": None,
    "States.ArrayLength": "integer",
    "States.ArrayUnique": "list",
    "States.Base64Encode": "string",
    "States.Base64Decode": "string",
    "States.Hash": "string",
    "States.JsonMerge": "structure",
    "States.MathRandom": "integer",
    "States.MathAdd": "integer",
    "States.StringSplit": "list",
    "States.UUID": "string",
}

# The context object (CONTEXT_PAGE, and its Map state section): the fields ``$$.`` can read.
# A field mapped to None holds data of any shape beneath it.
CONTEXT: Mapping[str, Any] = {
    "Execution": {
        "Id": {},
        "Input": None,
        "Name": {},
        "RoleArn": {},
        "StartTime": {},
        "RedriveCount": {},
        "RedriveTime": {},
    },
    "State": {"EnteredTime": {}, "Name": {}, "RetryCount": {}},
    "StateMachine": {"Id": {}, "Name": {}},
    "Task": {"Token": {}},
    "Map": {"Item": {"Index": {}, "Value": None}},
}
