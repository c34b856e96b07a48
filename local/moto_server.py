"""``python -m local.moto_server [moto.server options]``: moto's server, with DynamoDB transactions
that keep a copy of the items they write instead of the whole tables, and queries that read only
the partition they ask for.

moto 5.2 deep-copies every table a TransactWriteItems names, to roll back when the transaction
fails. The API stores each event with one transaction (the ``event_id`` marker and the event
together), so against plain moto every event costs time in proportion to the events table: 13 ms
per event on an empty table, 229 ms at 1,000 items, 2.2 s at 5,000, and a load test stalls
within minutes. Here a transaction snapshots only the items it writes (a handful), and restores
them the same way when it fails: same results, same errors, constant cost.

It also honours TransactWriteItems' ``ClientRequestToken`` as DynamoDB does (moto ignores it): a
transaction repeated with the token of one that succeeded in the last 10 minutes succeeds again
without being applied twice. Botocore sends one token per call and keeps it across its retries,
so a retry after a read timeout (the first attempt having gone through) is answered as the
success it was, not with the failed condition of an event that looks stored twice.

moto 5.2 answers a Query on a table's key by sorting every item of the table and keeping those
of the partition, so the API's reads of a listener's recent events or of the availability
changes slow down as the tables fill (a load test stores thousands of events). Here a Query of a
table's own key (no index) starts from that partition's items only; moto's code then filters,
sorts, pages and projects them as before.

moto also keeps every DynamoDB item object it ever creates in a class-wide list (for its
dashboard), the copies it makes for each read's answer included: memory grows with every request
and Python's full garbage collections, which walk it all, take seconds after a few thousand
events (11 million objects after 20,000 events and their reads). Here items are not tracked;
the tables still hold theirs.

moto's CloudWatch has no percentiles: GetMetricData answers a ``p99`` statistic with nothing it can
serialise (a 500) and GetMetricStatistics ignores ExtendedStatistics. Here both compute ``pNN``
and ``pNN.NN`` from the stored datapoints as CloudWatch defines a percentile (p95: 95 % of the
period's values are at or below it; the nearest rank of the sorted values), counting a statistic
set only when CloudWatch can (its SampleCount is 1 or its Minimum equals its Maximum); a period
without such values has no datapoint, as in CloudWatch. The local gateway's Latency metrics
(:mod:`local.metrics`) and the console's p50/p99 series rely on it.

moto answers GetMetricData by scanning every datapoint of the window for every query and every
period: the console's traffic page (78 queries, 180 periods) took 1.7 s after 2,000 requests and
8 s over a day of minutes, growing with every request. Here the window's datapoints are indexed
once per call and each query's sorted into its periods, matching a metric as CloudWatch does
(namespace, name and exactly its dimensions; moto ignores the namespace when dimensions are
given).

The patches reach into moto's internals as they are in the versions of ``PATCHED_FOR`` (the pin
in pyproject.toml); with any other moto installed, importing this module fails, naming both.
"""

# moto's internals are imported below the version guard:
# ruff: noqa: E402
from __future__ import annotations

import copy
import inspect
import math
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from importlib import metadata
from types import SimpleNamespace
from typing import Any

#: The moto versions whose internals the patches below were written against and checked with
#: (the pin in pyproject.toml). Another version fails at import: check each patched function
#: against its source before adding it here.
PATCHED_FOR = ("5.2.5",)


class MotoVersionError(RuntimeError):
    """The installed moto is not one the patches were written for."""


def check_moto_version(installed: str | None = None) -> None:
    """Raise :class:`MotoVersionError` unless ``installed`` (default: the installed moto's
    version) is one of ``PATCHED_FOR``."""
    installed = installed or metadata.version("moto")
    if installed not in PATCHED_FOR:
        written_for = " or ".join(PATCHED_FOR)
        raise MotoVersionError(
            f"local.moto_server patches moto's internals as they are in moto {written_for}, but "
            f"moto {installed} is installed: install moto=={PATCHED_FOR[-1]} (the pin in "
            f"pyproject.toml), or check each patch against moto {installed}'s source and add "
            "it to PATCHED_FOR"
        )


check_moto_version()

from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError
from moto.cloudwatch.models import (
    CloudWatchBackend,
    MetricAggregatedDatum,
    MetricDatum,
    Statistics,
)
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

Snapshot = tuple[str, dict[str, Any], Any]  # table name, key, the item's copy (None: absent)

_original_transact_write_items = DynamoDBBackend.transact_write_items
_original_copy = models.copy
_original_handler = DynamoHandler.transact_write_items
_original_query = Table.query
_QUERY_SIGNATURE = inspect.signature(_original_query)  # moto passes some arguments by position
_original_all_items = Table.all_items
_original_tracked = Item.instances_tracked  # type: ignore[attr-defined]
_partition = threading.local()  # the (table, hash key) a Query on the table's key is reading
_copying = threading.local()
TOKEN_TTL_S = 600  # DynamoDB keeps a ClientRequestToken for 10 minutes
_tokens: dict[tuple[str, str, str], float] = {}  # (account, region, token) -> when it succeeded
_tokens_lock = threading.Lock()
_original_statistic = Statistics.get_statistics_for_type
_original_metric_data = CloudWatchBackend.get_metric_data
_original_metric_statistics = CloudWatchResponse.get_metric_statistics
PERCENTILE = re.compile(r"^p(100|\d{1,2}(?:\.\d{1,2})?)$")  # p50, p99, p99.9, p99.99


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy``, except that a table is not copied while a transaction runs here (its
    written items are, by :func:`transact_write_items`)."""
    if isinstance(value, Table) and getattr(_copying, "skip_tables", False):
        return value
    return copy.deepcopy(value, memo)


def _written_key(backend: DynamoDBBackend, operation: dict[str, Any]) -> dict[str, Any] | None:
    """The key an operation of a transaction writes, or None when it names no known table."""
    table = backend.tables.get(operation.get("TableName", ""))
    if table is None:
        return None
    if "Key" in operation:
        return dict(operation["Key"])
    item = operation.get("Item", {})
    names = [table.hash_key_attr, table.range_key_attr]
    return {name: item[name] for name in names if name and name in item}


def _snapshot(backend: DynamoDBBackend, items: list[dict[str, Any]]) -> list[Snapshot]:
    saved: list[Snapshot] = []
    for entry in items:
        operation: Any = next(iter(entry.values()), {})
        key = _written_key(backend, operation) if isinstance(operation, dict) else None
        if key is None:
            continue
        try:
            current = backend.get_item(table_name=operation["TableName"], keys=key)
        except Exception:  # an invalid key: the transaction itself will refuse it
            continue
        saved.append((operation["TableName"], key, copy.deepcopy(current)))
    return saved


def _restore(backend: DynamoDBBackend, saved: list[Snapshot]) -> None:
    for table_name, key, item in reversed(saved):
        if item is None:
            backend.delete_item(table_name=table_name, key=key)
        else:
            backend.put_item(table_name=table_name, item_attrs=item.to_json()["Attributes"])


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    _copying.skip_tables = True
    try:
        yield
    finally:
        _copying.skip_tables = False


#: Transactions run one at a time, as DynamoDB serialises them: without it, a transaction that
#: fails restores its snapshot over a concurrent one's writes (a counter's increment was lost in
#: a two-worker bench.ab run: one listener's 10 impressions and 7 clicks stored, not counted).
_transactions_lock = threading.Lock()


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, rolled back from a copy of the written items only."""
    with _transactions_lock:
        saved = _snapshot(self, transact_items)
        try:
            with _tables_not_copied():
                _original_transact_write_items(self, transact_items=transact_items)
        except Exception:
            _restore(self, saved)
            raise


def handle_transact_write_items(self: DynamoHandler) -> Any:
    """The TransactWriteItems request, idempotent for ``TOKEN_TTL_S`` by its token."""
    token = self.body.get("ClientRequestToken")
    if not token:
        return _original_handler(self)
    key = (self.current_account, self.region, str(token))
    now = time.monotonic()
    with _tokens_lock:
        while _tokens:  # oldest first (insertion order): stop at the first one still kept
            oldest = next(iter(_tokens))
            if now - _tokens[oldest] <= TOKEN_TTL_S:
                break
            del _tokens[oldest]
        if key in _tokens:
            return _success()
    result = _original_handler(self)
    with _tokens_lock:
        _tokens[key] = time.monotonic()  # in order of insertion, as the expiry expects
    return result


def query(self: Table, *args: Any, **kwargs: Any) -> Any:
    """moto's Query; on the table's own key it sees only the items of ``hash_key``'s partition."""
    call = _QUERY_SIGNATURE.bind(self, *args, **kwargs)
    hash_key = call.arguments["hash_key"]
    if call.arguments.get("index_name") or hash_key is None:
        return _original_query(self, *args, **kwargs)
    _partition.current = (self, hash_key)
    try:
        return _original_query(self, *args, **kwargs)
    finally:
        _partition.current = None


def all_items(self: Table) -> list[Any]:
    """moto's ``all_items``, or during a Query on the table's key only that partition's items
    (in the same order: by range key)."""
    current = getattr(_partition, "current", None)
    if current is None or current[0] is not self:
        return _original_all_items(self)
    bucket = self.items.get(current[1])
    if bucket is None:
        return []
    if not self.range_key_attr:
        return [bucket]
    return sorted(bucket.values(), key=lambda item: item.range_key)


class _Untracked(list[Any]):
    """A class-wide instance list that keeps nothing."""

    def append(self, _instance: Any) -> None:
        pass


def _success() -> ActionResult:
    return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})


def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile of ``values`` (0 <= p <= 100): the smallest value with at least
    ``p`` % of the values at or below it (nearest rank); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def percentile_values(stats: Statistics) -> list[float]:
    """The values a percentile of ``stats``' period is computed from: every single value, and
    each statistic set CloudWatch can use (SampleCount 1, or Minimum equal to Maximum) as its
    value repeated SampleCount times."""
    values = [m.value for m in stats.metric_data if isinstance(m, MetricDatum)]
    for s in stats.metric_data:
        if isinstance(s, MetricAggregatedDatum) and (s.sample_count == 1 or s.min == s.max):
            values.extend([s.min] * int(s.sample_count))
    return values


def statistic_for_type(self: Statistics, stat: str) -> Any:
    """moto's statistic of the period, and percentiles (``pNN``, ``pNN.NN``)."""
    found = PERCENTILE.match(stat)
    if found is None:
        return _original_statistic(self, stat)
    return percentile(percentile_values(self), float(found[1]))


def get_metric_data(
    self: CloudWatchBackend,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    """moto's GetMetricData for MetricStat queries, with the window's datapoints indexed once
    by metric (namespace, name and exactly its dimensions, as CloudWatch matches them) and
    each query's sorted into its periods; a period whose statistic has no value (a percentile
    of statistic sets it cannot use) is left out, as CloudWatch does. Queries with expressions
    go to moto's own code."""
    if any("MetricStat" not in q for q in queries):
        return _original_metric_data(self, queries, start_time, end_time, scan_by)
    start_time, end_time = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
    if start_time > end_time:
        raise ValidationError("The parameter EndTime must be greater than StartTime.")
    if start_time == end_time:
        raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
    index: dict[tuple[str, str, frozenset[tuple[str, str]]], list[Any]] = {}
    for datum in self.get_all_metrics():
        if start_time <= datum.timestamp < end_time:
            dims = frozenset((str(d.name), str(d.value)) for d in datum.dimensions)
            index.setdefault((datum.namespace, datum.name, dims), []).append(datum)
    return [
        _metric_stat_result(query, index, start_time, scan_by)
        for query in queries
        if query.get("ReturnData", True)
    ]


def _metric_stat_result(
    query: dict[str, Any],
    index: dict[tuple[str, str, frozenset[tuple[str, str]]], list[Any]],
    start_time: datetime,
    scan_by: str,
) -> dict[str, Any]:
    """One MetricStat query's result: its statistic per period with data, in ``scan_by``
    order."""
    stat = query["MetricStat"]
    metric = stat["Metric"]
    dims = frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
    data = index.get((metric["Namespace"], metric["MetricName"], dims), [])
    if stat.get("Unit"):
        data = [datum for datum in data if datum.unit == stat["Unit"]]
    period = timedelta(seconds=int(stat["Period"]))
    periods: dict[int, list[Any]] = {}
    for datum in data:
        periods.setdefault((datum.timestamp - start_time) // period, []).append(datum)
    timestamps, values = [], []
    for offset in sorted(periods, reverse=scan_by == "TimestampDescending"):
        stats = Statistics([stat["Stat"]], start_time + offset * period)
        stats.metric_data = periods[offset]
        value = stats.get_statistics_for_type(stat["Stat"])
        if value is not None:
            timestamps.append(stats.timestamp)
            values.append(value)
    label = query.get("Label") or f"{metric['MetricName']} {stat['Stat']}"
    return {"id": query["Id"], "label": label, "values": values, "timestamps": timestamps,
            "status_code": "Complete"}  # fmt: skip


def get_metric_statistics(self: CloudWatchResponse) -> ActionResult:
    """moto's GetMetricStatistics, with its ExtendedStatistics (percentiles) answered."""
    extended = self._get_param("ExtendedStatistics") or []
    unsupported = [p for p in extended if not PERCENTILE.match(p)]
    if unsupported:
        raise InvalidParameterValue(
            f"The value {unsupported[0]} for parameter ExtendedStatistics is not supported."
        )
    answer = _original_metric_statistics(self)
    result: Any = answer.result
    for stats in result["Datapoints"]:  # each period's Statistics, serialised by attribute
        stats.extended_statistics = {
            p: value for p in extended if (value := statistic_for_type(stats, p)) is not None
        }
    return answer


def install() -> None:
    """Patch moto's DynamoDB and CloudWatch backends in this process (idempotent)."""
    models.copy = SimpleNamespace(deepcopy=_deepcopy)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = handle_transact_write_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Item.instances_tracked = _Untracked()  # type: ignore[attr-defined]
    Statistics.get_statistics_for_type = statistic_for_type  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo :func:`install`."""
    models.copy = _original_copy
    DynamoDBBackend.transact_write_items = _original_transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _original_handler  # type: ignore[method-assign]
    Table.query = _original_query  # type: ignore[method-assign]
    Table.all_items = _original_all_items  # type: ignore[method-assign]
    Item.instances_tracked = _original_tracked  # type: ignore[attr-defined]
    Statistics.get_statistics_for_type = _original_statistic  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_data = _original_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_statistics = _original_metric_statistics  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    install()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
