"""What the console reads about the pipeline's operations from AWS: the retraining schedule
(EventBridge Scheduler), the endpoint's configuration (SageMaker) and the model version that
answers (SageMaker runtime). The clients come from the caller (lambdas.logic.models_view)."""

from __future__ import annotations

import json
from typing import Any

PROBE = {"top_k": 1}  # an onboarding request without answers: any model answers it


def get_schedule(scheduler: Any, name: str, group: str) -> dict[str, Any] | None:
    """EventBridge Scheduler's GetSchedule, or None when there is no such schedule."""
    try:
        return dict(scheduler.get_schedule(Name=name, GroupName=group))
    except scheduler.exceptions.ResourceNotFoundException:
        return None


def describe_endpoint(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """The endpoint (DescribeEndpoint) with its variants' models (DescribeEndpointConfig), or
    None when SageMaker knows no such endpoint (the local stack: moto has none)."""
    from botocore.exceptions import ClientError

    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationException" and "not find" in error.get("Message", ""):
            return None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    return {
        "name": endpoint["EndpointName"],
        "status": endpoint.get("EndpointStatus"),
        "config": endpoint["EndpointConfigName"],
        "models": [v.get("ModelName") for v in config.get("ProductionVariants", [])],
        "updated_at": _iso(endpoint.get("LastModifiedTime")),
        "failure_reason": endpoint.get("FailureReason"),
    }


def answering_model_version(runtime: Any, endpoint: str) -> str:
    """The model version in the endpoint's answer to a request without answers (what serves
    listeners: SageMaker's endpoint in AWS, the local inference server behind the local
    stack's runtime endpoint). Raises what the call raises; ValueError for an answer without
    a version."""
    response = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps(PROBE),
    )
    version = json.loads(response["Body"].read()).get("model_version")
    if not version:
        raise ValueError("the endpoint's answer names no model_version")
    return str(version)


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else None
