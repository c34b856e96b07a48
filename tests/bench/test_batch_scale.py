"""The 10M-listener projection of bench.batch_scale from two measured shards (hand-made)."""

from __future__ import annotations

import pytest

from bench.batch_scale import INSTANCES, Instance, ShardRun, _prices, markdown, project

SHARD0 = ShardRun(
    {"read": 10.0, "factorise": 40.0, "per-user lists": 30.0,
     "item, artist and regional lists": 20.0, "evaluation": 50.0, "gate": 0.0},
    seconds=150.0, peak_bytes=6 * 1024**3, listeners=60_000,
)  # fmt: skip
SHARD1 = ShardRun(
    {"read": 10.0, "factorise": 40.0, "per-user lists": 30.0},
    seconds=80.0,
    peak_bytes=5 * 1024**3,
    listeners=60_000,
)
BIG = Instance("big", 16, 128, 1.0)


def test_each_part_scales_as_documented():
    p = project(SHARD0, SHARD1, shards=4, scale=10, instance=BIG, count=4)
    read = 10 * 10  # every play, measured speed
    fit = 40 * 10 / (16 / 2)  # the plays, on all 16 vCPUs against our 2 (ALS)
    per_vcpu = 60_000 / 30 / 2  # listeners per second per vCPU, shard 1's
    lists = 60_000 * 4 * 10 / 4 / (per_vcpu * 16)
    shared = 20 / (16 / 2)
    evaluation = 50 * 10
    assert p.seconds == pytest.approx(read + fit + lists + shared + evaluation)
    assert p.memory_gib == pytest.approx(60)
    assert p.fits  # 60 x 1.25 <= 128
    assert p.usd == pytest.approx(4 * 1.0 * p.seconds / 3600)


def test_more_instances_shorten_only_the_lists_and_a_small_instance_does_not_fit():
    four = project(SHARD0, SHARD1, 4, 10, BIG, 4)
    sixteen = project(SHARD0, SHARD1, 4, 10, BIG, 16)
    assert four.seconds - sixteen.seconds == pytest.approx(
        60_000 * 4 * 10 * (1 / 4 - 1 / 16) / (1000 * 16)
    )
    small = project(SHARD0, SHARD1, 4, 10, Instance("small", 16, 64, 1.0), 4)
    assert not small.fits


def test_the_section_names_the_cheapest_fitting_configuration_and_prices_can_be_replaced():
    projections = [project(SHARD0, SHARD1, 4, 10, i, n) for i in INSTANCES for n in (4, 8)]
    text = markdown(1_000_000, 4, 10_000_000, SHARD0, SHARD1, projections, "python -m x")
    assert "Cheapest that fits: **" in text
    assert "(does not fit)" in text  # ml.m5.4xlarge's 64 GiB for a 60 GiB peak
    assert "| 0 | 60,000 | 150 s | 6.0 GiB |" in text
    prices = {i.name: i.usd_per_hour for i in _prices(["ml.r5.4xlarge=2.5"])}
    assert prices["ml.r5.4xlarge"] == 2.5
    with pytest.raises(SystemExit, match="NAME=USD"):
        _prices(["nope=1"])
