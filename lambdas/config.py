"""The functions' settings, read once per container from the environment, and the names of
the environment variables that carry them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lambdas.store.tables import TableName, table

# The environment variables the functions read (each table's own: ``Table.env_var``).
ENDPOINT_NAME_ENV = "ENDPOINT_NAME"  # the onboarding model's SageMaker endpoint
BATCH_BUCKET_ENV = "BATCH_BUCKET"  # where the pipeline writes batch versions (the loader reads)
EXPERIMENTS_CONFIG_ENV = "EXPERIMENTS_CONFIG"  # path of the experiments JSON file
DEFAULT_REGION_ENV = "DEFAULT_LISTENER_REGION"  # region of listeners who give none
ENDPOINT_TIMEOUT_ENV = "ENDPOINT_TIMEOUT_MS"  # the onboarding model's time budget per attempt
CACHE_SECONDS_ENV = "CACHE_SECONDS"  # how long the active version and availability are cached
# Who may call the listener routes (docs/security.md): "listener", a JWT from the Cognito user
# pool, checked by API Gateway, whose LISTENER_CLAIM names the only listener it may act for; or
# "server", SigV4-signed (IAM) calls of a backend that acts for any listener.
ACCESS_MODE_ENV = "ACCESS_MODE"
LISTENER_CLAIM_ENV = "LISTENER_CLAIM"
EVENT_MAX_AGE_DAYS_ENV = "EVENT_MAX_AGE_DAYS"  # events older than this are refused (400)
ACCESS_MODES = ("listener", "server")
DEFAULT_LISTENER_CLAIM = "custom:listener_id"

DEFAULT_EXPERIMENTS = Path(__file__).with_name("experiments.json")


@dataclass(frozen=True)
class Settings:
    """Everything a function reads from its environment."""

    tables: dict[TableName, str]
    endpoint_name: str
    endpoint_timeout_s: float
    default_region: str
    cache_seconds: float
    experiments_path: Path
    access_mode: str = "listener"
    listener_claim: str = DEFAULT_LISTENER_CLAIM
    event_max_age_days: float = 30

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        names: tuple[TableName, ...] = ("lists", "state", "events", "experiments")
        return cls(
            tables={name: env.get(table(name).env_var, f"musicrec-local-{name}") for name in names},
            endpoint_name=env.get(ENDPOINT_NAME_ENV, "musicrec-local-onboarding"),
            endpoint_timeout_s=float(env.get(ENDPOINT_TIMEOUT_ENV, "300")) / 1000,
            default_region=env.get(DEFAULT_REGION_ENV, "*"),
            cache_seconds=float(env.get(CACHE_SECONDS_ENV, "30")),
            experiments_path=Path(env.get(EXPERIMENTS_CONFIG_ENV, str(DEFAULT_EXPERIMENTS))),
            access_mode=_access_mode(env.get(ACCESS_MODE_ENV, "listener")),
            listener_claim=env.get(LISTENER_CLAIM_ENV, DEFAULT_LISTENER_CLAIM),
            event_max_age_days=float(env.get(EVENT_MAX_AGE_DAYS_ENV, "30")),
        )


def _access_mode(value: str) -> str:
    """The access mode, checked: a typo must not open the API."""
    if value not in ACCESS_MODES:
        raise ValueError(f"{ACCESS_MODE_ENV}={value!r}: use one of {ACCESS_MODES}")
    return value


# The admin function's environment (the console's routes; infra/functions.py sets it in AWS).
API_NAME_ENV = "API_NAME"  # the REST API's name: the AWS/ApiGateway metrics' ApiName
API_STAGE_ENV = "API_STAGE"  # its stage: the metrics' Stage
RETRAIN_SCHEDULE_ENV = "RETRAIN_SCHEDULE"  # the EventBridge Scheduler schedule starting a run
SCHEDULE_GROUP_ENV = "SCHEDULE_GROUP"  # that schedule's group
STATE_MACHINE_ENV = "STATE_MACHINE_ARN"  # the retraining pipeline
RUNS_PREFIX_ENV = "RUNS_PREFIX"  # where the training step records each run (batch bucket)
OPERATOR_ISSUER_ENV = "OPERATOR_ISSUER"  # the operators' user pool (the ``iss`` of their tokens)
# seconds the console's experiments route may spend reading the bandits' logs (docs/console.md)
OPE_LOG_BUDGET_ENV = "OPE_LOG_BUDGET_S"


@dataclass(frozen=True)
class AdminSettings:
    """What the admin function reads besides :class:`Settings` (local defaults: ``make local``).
    ``operator_issuer`` empty: no issuer check (API Gateway's authoriser has checked the pool)."""

    api_name: str = "musicrec-local-api"
    api_stage: str = "local"
    batch_bucket: str = "musicrec-local-data"
    runs_prefix: str = "runs/"
    retrain_schedule: str = ""  # none: runs start by hand (make retrain)
    schedule_group: str = "default"
    state_machine_arn: str = ""
    operator_issuer: str = ""
    ope_log_budget_s: float = 6.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AdminSettings:
        env = dict(os.environ if env is None else env)
        default = cls()
        return cls(
            api_name=env.get(API_NAME_ENV, default.api_name),
            api_stage=env.get(API_STAGE_ENV, default.api_stage),
            batch_bucket=env.get(BATCH_BUCKET_ENV, default.batch_bucket),
            runs_prefix=env.get(RUNS_PREFIX_ENV, default.runs_prefix),
            retrain_schedule=env.get(RETRAIN_SCHEDULE_ENV, default.retrain_schedule),
            schedule_group=env.get(SCHEDULE_GROUP_ENV, default.schedule_group),
            state_machine_arn=env.get(STATE_MACHINE_ENV, default.state_machine_arn),
            operator_issuer=env.get(OPERATOR_ISSUER_ENV, default.operator_issuer),
            ope_log_budget_s=float(env.get(OPE_LOG_BUDGET_ENV, default.ope_log_budget_s)),
        )
