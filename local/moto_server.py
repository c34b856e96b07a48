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

The patches reach into moto's internals as they are in the versions of ``PATCHED_FOR`` (the pin
in pyproject.toml); with any other moto installed, importing this module fails, naming both.
"""

# moto's internals are imported below the version guard:
# ruff: noqa: E402
from __future__ import annotations

import copy
import inspect
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    models.copy = SimpleNamespace(deepcopy=_deepcopy)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = handle_transact_write_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Item.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def uninstall() -> None:
    """Undo :func:`install`."""
    models.copy = _original_copy
    DynamoDBBackend.transact_write_items = _original_transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _original_handler  # type: ignore[method-assign]
    Table.query = _original_query  # type: ignore[method-assign]
    Table.all_items = _original_all_items  # type: ignore[method-assign]
    Item.instances_tracked = _original_tracked  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    install()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
