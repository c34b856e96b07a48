"""The API's DynamoDB access: batch lists of the active version, catalogue entries, profiles,
events, availability and experiment counters. Keys come from :mod:`lambdas.store.keys` only."""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.store import keys
from lambdas.store.lru import Lru
from lambdas.store.retry import Backoff, GaveUpError, until_done

EVENT_TTL_DAYS = 30
ISSUED_TTL_DAYS = 7  # how long an answer's impressions and clicks can still be attributed
KPI_MARKER_TTL_DAYS = 400  # a listener's follow-through marker: over a year of KPIs
MAX_BATCH_GET = 100
BATCH_GET_RETRIES = 5
LOG_READERS = 10  # threads reading a bandit's log (botocore's default connection pool: 10)
RECORD_CACHE_SIZE = 20_000  # batch records kept per container (immutable: keys carry the version)
# what re-ranking reads of the latest events (the rest of each event is not sent back)
RERANK_FIELDS = ("type", "item_id", "artist_id")


# marks and their log entries per transaction, and up to 10 counters: DynamoDB takes 100 items
MARKS_PER_TRANSACTION = 90
COUNTERS_PER_TRANSACTION = 10
COUNT_ATTEMPTS = 4
# cancellation reasons a counting transaction is written again after (a mark counted before is
# left out; a conflict is another request's transaction on the same counter shard)
_RETRIED_CANCELLATIONS = {"None", "ConditionalCheckFailed", "TransactionConflict"}


@dataclass(frozen=True)
class Observed:
    """What a bandit learns from one counted impression or click: the answer it ranked, as
    recorded when it was issued (its features, position, propensity), logged for the bandit
    called ``bandit``'s refresh."""

    bandit: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Mark:
    """One impression or click of one item (None: the whole answer) of an issued answer, the
    counter (experiment, variant, metric) it adds to and, for an answer a bandit ranked, what
    that bandit observes (logged with the mark, once)."""

    recommendation_id: str
    event_type: str
    item_id: str | None
    counter: tuple[str, str, str]
    observed: Observed | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return self.recommendation_id, self.event_type, self.item_id

    @property
    def items(self) -> int:
        """Transaction items it needs besides its counter: the mark and the log entry, if any."""
        return 1 + (self.observed is not None)


def dynamo_value(value: Any) -> Any:
    """``value`` as boto3 writes it: floats as Decimals (rounded to 9 significant digits),
    recursively; a float that is not finite is refused."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return Decimal(f"{value:.9g}")
    if isinstance(value, Mapping):
        return {str(k): dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dynamo_value(v) for v in value]
    return value


def _counter_update(table: str, counter: tuple[str, str, str], n: int) -> dict[str, Any]:
    """The transaction item adding ``n`` to a counter, on one of ``keys.COUNTER_SHARDS`` keys
    chosen at random (so one busy variant cannot throttle a key)."""
    experiment, variant, metric = counter
    shard = random.randrange(keys.COUNTER_SHARDS)
    return {"Update": {"TableName": table, "Key": keys.counter(experiment, variant, shard, metric),
                       "UpdateExpression": "ADD #c :n", "ExpressionAttributeNames": {"#c": "count"},
                       "ExpressionAttributeValues": {":n": n}}}  # fmt: skip


def _chunks(indices: list[int], marks: Sequence[Mark]) -> list[list[int]]:
    """``indices`` of ``marks`` in order, cut where a transaction's marks and log entries would
    exceed ``MARKS_PER_TRANSACTION`` or its distinct counters ``COUNTERS_PER_TRANSACTION``."""
    chunks: list[list[int]] = []
    size = MARKS_PER_TRANSACTION
    counters: set[tuple[str, str, str]] = set()
    for i in indices:
        new_counter = marks[i].counter not in counters
        if (size + marks[i].items > MARKS_PER_TRANSACTION
                or len(counters) + new_counter > COUNTERS_PER_TRANSACTION):  # fmt: skip
            chunks.append([])
            size, counters = 0, set()
        chunks[-1].append(i)
        size += marks[i].items
        counters.add(marks[i].counter)
    return chunks


class NoActiveVersionError(LookupError):
    """No batch version has been loaded yet."""


class UnreadError(RuntimeError):
    """Keys DynamoDB still left unprocessed after every retry of a BatchGetItem."""


def _cancellation_codes(exc: ClientError) -> list[str | None]:
    """The per-item reasons of a cancelled transaction (empty: not a cancellation)."""
    return [r.get("Code") for r in exc.response.get("CancellationReasons") or []]


@dataclass
class _Cached:
    value: Any
    until: float


class Store:
    """Reads and writes for the handlers; ``tables`` maps table names to boto3 Table objects."""

    def __init__(
        self,
        tables: Mapping[str, Any],
        cache_seconds: float = 30,
        clock: Callable[[], float] = time.time,
        record_cache_size: int = RECORD_CACHE_SIZE,
    ) -> None:
        self.tables = tables
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: dict[str, _Cached] = {}
        # A version's records never change, so they are cached without expiry (misses too).
        self._records: Lru[str, dict[str, Any] | None] = Lru(record_cache_size)

    def _cached(self, name: str, load: Callable[[], Any]) -> Any:
        entry = self._cache.get(name)
        now = self.clock()
        if entry is None or entry.until <= now:
            entry = _Cached(load(), now + self.cache_seconds)
            self._cache[name] = entry
        return entry.value

    # batch lists -------------------------------------------------------------------------------

    def active_version(self) -> str:
        """The active batch version (cached for ``cache_seconds``)."""

        def load() -> str | None:
            item = self.tables["state"].get_item(Key=keys.ACTIVE).get("Item")
            return str(item["version"]) if item else None

        version = self._cached("active", load)
        if version is None:
            self._cache.pop("active", None)
            raise NoActiveVersionError("no batch version is active yet")
        return str(version)

    def record(self, family: str, key: str, version: str | None = None) -> dict[str, Any] | None:
        """One batch record of the active (or a given) version, or None."""
        pk = keys.list_pk(family, version or self.active_version(), key)
        if pk in self._records:
            return self._records.get(pk)
        item = self.tables["lists"].get_item(Key={"pk": pk}).get("Item")
        record = json.loads(item["doc"]) if item else None
        self._records.put(pk, record)
        return record

    def records(
        self, family: str, record_keys: Sequence[str], version: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Several records of one family by key (BatchGetItem, unprocessed keys retried)."""
        version = version or self.active_version()
        wanted = {keys.list_pk(family, version, k): k for k in dict.fromkeys(record_keys)}
        found: dict[str, dict[str, Any]] = {}
        pending = []
        for pk, key in wanted.items():
            if pk not in self._records:
                pending.append(pk)
            elif (cached := self._records.get(pk)) is not None:
                found[key] = cached
        for pk, record in self._batch_get(pending).items():
            self._records.put(pk, record)
            if record is not None:
                found[wanted[pk]] = record
        return found

    def _batch_get(self, pending: list[str]) -> dict[str, dict[str, Any] | None]:
        """Records by partition key, read with BatchGetItem; every key DynamoDB answered maps to
        its record or None (absent). Keys still unanswered after the retries are left out (and
        not cached)."""
        items, unanswered = self._batch_get_items("lists", [{"pk": pk} for pk in pending])
        answered: dict[str, dict[str, Any] | None] = dict.fromkeys(
            set(pending) - {str(key["pk"]) for key in unanswered}
        )
        for item in items:
            answered[str(item["pk"])] = json.loads(item["doc"])
        return answered

    def _batch_get_items(
        self, table: str, wanted: list[dict[str, Any]], consistent: bool = False
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The items of ``table`` at the ``wanted`` keys (BatchGetItem, ``MAX_BATCH_GET`` keys a
        call; unprocessed keys retried with backoff, at most ``BATCH_GET_RETRIES`` times), and the
        keys still unanswered after that. An absent item is simply not among the items."""
        found = self.tables[table]
        items: list[dict[str, Any]] = []

        def read(pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
            left: list[dict[str, Any]] = []
            for start in range(0, len(pending), MAX_BATCH_GET):
                request: dict[str, Any] = {"Keys": pending[start : start + MAX_BATCH_GET]}
                if consistent:
                    request["ConsistentRead"] = True
                response = found.meta.client.batch_get_item(RequestItems={found.name: request})
                left += response.get("UnprocessedKeys", {}).get(found.name, {}).get("Keys", [])
                items.extend(response["Responses"].get(found.name, []))
            return left

        try:
            until_done(read, wanted, Backoff(max_attempts=1 + BATCH_GET_RETRIES, base_s=0.01))
        except GaveUpError as exc:  # the keys still unanswered are the caller's to leave out
            return items, cast("list[dict[str, Any]]", exc.left)
        return items, []

    def items(self, table: str, wanted: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """The items of ``table`` at the ``wanted`` keys, by BatchGetItem (see
        :meth:`_batch_get_items`); absent ones are left out. Raises :class:`UnreadError` when
        keys are still unanswered after the retries (a total must not silently miss a shard)."""
        found, left = self._batch_get_items(table, [dict(key) for key in wanted])
        if left:
            raise UnreadError(f"{table}: {len(left)} keys unread after {BATCH_GET_RETRIES} retries")
        return [dict(item) for item in found]

    def catalog(self, item_ids: Iterable[str], kind: str = "item") -> dict[str, dict[str, Any]]:
        """Catalogue entries (title, artist, album, genre, available) by id."""
        found = self.records("catalog", [f"{kind}#{i}" for i in item_ids])
        return {key.split("#", 1)[1]: value for key, value in found.items()}

    # availability ------------------------------------------------------------------------------

    def set_availability(self, item_id: str, available: bool) -> None:
        self.tables["state"].put_item(
            Item={**keys.availability(item_id), "available": available, "at": int(self.clock())}
        )
        self._cache.pop("unavailable", None)

    def set_availabilities(self, changes: Mapping[str, bool]) -> None:
        """Several changes at once (BatchWriteItem, unprocessed items retried by boto3)."""
        at = int(self.clock())
        with self.tables["state"].batch_writer() as writer:
            for item_id, available in changes.items():
                writer.put_item(Item={**keys.availability(item_id), "available": available,
                                      "at": at})  # fmt: skip
        self._cache.pop("unavailable", None)

    def unavailable(self) -> frozenset[str]:
        """Songs marked unavailable since the batch ran (cached for ``cache_seconds``)."""

        def load() -> frozenset[str]:
            items = self._query("state", Key("pk").eq("availability"))
            return frozenset(
                str(i["sk"]).removeprefix("item#") for i in items if not i.get("available")
            )

        return frozenset(self._cached("unavailable", load))

    def availability_overrides(self) -> dict[str, bool]:
        """Every recorded availability change, by song (uncached: for the sync)."""
        items = self._query("state", Key("pk").eq("availability"))
        return {str(i["sk"]).removeprefix("item#"): bool(i.get("available")) for i in items}

    # profiles and events -----------------------------------------------------------------------

    def put_profile(self, user_id: str, profile: dict[str, Any]) -> None:
        self.tables["state"].put_item(Item={**keys.profile(user_id), **profile})

    def profile(self, user_id: str) -> dict[str, Any] | None:
        item = self.tables["state"].get_item(Key=keys.profile(user_id)).get("Item")
        return dict(item) if item else None

    def put_event(self, event: dict[str, Any]) -> bool:
        """Store one event once: False when its ``event_id`` was stored before (a retry).

        The ``event_id`` marker and the event are written in one transaction: a failure stores
        neither, so a retry stores the event instead of taking it for a duplicate."""
        expires_at = int(self.clock()) + EVENT_TTL_DAYS * 86400
        name = self.tables["events"].name
        marker_key = keys.event_marker(event["user_id"], event["event_id"])
        marker = {**marker_key, "expires_at": expires_at}
        item = {
            "pk": keys.user_events_pk(event["user_id"]),
            "sk": keys.event_sk(int(event["ts"]), event["event_id"]),
            **{k: v for k, v in event.items() if v is not None},
            "expires_at": expires_at,
        }
        try:
            self.tables["events"].meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": name,
                            "Item": marker,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": name, "Item": item}},
                ]
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or [{}]
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def recent_events(
        self, user_id: str, limit: int = 50, fields: Sequence[str] = RERANK_FIELDS
    ) -> list[dict[str, Any]]:
        """The listener's latest events, newest first, with only ``fields`` read."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        page = self.tables["events"].query(
            KeyConditionExpression=Key("pk").eq(keys.user_events_pk(user_id)),
            ScanIndexForward=False,
            Limit=limit,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        return [dict(i) for i in page["Items"]]

    # issued answers and their attribution ------------------------------------------------------

    def put_issued(self, recommendation_id: str, issued: Mapping[str, Any]) -> None:
        """Record an answer as issued: who got it, under which experiment and variant, what."""
        self.tables["experiments"].put_item(Item=self._issued_item(recommendation_id, issued))

    def put_issued_many(self, answers: Mapping[str, Mapping[str, Any]]) -> None:
        """Record several answers as issued (by ``recommendation_id``), in BatchWriteItem calls
        (unprocessed items retried by boto3)."""
        with self.tables["experiments"].batch_writer() as writer:
            for recommendation_id, issued in answers.items():
                writer.put_item(Item=self._issued_item(recommendation_id, issued))

    def _issued_item(self, recommendation_id: str, issued: Mapping[str, Any]) -> dict[str, Any]:
        expires_at = int(self.clock()) + ISSUED_TTL_DAYS * 86400
        item = {k: dynamo_value(v) for k, v in issued.items() if v is not None and v != []}
        return {**keys.issued(recommendation_id), **item, "expires_at": expires_at}

    def issued(self, recommendation_id: str) -> dict[str, Any] | None:
        """What was recorded when an answer was issued, or None (unknown or expired)."""
        table = self.tables["experiments"]
        item = table.get_item(Key=keys.issued(recommendation_id), ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def issued_many(self, recommendation_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What was recorded of several answers when they were issued, by ``recommendation_id``
        (consistent BatchGetItem, see :meth:`_batch_get_items`); unknown or expired ones are
        absent (as are any still unanswered after the retries)."""
        wanted = [keys.issued(rec) for rec in dict.fromkeys(recommendation_ids)]
        items, _ = self._batch_get_items("experiments", wanted, consistent=True)
        return {str(item["pk"]).removeprefix("rec#"): dict(item) for item in items}

    def count_once_each(self, marks: Sequence[Mark]) -> list[bool]:
        """Count each impression or click of an answer's item once: its mark (that it was
        counted) and the counter it adds to are written in one transaction, so a failure writes
        neither and a retry counts it. Per mark, whether it was counted now (False: before, or
        earlier in ``marks``)."""
        first = {mark.key: i for i, mark in reversed(list(enumerate(marks)))}
        counted = [False] * len(marks)
        for chunk in _chunks(sorted(first.values()), marks):
            done = set(self._count_chunk([marks[i] for i in chunk]))
            for i in chunk:
                counted[i] = marks[i].key in done
        return counted

    def _count_chunk(self, pending: list[Mark]) -> list[tuple[str, str, str | None]]:
        """One transaction of marks and their counters; marks counted before are left out and
        the rest written again, as are all after a conflict on a counter (backoff between)."""
        name = self.tables["experiments"].name
        client = self.tables["experiments"].meta.client
        expires_at = int(self.clock()) + ISSUED_TTL_DAYS * 86400
        last: ClientError | None = None
        for attempt in range(COUNT_ATTEMPTS):
            if not pending:
                return []
            puts = [{"Put": {"TableName": name, "ConditionExpression": "attribute_not_exists(pk)",
                             "Item": {**keys.counted(*mark.key), "expires_at": expires_at}}}
                    for mark in pending]  # fmt: skip
            # after the marks, so that the cancellation reasons of the marks come first
            logs = [{"Put": {"TableName": name, "Item": self._observed_item(mark, expires_at)}}
                    for mark in pending if mark.observed is not None]  # fmt: skip
            adds = Counter(mark.counter for mark in pending)
            updates = [_counter_update(name, counter, n) for counter, n in adds.items()]
            try:
                client.transact_write_items(TransactItems=[*puts, *logs, *updates])
                return [mark.key for mark in pending]
            except ClientError as exc:
                codes = _cancellation_codes(exc)
                if not codes or any(c not in _RETRIED_CANCELLATIONS for c in codes):
                    raise  # throttled or failed: nothing was written, the caller's retry counts
                last = exc
                pending = [m for m, c in zip(pending, codes, strict=False)
                           if c != "ConditionalCheckFailed"]  # fmt: skip
                if "TransactionConflict" in codes:
                    time.sleep(0.01 * 2**attempt * (1 + random.random()))
        if not pending:
            return []
        raise last or RuntimeError("unreachable: every attempt failed")  # 503: nothing written

    # follow-through -------------------------------------------------------------------------------

    def follow_through(self, user_id: str) -> dict[str, Any] | None:
        """A listener's follow-through marker (consistent read), or None: no recommended follow."""
        table = self.tables["experiments"]
        item = table.get_item(Key=keys.follow_through(user_id), ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def start_follow_through(self, user_id: str, artist: str, day: str) -> bool:
        """Record ``artist`` as the listener's first recommended follow, on ``day``, and count
        them among that day's followers, in one transaction written only if they have no marker
        yet: False when they had one (or a concurrent request wrote it): nothing written."""
        name = self.tables["experiments"].name
        expires_at = int(self.clock()) + KPI_MARKER_TTL_DAYS * 86400
        marker = {**keys.follow_through(user_id), "first": artist, "first_day": day,
                  "expires_at": expires_at}  # fmt: skip
        return self._conditional_count([
            {"Put": {"TableName": name, "Item": marker,
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            _counter_update(name, (keys.KPI, day, "followers"), 1),
        ])  # fmt: skip

    def continue_follow_through(
        self, user_id: str, artist: str, first: str, first_day: str, day: str
    ) -> bool:
        """Record ``artist`` as the listener's second recommended follow, on ``day``, and count
        them among the followers of ``first_day`` who followed another, in one transaction
        written only if their marker still names ``first`` and no second: False otherwise."""
        name = self.tables["experiments"].name
        return self._conditional_count([
            {"Update": {"TableName": name, "Key": keys.follow_through(user_id),
                        "UpdateExpression": "SET #s = :a, second_day = :d",
                        "ConditionExpression": "#f = :f AND attribute_not_exists(#s)",
                        "ExpressionAttributeNames": {"#f": "first", "#s": "second"},
                        "ExpressionAttributeValues": {":a": artist, ":d": day, ":f": first}}},
            _counter_update(name, (keys.KPI, first_day, "followed_another"), 1),
        ])  # fmt: skip

    def _conditional_count(self, items: list[dict[str, Any]]) -> bool:
        """Write ``items`` (a conditional marker write, then its counter) in one transaction:
        False when the marker's condition failed (nothing written: the caller reads the marker
        again). A conflict with another transaction on the counter's shard is written again
        (backoff between, at most ``COUNT_ATTEMPTS`` times, then raised: nothing written)."""
        client = self.tables["experiments"].meta.client
        for attempt in range(COUNT_ATTEMPTS):
            try:
                client.transact_write_items(TransactItems=items)
                return True
            except ClientError as exc:
                codes = _cancellation_codes(exc)
                if codes[:1] == ["ConditionalCheckFailed"]:
                    return False
                if "TransactionConflict" not in codes or attempt == COUNT_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * 2**attempt * (1 + random.random()))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _observed_item(self, mark: Mark, expires_at: int) -> dict[str, Any]:
        """The log entry of what a bandit observes from a counted mark: its minute's shard."""
        assert mark.observed is not None
        now_ms = int(self.clock() * 1000)
        rec, event_type, item = mark.key
        return {
            "pk": keys.bandit_log_pk(mark.observed.bandit, now_ms // 60_000,
                                     keys.bandit_log_shard(rec)),
            "sk": keys.bandit_log_sk(now_ms, rec, event_type, item),
            **dynamo_value(dict(mark.observed.fields)),
            "type": event_type,
            "expires_at": expires_at,
        }  # fmt: skip

    # bandits -----------------------------------------------------------------------------------

    def bandit_state(self, name: str, cached: bool = True) -> dict[str, Any] | None:
        """The state item of the bandit ``name`` (None: none yet): cached for ``cache_seconds``
        for the API; ``cached=False`` reads it afresh, consistently (the refresh)."""

        def load() -> dict[str, Any] | None:
            table = self.tables["experiments"]
            found = table.get_item(Key=keys.bandit_state(name), ConsistentRead=not cached)
            item = found.get("Item")
            return dict(item) if item else None

        if not cached:
            return load()
        return self._cached(f"bandit#{name}", load)

    def put_bandit_state(
        self, name: str, state: Mapping[str, Any], version: int, previous: int | None
    ) -> bool:
        """Write the bandit's state as ``version`` if the stored one is still ``previous`` (None:
        there is none): False when another writer got there first (nothing written)."""
        item = {**keys.bandit_state(name), **dynamo_value(dict(state)), "version": version}
        if previous is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {"ConditionExpression": "version = :v",
                         "ExpressionAttributeValues": {":v": previous}}  # fmt: skip
        try:
            self.tables["experiments"].put_item(Item=item, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        self._cache.pop(f"bandit#{name}", None)
        return True

    def bandit_log(self, name: str, minute: int) -> list[dict[str, Any]]:
        """What the bandit ``name`` observed in one minute (since the epoch): every shard."""
        found: list[dict[str, Any]] = []
        for shard in range(keys.BANDIT_LOG_SHARDS):
            pk = keys.bandit_log_pk(name, minute, shard)
            found += self._query("experiments", Key("pk").eq(pk))
        return found

    def bandit_logs(
        self,
        name: str,
        minutes: Sequence[int],
        *,
        workers: int = LOG_READERS,
        deadline: float | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The log entries of ``minutes`` (in the order given) of the bandit ``name``, read by
        ``workers`` threads (a query per minute and shard, on the table's client, which threads
        may share), and how many of ``minutes`` were read: with a ``deadline`` (a time of
        :attr:`clock`), those not read by then are left out (only a leading run of ``minutes``
        is kept, so the entries cover an unbroken window)."""
        table = self.tables["experiments"]

        def read(minute: int) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            for shard in range(keys.BANDIT_LOG_SHARDS):
                condition = Key("pk").eq(keys.bandit_log_pk(name, minute, shard))
                found += self._query_client(table, condition)
            return found

        entries: list[dict[str, Any]] = []
        done = 0
        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        try:
            futures = [pool.submit(read, minute) for minute in minutes]
            for future in futures:
                left = None if deadline is None else max(0.0, deadline - self.clock())
                try:
                    entries += future.result(timeout=left)
                except FutureTimeout:
                    break
                done += 1
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return entries, done

    @staticmethod
    def _query_client(table: Any, condition: Any) -> list[dict[str, Any]]:
        """Every item of a key condition, through the table's (thread-safe) client."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table.name, "KeyConditionExpression": condition}
        while True:
            page = table.meta.client.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, table: str, condition: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            page = self.tables[table].query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class RequestStore(Store):
    """The store of one request that composes several lists of one listener: their latest events
    and profile are read once, not once per list; everything else is the container's store's
    (the same tables and caches)."""

    def __init__(self, store: Store) -> None:  # shares the store's state, by reference
        self.__dict__.update(store.__dict__)
        self._events_read: dict[tuple[str, int, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._profiles_read: dict[str, dict[str, Any] | None] = {}

    def recent_events(
        self, user_id: str, limit: int = 50, fields: Sequence[str] = RERANK_FIELDS
    ) -> list[dict[str, Any]]:
        key = (user_id, limit, tuple(fields))
        if key not in self._events_read:
            self._events_read[key] = super().recent_events(user_id, limit, fields)
        return [dict(e) for e in self._events_read[key]]

    def profile(self, user_id: str) -> dict[str, Any] | None:
        if user_id not in self._profiles_read:
            self._profiles_read[user_id] = super().profile(user_id)
        found = self._profiles_read[user_id]
        return dict(found) if found is not None else None

    def put_profile(self, user_id: str, profile: dict[str, Any]) -> None:
        self._profiles_read.pop(user_id, None)
        super().put_profile(user_id, profile)
