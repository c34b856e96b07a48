"""The simulated A/B test through the shared local stack: held-out listeners onboard, their
impressions and clicks are stored, and the experiments report counts exactly what was posted."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr

from bench.ab.cli import served_model
from bench.ab.client import GatewayClient
from bench.ab.experiment_report import ReportRow, parse_report, run_report, run_rows
from bench.ab.listeners import held_out
from bench.ab.simulate import ListenerResult, RunConfig, days_until_now, simulate
from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import load
from lambdas.store import keys
from lambdas.store.tables import table
from local import aws
from local.stack import PREFIX, Stack
from training.data.world import WorldTruth

LISTENERS = 60  # one simulated day, 3 stations and 3 songs each
Run = tuple[list[ListenerResult], dict[str, ReportRow]]


def _run(stack: Stack, n: int, seed: int, truth: WorldTruth) -> Run:
    listeners = held_out(stack.dir / "world", served_model(stack), n, 1, seed=seed, limit=3)
    run_id = uuid.uuid4().hex[:8]
    config = RunConfig(run_id, seed, f"abt{run_id}-", days_until_now(1))
    before, _ = run_report(stack)
    results = simulate(GatewayClient(stack), truth, listeners, config, workers=1, progress=False)
    after, _ = run_report(stack)
    experiment = load(DEFAULT_EXPERIMENTS)["onboarding"]
    return results, run_rows(parse_report(before), parse_report(after), experiment)[1]


@pytest.fixture(scope="module")
def run(stack: Stack) -> Run:
    return _run(stack, LISTENERS, 5, WorldTruth(stack.dir / "world"))


def _by_variant(results: Sequence[ListenerResult]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for r in results:
        shown, clicked = out.get(r.variant, (0, 0))
        out[r.variant] = (shown + r.impressions, clicked + r.clicks)
    return out


def stored_per_listener(stack: Stack, user_prefix: str) -> Counter[str]:
    """Events in the events table per listener whose id starts with ``user_prefix`` (one scan)."""
    events: Any = aws.client("dynamodb", stack.aws_url, kind="resource").Table(
        table("events").physical_name(PREFIX)
    )
    counts: Counter[str] = Counter()
    kwargs: dict[str, Any] = {
        "FilterExpression": Attr("pk").begins_with(keys.user_events_pk(user_prefix)),
        "ProjectionExpression": "pk",
    }
    while True:
        page = events.scan(**kwargs)
        counts.update(str(item["pk"]) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_every_event_posted_is_stored(stack: Stack, run: Run) -> None:
    results, _ = run
    assert [r.errors for r in results if r.errors] == []
    assert [(r.posted, r.stored, r.duplicates) for r in results if r.stored != r.posted] == []
    assert all(r.posted == r.impressions + r.clicks for r in results)
    prefix = results[0].user_id.removesuffix(results[0].world_id)
    stored = stored_per_listener(stack, prefix)
    assert stored == {keys.user_events_pk(r.user_id): r.posted for r in results}


def test_the_report_counts_exactly_what_was_posted(run: Run) -> None:
    results, report = run
    posted = _by_variant(results)
    assert set(posted) == set(load(DEFAULT_EXPERIMENTS)["onboarding"].variants)
    assert {v: (row.impressions, row.clicks) for v, row in report.items()} == posted
    assert report["model"].lift is not None
    assert report["model"].ci_low is not None


def test_variants_as_configured(run: Run) -> None:
    results, _ = run
    experiment = load(DEFAULT_EXPERIMENTS)["onboarding"]
    assert all(r.variant == experiment.assign(r.user_id) for r in results)
    share = experiment.variants["model"] / sum(experiment.variants.values())
    n_model = sum(r.variant == "model" for r in results)
    assert abs(n_model - share * len(results)) <= 4 * math.sqrt(len(results) * share * (1 - share))


def test_clicks_follow_the_truth(run: Run) -> None:
    results, _ = run
    clicks = sum(r.clicks for r in results)
    expected = sum(r.expected_clicks for r in results)
    spread = math.sqrt(sum(r.click_variance for r in results))
    assert 0 < clicks < sum(r.impressions for r in results)
    assert abs(clicks - expected) <= 4 * spread


def test_no_clicks_when_the_truth_never_clicks(stack: Stack) -> None:
    truth = WorldTruth(stack.dir / "world")
    truth.click = dataclasses.replace(truth.click, station_base=-60.0, song_base=-60.0)
    results, report = _run(stack, 10, 6, truth)
    assert sum(r.impressions for r in results) > 0
    assert sum(r.clicks for r in results) == 0
    counted = {v: (row.impressions, row.clicks) for v, row in report.items() if row.impressions}
    assert counted == _by_variant(results)  # (of 10 listeners, an arm may get none)
