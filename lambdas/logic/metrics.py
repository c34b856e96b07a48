"""The console's time series, read from CloudWatch with GetMetricData (in AWS and, locally, from
moto's CloudWatch, which the local gateway and the functions' EMF lines feed): API Gateway's
per-route requests, errors and latency, the onboarding fallback rate, and each experiment's
impressions, clicks and CTR per variant. Every series is aligned on the period grid from
``start`` to ``end``, oldest first, ``None`` where CloudWatch holds no datum."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lambdas.logic.experiments import Experiment
from lambdas.routes import Route

API_NAMESPACE = "AWS/ApiGateway"  # API Gateway's metrics (the stage's detailed metrics)
NAMESPACE = "musicrec"  # our functions' EMF metrics (lambdas/api/events.py, handler_for)
MAX_QUERIES = 500  # GetMetricData's limit of MetricDataQueries per call
MAX_PAGES = 100  # a bound on NextToken pages per call (72 h of 1-minute data needs a handful)
Value = float | None
Series = dict[str, list[Any]]  # {"timestamps": [ISO-8601, ...], "values": [...]}


@dataclass(frozen=True)
class MetricQuery:
    """One metric's statistic: a GetMetricData ``MetricStat`` query."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str  # Sum, Average, ..., or a percentile such as p99

    def request(self, query_id: str, period_s: int) -> dict[str, Any]:
        """The MetricDataQuery asking for this statistic per period."""
        metric = {
            "Namespace": self.namespace,
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
        }
        return {
            "Id": query_id,
            "MetricStat": {"Metric": metric, "Period": period_s, "Stat": self.stat},
            "ReturnData": True,
        }


@dataclass(frozen=True)
class Grid:
    """The periods of a time window: ``start`` and ``end`` aligned to the period (UTC)."""

    start: datetime
    end: datetime
    period_s: int

    @classmethod
    def of(cls, start: datetime, end: datetime, period_s: int) -> Grid:
        """The grid covering [start, end): start rounded down and end up to whole periods."""
        if period_s <= 0 or period_s % 60:
            raise ValueError(f"period_s={period_s}: a positive multiple of 60")
        first = math.floor(_utc(start).timestamp() / period_s) * period_s
        last = math.ceil(_utc(end).timestamp() / period_s) * period_s
        last = max(last, first + period_s)
        return cls(_from_epoch(first), _from_epoch(last), period_s)

    @property
    def size(self) -> int:
        return int((self.end - self.start).total_seconds()) // self.period_s

    def index(self, timestamp: datetime) -> int | None:
        """The period holding ``timestamp``, or None outside the grid."""
        offset = int((_utc(timestamp) - self.start).total_seconds()) // self.period_s
        return offset if 0 <= offset < self.size else None

    def timestamps(self) -> list[str]:
        """Each period's start, ISO-8601 (UTC, ``Z``)."""
        step = timedelta(seconds=self.period_s)
        return [iso(self.start + i * step) for i in range(self.size)]


def iso(moment: datetime) -> str:
    """``2026-01-02T03:04:05Z``."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def fetch(cloudwatch: Any, queries: Sequence[MetricQuery], grid: Grid) -> list[list[Value]]:
    """Each query's values on ``grid`` (None where there is no datum), in the queries' order:
    GetMetricData calls of at most :data:`MAX_QUERIES` queries, each followed through its
    NextToken pages."""
    found: list[list[Value]] = [[None] * grid.size for _ in queries]
    for first in range(0, len(queries), MAX_QUERIES):
        chunk = queries[first : first + MAX_QUERIES]
        requests = [q.request(f"q{first + i}", grid.period_s) for i, q in enumerate(chunk)]
        for result in _results(cloudwatch, requests, grid):
            values = found[int(result["Id"][1:])]
            for moment, value in zip(result["Timestamps"], result["Values"], strict=True):
                slot = grid.index(moment)
                if slot is not None and value is not None:  # moto: None for stats it lacks
                    values[slot] = float(value)
    return found


def _results(
    cloudwatch: Any, requests: list[dict[str, Any]], grid: Grid
) -> Iterator[dict[str, Any]]:
    """The MetricDataResults of one GetMetricData call, page after page."""
    kwargs: dict[str, Any] = {
        "MetricDataQueries": requests,
        "StartTime": grid.start,
        "EndTime": grid.end,
        "ScanBy": "TimestampAscending",
    }
    for _ in range(MAX_PAGES):
        answer = cloudwatch.get_metric_data(**kwargs)
        yield from answer.get("MetricDataResults", [])
        token = answer.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token
    raise RuntimeError(f"GetMetricData: more than {MAX_PAGES} pages")


def series(grid: Grid, values: Sequence[Any]) -> Series:
    """A series in the console's shape."""
    return {"timestamps": grid.timestamps(), "values": list(values)}


def counts(values: Iterable[Value]) -> list[int | None]:
    """Sums of counts as integers (CloudWatch answers floats)."""
    return [None if v is None else round(v) for v in values]


def ratio(numerator: Value, denominator: Value, scale: float = 1.0) -> Value:
    """``scale * numerator / denominator``; None without a denominator (no datum, or 0)."""
    if not denominator:
        return None
    return scale * (numerator or 0.0) / denominator


# -- API Gateway: requests, errors and latency per route --------------------------------------

ROUTE_METRICS = (  # answer key, metric, statistic
    ("count", "Count", "SampleCount"),  # API Gateway: SampleCount is the count
    ("errors_4xx", "4XXError", "Sum"),
    ("errors_5xx", "5XXError", "Sum"),
    ("p50_ms", "Latency", "p50"),
    ("p99_ms", "Latency", "p99"),
)
COUNTED_KEYS = ("count", "errors_4xx", "errors_5xx")


def route_queries(api_name: str, stage: str, route: Route) -> list[MetricQuery]:
    """A route's API Gateway metrics: dimensions ApiName, Stage, Resource (the path template,
    ``/v1/users/{userId}/home``) and Method, as the stage's detailed metrics carry them."""
    dims = (("ApiName", api_name), ("Stage", stage), ("Resource", route.path),
            ("Method", route.method))  # fmt: skip
    return [MetricQuery(API_NAMESPACE, name, dims, stat) for _, name, stat in ROUTE_METRICS]


def traffic(
    cloudwatch: Any,
    api_name: str,
    stage: str,
    routes: Sequence[Route],
    start: datetime,
    end: datetime,
    period_s: int,
) -> list[dict[str, Any]]:
    """Per route: requests, 4xx and 5xx answers (sums per period, with their totals) and the
    latency's p50 and p99 (ms) per period."""
    grid = Grid.of(start, end, period_s)
    queries = [q for route in routes for q in route_queries(api_name, stage, route)]
    values = iter(fetch(cloudwatch, queries, grid))
    answer = []
    for route in routes:
        entry: dict[str, Any] = {"method": route.method, "path": route.path}
        for key, _, _ in ROUTE_METRICS:
            found = next(values)
            shaped = counts(found) if key in COUNTED_KEYS else _milliseconds(found)
            entry[key] = series(grid, shaped)
        entry["totals"] = {key: sum(v or 0 for v in entry[key]["values"]) for key in COUNTED_KEYS}
        answer.append(entry)
    return answer


def _milliseconds(values: Iterable[Value]) -> list[float | None]:
    return [None if v is None else round(v, 1) for v in values]


# -- The functions' fallbacks -------------------------------------------------------------------

# name: (fallback metric, the metrics of every answer that could have fallen back, dimensions),
# as infra/monitoring_stack.py's _fallback_rate draws and alarms on them.
FALLBACKS: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    # onboarding answers given by the rule because the model failed: fallback / (fallback + model)
    "onboarding": ("OnboardingFallback", ("OnboardingFallback", "Onboarding_model"),
                   (("service", "onboarding"),)),
    # home screens ranked by the prior because the bandit state was unusable: over every screen
    "home": ("HomePolicyFallback", ("HomeScreens",), (("service", "recommendations"),)),
}  # fmt: skip


def fallback_series(
    cloudwatch: Any, start: datetime, end: datetime, period_s: int
) -> dict[str, Series]:
    """Each fallback's rate per period, in percent of the answers that could have fallen back
    (None in periods without such answers)."""
    grid = Grid.of(start, end, period_s)
    queries = []
    for fallback, total, dims in FALLBACKS.values():
        queries.append(MetricQuery(NAMESPACE, fallback, dims, "Sum"))
        queries.extend(MetricQuery(NAMESPACE, name, dims, "Sum") for name in total)
    values = iter(fetch(cloudwatch, queries, grid))
    answer = {}
    for name, (_, total, _) in FALLBACKS.items():
        fallbacks = next(values)
        parts = [next(values) for _ in total]
        denominators = [_sum(column) for column in zip(*parts, strict=True)]
        rates = [ratio(f, d, 100.0) for f, d in zip(fallbacks, denominators, strict=True)]
        answer[name] = series(grid, [None if r is None else round(r, 2) for r in rates])
    return answer


def _sum(values: Iterable[Value]) -> Value:
    """The sum of the values present; None when none is."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


# -- Experiments: impressions, clicks and CTR per variant ----------------------------------------


def ctr_series(
    cloudwatch: Any,
    experiments: Mapping[str, Experiment],
    start: datetime,
    end: datetime,
    period_s: int,
) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """Per experiment and variant: ``{"timestamps", "impressions", "clicks", "ctr"}`` per
    period, from the ``Impressions`` and ``Clicks`` sums that lambdas/api/events.py's
    ``emit_counts`` writes (dimensions experiment and variant). ``ctr`` is clicks / impressions
    as a fraction (not percent), None where a period has no impression; impressions and clicks
    are None where CloudWatch has no datum (the functions emit no zero counts)."""
    grid = Grid.of(start, end, period_s)
    groups = [(name, variant) for name, spec in experiments.items() for variant in spec.variants]
    queries = [
        MetricQuery(NAMESPACE, metric, (("experiment", name), ("variant", variant)), "Sum")
        for name, variant in groups
        for metric in ("Impressions", "Clicks")
    ]
    values = iter(fetch(cloudwatch, queries, grid))
    stamps = grid.timestamps()
    answer: dict[str, dict[str, dict[str, list[Any]]]] = {name: {} for name in experiments}
    for name, variant in groups:
        impressions, clicks = counts(next(values)), counts(next(values))
        ctr = [ratio(c, i) for i, c in zip(impressions, clicks, strict=True)]
        answer[name][variant] = {
            "timestamps": list(stamps),
            "impressions": impressions,
            "clicks": clicks,
            "ctr": [None if r is None else round(r, 6) for r in ctr],
        }
    return answer
