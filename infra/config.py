"""Deployment settings from cdk.json context: ``-c env=dev|prod`` picks a preset, and any key can
be overridden on its own (``-c max_instances=4``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_logs as logs
from constructs import Construct

from lambdas.config import ACCESS_MODES

# The retention periods CloudWatch Logs offers that a preset may choose, in days.
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


# An environment's name is in every resource name: lowercase letters and digits (bucket names
# allow no capitals), and short enough that each name built from it fits its service's limit. The
# tightest is SageMaker's 63 characters for a processing job of a run,
# "musicrec-<env>-batch-score-<32 hex>" (infra.pipeline_stack.run_name; tested at this length).
MAX_ENV_LENGTH = 9
ENV_NAME = re.compile(rf"[a-z][a-z0-9]{{0,{MAX_ENV_LENGTH - 1}}}")
# WAF's bounds on a rate-based rule's limit (requests per IP per 5-minute window).
WAF_RATE_LIMITS = range(10, 2_000_000_001)


@dataclass(frozen=True)
class Settings:
    """One environment's settings (see the presets in cdk.json)."""

    env: str
    instance_type: str
    instance_count: int
    min_instances: int
    max_instances: int
    invocations_per_instance: int
    # Register the variant for target tracking (instances only). `-c autoscaling=false` for one
    # deploy deregisters it, so that the next deploy may change the instance type (docs/deploy.md).
    autoscaling: bool
    serverless: bool
    serverless_memory_mb: int
    serverless_max_concurrency: int
    schedule: str
    processing_instance_type: str
    processing_instances: int
    training_instance_type: str
    log_retention_days: int
    throttle_rate: int
    throttle_burst: int
    alarm_email: str
    # The private network (infra/network_stack.py): the functions, the endpoint's model and the
    # pipeline's jobs in isolated subnets, AWS services through VPC endpoints, no NAT gateway.
    vpc: bool = False
    # Lambda SnapStart on the API functions (published versions, invoked through an alias).
    snapstart: bool = False
    # Who may call the listener routes (docs/deploy.md, "Who may call the API"): "listener", an
    # ID token of the stack's Cognito user pool whose custom:listener_id names the only listener
    # the call may act for; or "server", SigV4-signed (IAM) calls of a backend that acts for any
    # listener. Admin routes are IAM in both; every app route also needs the app's API key.
    api_access: str = "listener"
    # Events older than this many days are refused (the events function reads it).
    event_max_age_days: int = 30
    # A regional WAF web ACL on the API's stage (infra/waf.py): AWS's managed common and
    # known-bad-inputs rule groups, and a rate-based rule blocking an IP above waf_rate_limit
    # requests per 5 minutes.
    waf: bool = False
    waf_rate_limit: int = 2000

    def __post_init__(self) -> None:
        if not ENV_NAME.fullmatch(self.env):
            raise ValueError(
                f"env={self.env!r}: an environment is named with lowercase letters and digits, "
                f"a letter first, {MAX_ENV_LENGTH} at most"
            )
        if self.vpc and self.serverless:
            raise ValueError(
                "vpc=true needs an endpoint on instances (serverless=false): serverless "
                "inference supports neither a VPC configuration nor network isolation"
            )
        if self.api_access not in ACCESS_MODES:
            raise ValueError(f"api_access={self.api_access!r}: use one of {ACCESS_MODES}")
        if self.event_max_age_days < 1:
            raise ValueError(f"event_max_age_days={self.event_max_age_days}: one day at least")
        if self.waf_rate_limit not in WAF_RATE_LIMITS:
            raise ValueError(
                f"waf_rate_limit={self.waf_rate_limit}: WAF takes {WAF_RATE_LIMITS.start} to "
                f"{WAF_RATE_LIMITS.stop - 1:,} requests per IP per 5 minutes"
            )

    @property
    def prefix(self) -> str:
        """Names of this environment's resources start with it: ``musicrec-dev``."""
        return f"musicrec-{self.env}"

    @property
    def data_bucket_name(self) -> str:
        """The data bucket's name (account and region make it globally unique)."""
        return f"{self.prefix}-data-{Aws.ACCOUNT_ID}-{Aws.REGION}"

    @property
    def api_name(self) -> str:
        """The REST API's name (the ``ApiName`` dimension of its CloudWatch metrics)."""
        return f"{self.prefix}-api"

    @property
    def retrain_name(self) -> str:
        """The retraining state machine's and its EventBridge Scheduler schedule's name."""
        return f"{self.prefix}-retrain"

    @property
    def endpoint_name(self) -> str:
        """The SageMaker endpoint's name."""
        return f"{self.prefix}-onboarding"

    @property
    def log_retention(self) -> logs.RetentionDays:
        """How long the functions' and the API's log groups keep their logs."""
        if self.log_retention_days not in RETENTION:
            raise ValueError(
                f"log_retention_days={self.log_retention_days}: use one of {sorted(RETENTION)}"
            )
        return RETENTION[self.log_retention_days]


def _coerce(value: Any, like: Any) -> Any:
    """A context override (a string on the command line) as the type of the preset's value."""
    if isinstance(like, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    if isinstance(like, int):
        return int(value)
    return str(value)


def from_context(scope: Construct) -> Settings:
    """The preset named by the ``env`` context value, with single-key overrides applied."""
    env = str(scope.node.try_get_context("env") or "dev")
    presets = scope.node.try_get_context("presets") or {}
    if env not in presets:
        raise ValueError(f"context env={env!r}: no such preset in cdk.json ({sorted(presets)})")
    values: dict[str, Any] = {"env": env, **presets[env]}
    for f in fields(Settings):
        override = scope.node.try_get_context(f.name)
        if override is not None and f.name != "env":
            values[f.name] = _coerce(override, values[f.name])
    return Settings(**values)
