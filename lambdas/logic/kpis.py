"""The music KPIs of the seeds, from the per-day counters the events route writes
(:mod:`lambdas.logic.attribution`): plays from recommendations, follows from "artists for you",
and the follow-through (of the listeners whose first recommended follow fell in the window, how
many have followed another recommended artist). Read by key (BatchGetItem), never by scanning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from lambdas.logic.attribution import FOLLOW_THROUGH, KPIS
from lambdas.store import keys
from lambdas.store.dynamodb import Store

METRICS = (*KPIS.values(), *FOLLOW_THROUGH)
Daily = dict[str, dict[str, int]]  # metric -> day -> total


def window(today: date, days: int) -> list[str]:
    """The ``days`` UTC days ending with ``today``, oldest first (``YYYY-MM-DD``)."""
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def counter_keys(days: Sequence[str]) -> list[dict[str, str]]:
    """Every shard of every KPI counter of ``days``."""
    return [keys.kpi_counter(day, shard, metric) for day in days
            for shard in range(keys.COUNTER_SHARDS) for metric in METRICS]  # fmt: skip


def read_daily(store: Store, days: Sequence[str]) -> Daily:
    """Each KPI counter's total per day of ``days`` (0 where nothing was counted), summed over
    its shards (:class:`lambdas.store.dynamodb.UnreadError` when keys stay unread)."""
    daily: Daily = {metric: dict.fromkeys(days, 0) for metric in METRICS}
    for item in store.items("experiments", counter_keys(days)):
        day = str(item["pk"]).rsplit("#", 2)[1]
        daily[str(item["sk"])][day] += int(item.get("count", 0))
    return daily


def answer(daily: Mapping[str, Mapping[str, int]], days: Sequence[str]) -> dict[str, Any]:
    """The KPIs in the console's shape: totals, series per day (timestamps at midnight UTC)."""
    stamps = [f"{day}T00:00:00Z" for day in days]

    def counted(metric: str) -> dict[str, Any]:
        values = [daily[metric][day] for day in days]
        return {"total": sum(values), "by_day": {"timestamps": stamps, "values": values}}

    followers, another = (sum(daily[metric][day] for day in days) for metric in FOLLOW_THROUGH)
    return {
        "plays_from_recommendations": counted(KPIS["play"]),
        "follows_from_artists": counted(KPIS["follow"]),
        "follow_through": {"followers": followers, "followed_another": another,
                           "rate": another / followers if followers else None},
    }  # fmt: skip
