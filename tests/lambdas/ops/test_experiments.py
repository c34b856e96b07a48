"""Assignment is stable and proportional; the report's statistics match hand-computed values."""

from __future__ import annotations

import math
from collections import Counter

import boto3
import pytest

from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import ExperimentConfigError, load, parse
from lambdas.ops.experiments import compare, main, report, sum_counters
from lambdas.store.dynamodb import Mark, Store
from lambdas.store.keys import COUNTER_SHARDS
from tests.lambdas.conftest import PREFIX


def test_assignment_is_stable_and_follows_the_weights():
    experiment = parse({"x": {"salt": "s", "variants": {"a": 1, "b": 3}}})["x"]
    first = [experiment.assign(f"user-{i}") for i in range(8000)]
    assert first == [experiment.assign(f"user-{i}") for i in range(8000)]
    share = Counter(first)["b"] / len(first)
    assert share == pytest.approx(0.75, abs=0.02)
    other = parse({"x": {"salt": "t", "variants": {"a": 1, "b": 3}}})["x"]
    assert [other.assign(f"user-{i}") for i in range(200)] != first[:200]


def test_shipped_configuration_loads():
    experiments = load(DEFAULT_EXPERIMENTS)
    assert experiments["onboarding"].control == "rules"


@pytest.mark.parametrize(
    "document",
    [
        {"x": {"variants": {}}},
        {"x": {"variants": {"a": 0}}},
        {"x": {"variants": {"a": 1}, "control": "b"}},
    ],
)
def test_bad_configurations_are_refused(document):
    with pytest.raises(ExperimentConfigError):
        parse(document)


def test_lift_interval_and_p_value_against_hand_computed_values():
    lift, low, high, p = compare((1000, 100), (1000, 120))
    assert lift == pytest.approx(0.2)
    pooled = 220 / 2000
    z = 0.02 / math.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert p == pytest.approx(0.1529, abs=1e-3)
    se = math.sqrt(0.88 / 120 + 0.9 / 100)
    assert low == pytest.approx(1.2 * math.exp(-1.96 * se) - 1)
    assert high == pytest.approx(1.2 * math.exp(1.96 * se) - 1)
    assert compare((0, 0), (10, 1)) is None


def test_report_reads_the_sharded_counters(tables, capsys, monkeypatch):
    client = boto3.resource("dynamodb")
    store = Store({"experiments": client.Table(f"{PREFIX}-experiments")})
    marks = [Mark(f"{variant}{i}", "impression", "s", ("onboarding", variant, "impressions"))
             for i in range(40) for variant in ("rules", "model")]  # fmt: skip
    marks += [Mark(f"rules{i}", "click", "s", ("onboarding", "rules", "clicks")) for i in range(4)]
    marks += [Mark(f"model{i}", "click", "s", ("onboarding", "model", "clicks")) for i in range(8)]
    assert all(store.count_once_each(marks))
    assert not any(store.count_once_each(marks[:3]))  # each counted once
    scanned = client.Table(f"{PREFIX}-experiments").scan()["Items"]
    items = [i for i in scanned if "count" in i]  # the counters, not the marks
    assert len({i["pk"] for i in items}) > 2  # spread over shards
    assert all(int(str(i["pk"]).rsplit("#", 1)[1]) < COUNTER_SHARDS for i in items)
    totals = sum_counters(items)["onboarding"]
    assert totals["model"] == {"impressions": 40, "clicks": 8}
    rows = {r.variant: r for r in report(load(DEFAULT_EXPERIMENTS)["onboarding"], totals)}
    assert rows["model"].lift == pytest.approx(1.0)
    store.put_issued("r1", {"user_id": "u1", "experiment": "onboarding", "variant": "model"})
    # answers and marks share the table with the counters: the report reads only counters
    assert main(["report", "--table", f"{PREFIX}-experiments"]) == 0
    out = capsys.readouterr().out
    assert "model" in out
    assert "+100.0%" in out
    assert "       40        8" in out.replace(",", "")
