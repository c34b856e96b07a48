"""The report's counters read by key for the console and the command line: every shard of every
variant and metric, the home screen's policy counted as an experiment of its own, and a read
DynamoDB leaves unfinished is an error, not a smaller total."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiment_report import counted_experiments, read_totals, report
from lambdas.logic.experiments import load
from lambdas.store.dynamodb import Mark, Store, UnreadError
from tests.lambdas.conftest import PREFIX


@pytest.fixture
def store(tables: Any) -> Store:
    return Store({"experiments": boto3.resource("dynamodb").Table(f"{PREFIX}-experiments")})


def test_the_home_screens_policy_is_counted_as_an_experiment_of_its_own():
    configured = load(DEFAULT_EXPERIMENTS)
    counted = counted_experiments(configured)
    assert list(counted) == ["onboarding", "home"]
    home = counted["home"]
    assert (home.control, list(home.variants)) == ("softmax", ["softmax"])
    assert counted_experiments({**configured, "home": configured["onboarding"]})["home"] is (
        configured["onboarding"])  # a configured "home" is left as configured  # fmt: skip
    [row] = report(home, {"softmax": {"impressions": 4, "clicks": 1}})
    assert (row.ctr, row.lift) == (0.25, None)


def test_totals_are_read_by_key_over_every_shard(store):
    marks = [Mark(f"r{i}", "impression", None, ("home", "softmax", "impressions"))
             for i in range(30)]  # fmt: skip
    marks += [Mark("r1", "click", "s1", ("onboarding", "model", "clicks"))]
    for mark in marks:  # one transaction each: several shards
        assert store.count_once_each([mark]) == [True]
    counted = counted_experiments(load(DEFAULT_EXPERIMENTS))
    totals = read_totals(store, counted.values())
    assert totals == {"home": {"softmax": {"impressions": 30}},
                      "onboarding": {"model": {"clicks": 1}}}  # fmt: skip


def test_keys_left_unread_are_an_error(store):
    client = store.tables["experiments"].meta.client
    table = store.tables["experiments"].name

    def keep_back(parsed: dict[str, Any], **kwargs: Any) -> None:
        """DynamoDB answers a key back unprocessed, every time."""
        if parsed.get("Responses") is not None:
            parsed["UnprocessedKeys"] = {table: {"Keys": [{"pk": {"S": "x"}, "sk": {"S": "y"}}]}}

    client.meta.events.register("after-call.dynamodb.BatchGetItem", keep_back)
    try:
        with pytest.raises(UnreadError, match="keys unread"):
            read_totals(store, load(DEFAULT_EXPERIMENTS).values())
    finally:
        client.meta.events.unregister("after-call.dynamodb.BatchGetItem", keep_back)
