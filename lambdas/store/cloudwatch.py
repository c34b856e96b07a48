"""The admin function's AWS clients' settings (every attempt bounded) and its CloudWatch client
(the console's time series): created once per container, forgotten after a SnapStart restore."""

from __future__ import annotations

from functools import cache
from typing import Any

from lambdas.snapstart import after_restore

CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5
MAX_ATTEMPTS = 2  # the first and one retry (standard mode: throttling, transient errors)


def bounded_config(attempts: int = MAX_ATTEMPTS) -> Any:
    """botocore's Config for the admin function's calls: 2 s to connect, 5 s to read, at most
    ``attempts`` attempts (standard retry mode)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"total_max_attempts": attempts, "mode": "standard"},
    )


@cache
def cloudwatch_client() -> Any:
    """The container's CloudWatch client (``cloudwatch_client.cache_clear()`` starts afresh)."""
    import boto3

    return boto3.client("cloudwatch", config=bounded_config())


after_restore(cloudwatch_client.cache_clear)
