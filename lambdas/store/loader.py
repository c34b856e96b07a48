"""Load a batch version into DynamoDB and switch the active version (the command line:
:mod:`lambdas.ops.load`).

Every file of the version is written (parallel BatchWriteItem, unprocessed items retried with
backoff), what each file wrote is recorded, and the active version switches only when those
records add up to the manifest's counts. Rerunning is harmless (same keys, same items).
:func:`rollback` makes the previous version active again. Until the switch, readers keep the
previous version: a load that crashes midway changes nothing they see.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.store import keys
from lambdas.store.batch_source import BatchError, BatchSource
from lambdas.store.retry import Backoff, GaveUpError, until_done

log = logging.getLogger("lambdas.store.loader")

BATCH_SIZE = 25  # BatchWriteItem's limit
WRITE_BACKOFF = Backoff(max_attempts=8, base_s=0.05, cap_s=2.0)
RETENTION_DAYS = 30  # list items expire this long after loading (retraining runs far more often)


class LoadError(RuntimeError):
    """A load or switch that did not complete; the active version is unchanged."""


class VersionConflictError(LoadError):
    """The active version is not the one the caller expected (someone switched or rolled back
    in between); nothing was changed."""


@dataclass(frozen=True)
class Tables:
    """The DynamoDB resources the loader writes (boto3 Table objects)."""

    lists: Any
    state: Any


def list_items(
    family: str, version: str, records: Iterable[dict[str, Any]], expires_at: int
) -> Iterator[dict[str, Any]]:
    """The lists-table items of a family's records."""
    for record in records:
        pk = keys.list_pk(family, version, keys.record_key(family, record))
        yield {"pk": pk, "doc": json.dumps(record, separators=(",", ":")), "expires_at": expires_at}


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_batch(client: Any, table_name: str, items: list[dict[str, Any]]) -> None:
    """One BatchWriteItem of up to 25 items, retrying unprocessed ones with jittered backoff.

    ``client`` is a DynamoDB resource's client (``table.meta.client``), which converts plain
    Python values to DynamoDB's typed form and back."""

    def put(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = client.batch_write_item(RequestItems={table_name: requests})
        return list(response.get("UnprocessedItems", {}).get(table_name, []))

    try:
        until_done(put, [{"PutRequest": {"Item": item}} for item in items], WRITE_BACKOFF)
    except GaveUpError as exc:
        left = len(exc.left)
        raise LoadError(f"{table_name}: {left} items still unprocessed after retries") from exc


def load_file(
    source: BatchSource,
    family: str,
    entry: dict[str, Any],
    version: str,
    tables: Tables,
    workers: int = 8,
    now: float | None = None,
) -> int:
    """Write one batch file's records and mark the file as loaded; the number of records."""
    expires_at = int((now or time.time()) + RETENTION_DAYS * 86400)
    records = list(source.records(entry))
    if len(records) != entry["records"]:
        raise BatchError(
            f"{entry['path']}: {len(records)} records, manifest says {entry['records']}"
        )
    client = tables.lists.meta.client
    name = tables.lists.name
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(write_batch, client, name, batch)
            for batch in _batches(list_items(family, version, records, expires_at), BATCH_SIZE)
        ]
        for future in futures:
            future.result()
    tables.state.put_item(
        Item={**keys.load_marker(version, entry["path"]), "family": family, "records": len(records)}
    )
    return len(records)


def loaded(tables: Tables, version: str) -> dict[str, dict[str, Any]]:
    """What the loader recorded for a version: file path -> marker."""
    from boto3.dynamodb.conditions import Key

    markers: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(keys.load_marker_pk(version))}
    while True:
        page = tables.state.query(**kwargs)
        for item in page["Items"]:
            markers[str(item["sk"])] = item
        if "LastEvaluatedKey" not in page:
            return markers
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def verify(manifest: dict[str, Any], tables: Tables) -> None:
    """Raise unless every file of the manifest was loaded with its full count."""
    markers = loaded(tables, manifest["version"])
    for family, listing in manifest["families"].items():
        total = 0
        for entry in listing["files"]:
            marker = markers.get(entry["path"])
            if marker is None:
                raise LoadError(f"{entry['path']}: not loaded")
            total += int(marker["records"])
        if total != listing["records"]:
            raise LoadError(f"{family}: {total} records loaded, manifest says {listing['records']}")


def active(tables: Tables) -> dict[str, Any] | None:
    item = tables.state.get_item(Key=keys.ACTIVE, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def switch(manifest: dict[str, Any], tables: Tables) -> dict[str, Any]:
    """Verify the loaded counts, then make the manifest's version active (keeping the previous)."""
    verify(manifest, tables)
    current = active(tables)
    version = manifest["version"]
    if current and current["version"] == version:
        return current
    item = {
        **keys.ACTIVE,
        "version": version,
        "previous": current["version"] if current else None,
        "switched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tables.state.put_item(Item=item)
    return item


def rollback(tables: Tables, expected_active: str | None = None) -> dict[str, Any]:
    """Make the previous version active again; it must still be completely loaded.

    Atomic: the pointer is replaced only if it still names the version read here (a switch or
    another rollback in between is a :class:`VersionConflictError`, and nothing changes); with
    ``expected_active``, only if that is the active version."""
    current = active(tables)
    if expected_active is not None and (current or {}).get("version") != expected_active:
        found = current["version"] if current else "none"
        raise VersionConflictError(f"the active version is {found}, not {expected_active}")
    if not current or not current.get("previous"):
        raise LoadError("no previous version to roll back to")
    previous = str(current["previous"])
    if not loaded(tables, previous):
        raise LoadError(f"previous version {previous} is not loaded (expired?)")
    item = {
        **keys.ACTIVE,
        "version": previous,
        "previous": current["version"],
        "switched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        tables.state.put_item(
            Item=item,
            ConditionExpression="#version = :expected",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues={":expected": current["version"]},
        )
    except tables.state.meta.client.exceptions.ConditionalCheckFailedException as exc:
        raise VersionConflictError(
            f"the active version changed from {current['version']} during the rollback"
        ) from exc
    return item


def load_version(
    source: BatchSource, tables: Tables, workers: int = 8, progress: bool = True
) -> dict[str, Any]:
    """Load every file of the version, then switch; return the new active pointer."""
    from tqdm import tqdm

    manifest = source.manifest()
    done = loaded(tables, manifest["version"])
    entries = [
        (family, entry)
        for family, listing in manifest["families"].items()
        for entry in listing["files"]
    ]
    total = sum(entry["records"] for _, entry in entries)
    with tqdm(total=total, unit=" records", unit_scale=True, disable=not progress) as bar:
        for family, entry in entries:
            marker = done.get(entry["path"])
            if marker is None or int(marker["records"]) != entry["records"]:
                load_file(source, family, entry, manifest["version"], tables, workers)
            bar.update(entry["records"])
    return switch(manifest, tables)
