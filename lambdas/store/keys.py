"""Every DynamoDB key of the service, in one place (the tables are in :mod:`lambdas.store.tables`).

lists (pk): one item per batch record and version — ``<family>#<version>#<key>``; the record
    itself is the item's ``doc`` attribute (JSON text), and ``expires_at`` lets old versions go.
state (pk, sk): the active batch version (``active`` / ``batch``), what the loader wrote per
    file (``load#<version>`` / ``<file path>``), listener profiles (``user#<id>`` / ``profile``)
    and availability changes (``availability`` / ``item#<id>``).
events (pk, sk): a listener's recent events, ``user#<id>`` / ``<ts ms, 13 digits>#<event_id>``,
    and one idempotency marker per listener and event id (``event#<user id>|<event id>`` /
    ``event``: ids never contain ``|``, so two listeners' ids cannot meet).
experiments (pk, sk): counters ``<experiment>#<variant>#<shard>`` / ``<metric>``; each issued
    answer (``rec#<recommendation_id>`` / ``issued``: listener, experiment, variant, items) and
    what of it was counted (``counted#<recommendation_id>|<type>|<item id or *>`` / ``counted``);
    a bandit's state (``bandit#<name>`` / ``state``: statistics, version, watermark) and the log
    of what it observed, one item per counted impression or click of an answer it ranked
    (``bandit#<name>#log#<minute>#<shard>`` / ``<ts ms>#<recommendation_id>|<type>|<item or *>``,
    the minute since the epoch when it was counted: the refresh reads a minute's shards).
    The music KPIs' counters per UTC day, sharded like the experiments'
    (``kpi#<YYYY-MM-DD>#<shard>`` / ``<metric>``: plays from recommendations, follows from
    artists for you, and the follow-through's followers and followed_another), and each
    listener's follow-through marker (``follows#<user id>`` / ``follow-through``: the first and
    second recommended artist they followed, and the day of the first).
"""

from __future__ import annotations

import zlib
from typing import Any

NATIONAL = "*"
ALL_GENRES = "*"


COUNTER_SHARDS = 8  # counters per variant and metric, so one hot variant cannot throttle a key
BANDIT_LOG_SHARDS = 8  # a minute's observation log is spread over this many partition keys


def record_key(family: str, record: dict[str, Any]) -> str:
    """The key of a batch record within its family (docs/batch-format.md)."""
    if family in ("personal", "artists"):
        return str(record["user_id"])
    if family == "similar-items":
        return str(record["item_id"])
    if family == "similar-artists":
        return str(record["artist_id"])
    if family == "regional":
        return chart_key(record["region"], record.get("genre"))
    if family == "catalog":
        return f"{record['kind']}#{record['id']}"
    raise ValueError(f"unknown family {family!r}")


def chart_key(region: str, genre: str | None) -> str:
    return f"{region}#{genre or ALL_GENRES}"


def list_pk(family: str, version: str, key: str) -> str:
    return f"{family}#{version}#{key}"


ACTIVE = {"pk": "active", "sk": "batch"}


def load_marker(version: str, path: str) -> dict[str, str]:
    return {"pk": f"load#{version}", "sk": path}


def load_marker_pk(version: str) -> str:
    return f"load#{version}"


def profile(user_id: str) -> dict[str, str]:
    return {"pk": f"user#{user_id}", "sk": "profile"}


def availability(item_id: str) -> dict[str, str]:
    return {"pk": "availability", "sk": f"item#{item_id}"}


def user_events_pk(user_id: str) -> str:
    return f"user#{user_id}"


def event_sk(ts_ms: int, event_id: str) -> str:
    return f"{ts_ms:013d}#{event_id}"


def event_marker(user_id: str, event_id: str) -> dict[str, str]:
    """The idempotency marker of one listener's event id (another listener's same id is theirs)."""
    return {"pk": f"event#{user_id}|{event_id}", "sk": "event"}


def issued(recommendation_id: str) -> dict[str, str]:
    """The record of an answer the server issued (what impressions and clicks refer to)."""
    return {"pk": f"rec#{recommendation_id}", "sk": "issued"}


def counted(recommendation_id: str, event_type: str, item_id: str | None) -> dict[str, str]:
    """The marker that an impression or click of one item of an answer was counted (once)."""
    return {"pk": f"counted#{recommendation_id}|{event_type}|{item_id or '*'}", "sk": "counted"}


def counter(experiment: str, variant: str, shard: int, metric: str) -> dict[str, str]:
    return {"pk": f"{experiment}#{variant}#{shard}", "sk": metric}


KPI = "kpi"  # the scope of the music KPIs' counters (in place of an experiment's name)


def kpi_counter(day: str, shard: int, metric: str) -> dict[str, str]:
    """One shard of a music KPI's counter of one UTC day (``YYYY-MM-DD``)."""
    return counter(KPI, day, shard, metric)


def follow_through(user_id: str) -> dict[str, str]:
    """A listener's follow-through marker: the recommended artists they followed first and
    second (counted once each, by conditional writes)."""
    return {"pk": f"follows#{user_id}", "sk": "follow-through"}


def bandit_state(name: str) -> dict[str, str]:
    """A bandit's state: its sufficient statistics, version and watermark (one item)."""
    return {"pk": f"bandit#{name}", "sk": "state"}


def bandit_log_pk(name: str, minute: int, shard: int) -> str:
    """One shard of one minute of a bandit's observation log (``minute``: since the epoch)."""
    return f"bandit#{name}#log#{minute}#{shard}"


def bandit_log_shard(recommendation_id: str) -> int:
    """The log shard of an answer's observations (stable: the same answer, the same shard)."""
    return zlib.crc32(recommendation_id.encode()) % BANDIT_LOG_SHARDS


def bandit_log_sk(ts_ms: int, recommendation_id: str, event_type: str, item_id: str | None) -> str:
    return f"{ts_ms:013d}#{recommendation_id}|{event_type}|{item_id or '*'}"
