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
        )
