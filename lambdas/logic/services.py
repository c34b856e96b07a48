"""What a function container creates once and reuses across invocations: settings, the store
(boto3 resources with explicit timeouts), the experiments and the SageMaker runtime client."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lambdas.config import Settings
from lambdas.logic.experiments import Experiment, load
from lambdas.snapstart import after_restore
from lambdas.store.dynamodb import Store

ONBOARDING_EXPERIMENT = "onboarding"


@dataclass
class Services:
    settings: Settings
    store: Store
    experiments: dict[str, Experiment]
    _runtime: Any = field(default=None, repr=False)

    @property
    def runtime(self) -> Any:
        """The sagemaker-runtime client, created on first use (only onboarding needs it)."""
        if self._runtime is None:
            from lambdas.store.endpoint import runtime_client

            self._runtime = runtime_client(self.settings.endpoint_timeout_s)
        return self._runtime

    def variant(self, unit_id: str, experiment: str = ONBOARDING_EXPERIMENT) -> str:
        spec = self.experiments.get(experiment)
        return spec.assign(unit_id) if spec else "none"


@cache
def services() -> Services:
    """The container's services (``services.cache_clear()`` starts afresh, e.g. in tests)."""
    import boto3
    from botocore.config import Config

    settings = Settings.from_env()
    config = Config(
        connect_timeout=1, read_timeout=2, retries={"max_attempts": 3, "mode": "standard"}
    )
    dynamodb = boto3.resource("dynamodb", config=config)
    tables: dict[str, Any] = {
        name: dynamodb.Table(physical) for name, physical in settings.tables.items()
    }
    return Services(
        settings=settings,
        store=Store(tables, settings.cache_seconds),
        experiments=load(settings.experiments_path),
    )


def reset_after_restore() -> None:
    """After a SnapStart restore: forget the services (and their boto3 clients, connections and
    record caches) a snapshot may hold, so that the restored environment builds its own on its
    first request, with fresh connections and the credentials it was restored with."""
    services.cache_clear()


after_restore(reset_after_restore)
