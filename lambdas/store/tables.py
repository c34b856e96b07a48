"""The DynamoDB tables: names, key schema, TTL attribute and the environment variable that names
each one (the other variables: :mod:`lambdas.config`). The CDK stacks and the local stack create
them from here; what goes into their keys is decided in :mod:`lambdas.store.keys` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TableName = Literal["lists", "state", "events", "experiments"]


@dataclass(frozen=True)
class Table:
    """One table. Every key attribute is a string; every table is on demand."""

    name: TableName
    partition_key: str
    sort_key: str | None
    ttl_attribute: str | None
    env_var: str
    description: str

    def physical_name(self, prefix: str) -> str:
        """The table's name in an environment, e.g. ``musicrec-dev-lists``."""
        return f"{prefix}-{self.name}"


TABLES: tuple[Table, ...] = (
    Table(
        name="lists",
        partition_key="pk",
        sort_key=None,
        ttl_attribute="expires_at",
        env_var="TABLE_LISTS",
        description="Batch lists and the catalogue snapshot, one item per key and version",
    ),
    Table(
        name="state",
        partition_key="pk",
        sort_key="sk",
        ttl_attribute="expires_at",
        env_var="TABLE_STATE",
        description="Active batch version, onboarding profiles, availability changes",
    ),
    Table(
        name="events",
        partition_key="pk",
        sort_key="sk",
        ttl_attribute="expires_at",
        env_var="TABLE_EVENTS",
        description="Each listener's recent events (idempotent by event_id)",
    ),
    Table(
        name="experiments",
        partition_key="pk",
        sort_key="sk",
        ttl_attribute="expires_at",
        env_var="TABLE_EXPERIMENTS",
        description="Issued answers; sharded impression and click counters per variant",
    ),
)


def table(name: TableName) -> Table:
    """The table called ``name``."""
    for candidate in TABLES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def create_table_request(spec: Table, prefix: str) -> dict[str, object]:
    """The ``CreateTable`` arguments of a table (on demand, string keys), for local stacks and
    tests; the CDK stacks declare the same schema."""
    keys = [(spec.partition_key, "HASH")]
    if spec.sort_key:
        keys.append((spec.sort_key, "RANGE"))
    return {
        "TableName": spec.physical_name(prefix),
        "KeySchema": [{"AttributeName": name, "KeyType": kind} for name, kind in keys],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
        "BillingMode": "PAY_PER_REQUEST",
    }
