"""The onboarding model behind the SageMaker endpoint: one call within a strict time budget, at
most one retry, and a single error type for every way it can fail."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class EndpointError(RuntimeError):
    """The endpoint failed, was too slow, or answered something unusable."""


def runtime_client(timeout_s: float) -> Any:
    """A sagemaker-runtime client whose every attempt is bounded by ``timeout_s``; boto3 itself
    does not retry (:func:`predict_genres` decides)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_s, read_timeout=timeout_s, retries={"total_max_attempts": 1}
    )
    return boto3.client("sagemaker-runtime", config=config)


def parse_prediction(body: bytes) -> tuple[list[dict[str, Any]], str]:
    """Genres (``[{"genre", "score"}]``) and model version from the container's answer."""
    try:
        document = json.loads(body)
        genres = [
            {"genre": str(g["genre"]), "score": float(g["score"])} for g in document["genres"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise EndpointError(f"unusable answer from the endpoint: {exc}") from exc
    if not genres:
        raise EndpointError("the endpoint returned no genres")
    return genres, str(document.get("model_version", "unknown"))


def predict_genres(
    client: Any, endpoint_name: str, instance: dict[str, Any], top_k: int, budget_s: float
) -> tuple[list[dict[str, Any]], str]:
    """Rank genres for one listener; one retry if time is left within ``2 x budget_s``."""
    body = json.dumps({**instance, "top_k": top_k})
    deadline = time.monotonic() + 2 * budget_s
    last: Exception | None = None
    for _ in range(2):
        try:
            response = client.invoke_endpoint(
                EndpointName=endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=body,
            )
            return parse_prediction(response["Body"].read())
        except (BotoCoreError, ClientError, EndpointError) as exc:
            last = exc
        if time.monotonic() + budget_s > deadline:
            break
    raise EndpointError(f"endpoint {endpoint_name}: {last}") from last
