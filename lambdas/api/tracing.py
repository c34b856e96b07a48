"""Tracing on demand: the X-Ray SDK behind Powertools' Tracer costs about 0.4 s of cold start
(it builds two botocore clients when imported), so it is loaded only where traces are recorded:
in Lambda, unless ``POWERTOOLS_TRACE_DISABLED`` is set. Powertools' Tracer itself would turn into
a no-op off Lambda, but only after importing the SDK."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

Handler = TypeVar("Handler", bound=Callable[..., Any])
TRUTHY = ("1", "true", "yes", "on")


def tracing_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True in a Lambda function (``AWS_LAMBDA_FUNCTION_NAME``) whose tracing is not disabled."""
    env = os.environ if env is None else env
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in TRUTHY
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


def traced(service: str, env: Mapping[str, str] | None = None) -> Callable[[Handler], Handler]:
    """Powertools' ``capture_lambda_handler`` when tracing is on, else the handler unchanged."""
    if not tracing_enabled(env):
        return lambda handler: handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service)
    return cast(Callable[[Handler], Handler], tracer.capture_lambda_handler)
