"""The home screen's bandit (lambdas/logic/home.py, bandit_state.py): features, the prior's order,
reproducible rankings, the fold of logged impressions and clicks, and the refresh against moto
(watermark, catching up, the conditional write, a damaged state)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from lambdas.config import Settings
from lambdas.logic import bandit, home
from lambdas.logic.bandit_state import (
    FIRST_LOOKBACK_MINUTES,
    GRACE_MINUTES,
    PRIOR_VERSION,
    fold,
    policy_state,
    refresh,
)
from lambdas.logic.services import Services
from lambdas.store.dynamodb import Mark, Observed, Store
from lambdas.store.tables import TABLES
from tests.lambdas.conftest import PREFIX

T0 = 1_800_000_000.0  # a fixed clock, on a minute boundary


def carousel(kind: home.CarouselKind) -> home.Carousel:
    return home.Carousel(kind, kind, [{"id": f"{kind}-1"}])


ALL = [carousel(k) for k in home.KINDS]
CONTEXT = home.Context(has_list=True, onboarded=True, plays=5, days_since_signup=3.0)


def test_features_are_the_kind_crossed_with_the_context():
    assert home.features("for_you", CONTEXT) == {
        "for_you:bias": 1.0, "for_you:has_list": 1.0, "for_you:onboarded": 1.0,
        "for_you:plays": 0.25, "for_you:fresh": 0.9,
    }  # fmt: skip
    assert home.features("region_chart", home.Context()) == {"region_chart:bias": 1.0}
    old = home.Context(plays=500, days_since_signup=400.0).values()
    assert (old["plays"], old["fresh"]) == (1.0, 0.0)
    x = home.vector("fans_also_like", CONTEXT)
    assert len(x) == len(home.FEATURES) == len(home.KINDS) * len(home.CONTEXT)
    assert sum(1 for v in x if v) == 5


@pytest.mark.parametrize("context", [home.Context(), CONTEXT])
def test_with_no_state_the_first_place_follows_the_hand_made_order(context):
    vectors = [home.vector(k, context) for k in home.KINDS]
    top = bandit.top_probabilities(home.prior(), vectors, home.POLICY)
    assert top == sorted(top, reverse=True)  # KINDS is the prior's order
    assert top[0] > 0.85
    assert min(top) >= home.POLICY.epsilon / len(home.KINDS)


def test_a_seeded_ranking_is_reproducible_and_its_propensities_are_exact():
    first = home.order(home.prior(), ALL, CONTEXT, random.Random(5))
    again = home.order(home.prior(), ALL, CONTEXT, random.Random(5))
    assert [(p.carousel.kind, p.propensity) for p in first.placed] == [
        (p.carousel.kind, p.propensity) for p in again.placed
    ]
    remaining = list(home.KINDS)
    for placed in first.placed:
        vectors = [home.vector(k, CONTEXT) for k in remaining]
        top = bandit.top_probabilities(home.prior(), vectors, home.POLICY)
        assert placed.propensity == pytest.approx(top[remaining.index(placed.carousel.kind)])
        remaining.remove(placed.carousel.kind)
    orders = {tuple(p.carousel.kind for p in home.order(home.prior(), ALL, CONTEXT,
                                                         random.Random(s)).placed)
              for s in range(200)}  # fmt: skip
    assert len(orders) > 1  # it explores
    short = home.order(home.prior(), ALL[:3], CONTEXT, random.Random(1), slots=9)
    assert [p.position for p in short.placed] == [0, 1, 2]
    assert home.order(home.prior(), [], CONTEXT, random.Random(1)).placed == []


def test_the_fold_equals_an_update_with_each_click_on_its_impression():
    a, b = home.features("for_you", CONTEXT), home.features("genre_station", home.Context())
    logged = [{"type": "impression", "features": a}, {"type": "impression", "features": a},
              {"type": "click", "features": a}, {"type": "impression", "features": b},
              {"type": "view", "features": b}, {"type": "click"}]  # fmt: skip
    folded, impressions, clicks = fold(bandit.empty(home.FEATURES), logged)
    assert (impressions, clicks) == (3, 1)
    xa, xb = bandit.encode(home.FEATURES, a), bandit.encode(home.FEATURES, b)
    updated = bandit.update(bandit.empty(home.FEATURES), [(xa, 1.0), (xa, 0.0), (xb, 0.0)])
    assert folded.xx == pytest.approx(updated.xx)
    assert folded.xr == pytest.approx(updated.xr)
    assert (folded.n, folded.rewards) == (updated.n, updated.rewards)


# ---------------------------------------------------------------------------------------------
# the refresh, against moto


@pytest.fixture
def svc(tables) -> Callable[[float], Services]:
    """Services on the moto tables whose store's clock reads the given time."""
    resource = boto3.resource("dynamodb")
    physical: dict[str, Any] = {
        spec.name: resource.Table(spec.physical_name(PREFIX)) for spec in TABLES
    }

    def at(now: float) -> Services:
        store = Store(physical, cache_seconds=0, clock=lambda: now)
        return Services(Settings.from_env({}), store, {})

    return at


def log(svc: Services, rec: str, event_type: str, kind: home.CarouselKind) -> bool:
    observed = Observed("home", {"kind": kind, "features": home.features(kind, CONTEXT),
                                 "position": 0, "propensity": 0.5})  # fmt: skip
    mark = Mark(rec, event_type, None, ("home", "softmax", event_type + "s"), observed)
    return svc.store.count_once_each([mark]) == [True]


def test_the_refresh_folds_each_ended_minute_once(svc):
    assert log(svc(T0), "r1", "impression", "for_you")
    assert log(svc(T0 + 30), "r1", "click", "for_you")
    assert not log(svc(T0 + 40), "r1", "click", "for_you")  # counted before: not logged again
    assert log(svc(T0 + 70), "r2", "impression", "region_chart")  # the next minute
    minute = int(T0 // 60)
    too_soon = refresh(
        svc(T0 + 60), home.SPEC, now=T0 + 60
    )  # r1's minute ended less than a minute ago
    assert (too_soon.written, too_soon.impressions) == (True, 0)  # the first run: an hour back
    last = minute + 1 - GRACE_MINUTES
    assert too_soon.minutes == (last - FIRST_LOOKBACK_MINUTES + 1, last)
    done = refresh(svc(T0 + 180), home.SPEC, now=T0 + 180)
    assert (done.written, done.version, done.impressions, done.clicks) == (True, 2, 2, 1)
    assert done.minutes == (minute, minute + 1)
    assert refresh(svc(T0 + 190), home.SPEC, now=T0 + 190).written is False  # no minute ended since
    state = svc(T0).store.bandit_state("home", cached=False)
    assert (int(state["version"]), int(state["watermark"])) == (2, minute + 1)
    stats = bandit.loads(bytes(state["stats"]))
    assert (stats.n, stats.rewards) == (2.0, 1.0)
    ranked = policy_state(svc(T0), home.SPEC)
    assert (ranked.version, ranked.problem) == ("2", None)


def test_a_run_catches_up_at_most_max_minutes(svc):
    store = svc(T0).store
    state = {"stats": bandit.dumps(bandit.empty(home.FEATURES)), "watermark": int(T0 // 60) - 100}
    assert store.put_bandit_state("home", state, 1, None)
    done = refresh(svc(T0), home.SPEC, now=T0, max_minutes=30)
    assert done.minutes == (int(T0 // 60) - 99, int(T0 // 60) - 70)
    assert refresh(svc(T0), home.SPEC, now=T0, max_minutes=1000).minutes == (
        int(T0 // 60) - 69, int(T0 // 60) - GRACE_MINUTES)  # fmt: skip


def test_the_write_is_conditional_on_the_version_read(svc):
    """Two overlapping runs read version 1; the second to write is refused and writes nothing
    (its minutes were folded by the first: counted once)."""
    store = svc(T0).store
    empty = bandit.dumps(bandit.empty(home.FEATURES))
    assert store.put_bandit_state("home", {"stats": empty, "watermark": 5}, 1, None)
    assert not store.put_bandit_state("home", {"stats": empty, "watermark": 9}, 1, None)
    assert store.put_bandit_state("home", {"stats": empty, "watermark": 6}, 2, 1)  # run A
    assert not store.put_bandit_state("home", {"stats": empty, "watermark": 6}, 2, 1)  # run B
    state = store.bandit_state("home", cached=False)
    assert (int(state["version"]), int(state["watermark"])) == (2, 6)


def test_a_damaged_state_serves_the_prior_and_the_refresh_starts_afresh(svc):
    store = svc(T0).store
    assert store.put_bandit_state("home", {"stats": b"MRB1garbage", "watermark": 1}, 4, None)
    served = policy_state(svc(T0), home.SPEC)
    assert (served.version, served.posterior) == (PRIOR_VERSION, home.prior())
    assert "damaged" in (served.problem or "")
    done = refresh(svc(T0), home.SPEC, now=T0)
    assert (done.written, done.version) == (True, 5)
    assert "afresh" in done.note
    assert policy_state(svc(T0), home.SPEC).problem is None


def test_no_state_is_the_prior(svc):
    served = policy_state(svc(T0), home.SPEC)
    assert (served.version, served.problem) == (PRIOR_VERSION, None)
