"""Where the local stack lives: directories, ports, names and keys, shared by ``local.up``,
``local.smoke`` and ``local.pipeline`` through ``<dir>/stack.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lambdas.config import (
    ACCESS_MODE_ENV,
    BATCH_BUCKET_ENV,
    CACHE_SECONDS_ENV,
    DEFAULT_LISTENER_CLAIM,
    ENDPOINT_NAME_ENV,
    LISTENER_CLAIM_ENV,
)
from lambdas.store.tables import TABLES
from local.aws import CREDENTIALS, HOST, REGION

PREFIX = "musicrec-local"


@dataclass(frozen=True)
class Stack:
    """One local stack's settings."""

    root: str = ".local"
    gateway_port: int = 3000
    model_port: int = 8080
    aws_port: int = 4566
    api_key: str = "local-api-key"
    admin_key: str = "local-admin-key"
    # who may call the app routes (lambdas.config.ACCESS_MODES): "listener", a listener's ID
    # token of the local user pool (local/cognito.py); "server", SigV4-signed calls
    access_mode: str = "listener"

    @property
    def api_stage(self) -> str:
        """The local API's stage (``requestContext.stage``, the metrics' Stage)."""
        return "local"

    @property
    def dir(self) -> Path:
        return Path(self.root)

    @property
    def deploy_file(self) -> Path:
        """Written by the local pipeline's deploy step; the running stack serves that model."""
        return self.dir / "deploy.json"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    @property
    def model_url(self) -> str:
        return f"http://{HOST}:{self.model_port}"

    @property
    def aws_url(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def bucket(self) -> str:
        return f"{PREFIX}-data"

    @property
    def endpoint_name(self) -> str:
        return f"{PREFIX}-onboarding"

    def handler_env(self) -> dict[str, str]:
        """The environment the Lambda handlers get in AWS, pointed at the local services."""
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.model_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            ENDPOINT_NAME_ENV: self.endpoint_name,
            BATCH_BUCKET_ENV: self.bucket,
            CACHE_SECONDS_ENV: "5",
            ACCESS_MODE_ENV: self.access_mode,  # as infra/functions.py sets it in AWS
            LISTENER_CLAIM_ENV: DEFAULT_LISTENER_CLAIM,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "musicrec",
            # EMF lines on stdout, put to local CloudWatch as CloudWatch Logs does (local.metrics)
            "POWERTOOLS_METRICS_DISABLED": "false",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **{spec.env_var: spec.physical_name(PREFIX) for spec in TABLES},
        }

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "stack.json").write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, root: str | Path = ".local") -> Stack:
        path = Path(root) / "stack.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no local stack here; start one with `make local`")
        return cls(**json.loads(path.read_text()))
