"""Off-policy estimators (lambdas/logic/offpolicy.py) on synthetic logs whose truth is known."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.logic.offpolicy import (
    METHODS,
    Logged,
    OffPolicyError,
    direct,
    doubly_robust,
    estimate,
    estimate_all,
    ips,
    logged,
    snips,
)

K = 4  # actions
CONTEXTS = 6


def _truth(x: int, a: int) -> float:
    """The expected reward of action a in context x."""
    return 0.05 + 0.6 * ((x * 7 + a * 3) % 10) / 10


def _logging(x: int) -> list[float]:
    """A stochastic logging policy with full support."""
    raw = [1.0 + ((x + a) % 3) for a in range(K)]
    return [r / sum(raw) for r in raw]


def _target(x: int) -> list[float]:
    """A different policy: mostly the best action of the context."""
    best = max(range(K), key=lambda a: _truth(x, a))
    return [0.85 if a == best else 0.05 for a in range(K)]


TRUE_VALUE = (
    sum(sum(p * _truth(x, a) for a, p in enumerate(_target(x))) for x in range(CONTEXTS)) / CONTEXTS
)


def _log(n: int, seed: int, *, model_error: float = 0.1, noisy: bool = True) -> list[Logged]:
    """n decisions of the logging policy in uniformly drawn contexts, Bernoulli rewards (or the
    expected reward itself), and a reward model off by ``model_error``."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = rng.randrange(CONTEXTS)
        mu = _logging(x)
        a = rng.choices(range(K), weights=mu)[0]
        q = _truth(x, a)
        reward = float(rng.random() < q) if noisy else q
        predicted = [_truth(x, b) + model_error for b in range(K)]
        out.append(logged(reward, a, mu[a], _target(x), predicted))
    return out


def test_the_estimators_are_unbiased_on_average():
    runs = [_log(400, seed) for seed in range(60)]
    for method in ("ips", "snips", "dr"):
        mean = sum(estimate(r, method, resamples=1).value for r in runs) / len(runs)
        assert mean == pytest.approx(TRUE_VALUE, abs=0.01), method


def test_the_intervals_cover_the_true_value_in_most_repetitions():
    reps = 100
    covered = dict.fromkeys(("ips", "snips", "dr"), 0)
    for seed in range(reps):
        records = _log(250, 5000 + seed)
        for method in covered:
            covered[method] += estimate(records, method, resamples=200, seed=seed).covers(
                TRUE_VALUE
            )
    for method, hits in covered.items():
        assert hits / reps >= 0.90, (method, hits)


def test_doubly_robust_with_a_perfect_reward_model_has_no_variance_but_the_contexts():
    # one context and rewards equal to their expectation: DR is exact, IPS still varies
    one_context = [
        logged(_truth(0, a), a, _logging(0)[a], _target(0), [_truth(0, b) for b in range(K)])
        for a in random.Random(4).choices(range(K), weights=_logging(0), k=300)
    ]
    exact = sum(p * _truth(0, a) for a, p in enumerate(_target(0)))
    dr = estimate(one_context, "dr", resamples=200)
    assert dr.value == pytest.approx(exact, abs=1e-12)
    assert dr.high - dr.low < 1e-12
    assert (
        estimate(one_context, "ips", resamples=200).high
        - estimate(one_context, "ips", resamples=200).low
        > 0.05
    )
    # many contexts: only their spread is left (a fifth of IPS's interval); with Bernoulli
    # rewards the clicks' own noise comes back, and DR is still the narrower
    for noisy, ratio in ((False, 0.2), (True, 0.9)):
        records = _log(2000, 5, model_error=0.0, noisy=noisy)
        dr, ips_ = (estimate(records, m, resamples=200) for m in ("dr", "ips"))
        assert dr.high - dr.low < ratio * (ips_.high - ips_.low), noisy


def test_direct_method_is_biased_by_the_models_error_and_dr_is_not():
    records = _log(4000, 8, model_error=0.1)
    assert direct(records) == pytest.approx(TRUE_VALUE + 0.1, abs=0.02)
    assert doubly_robust(records) == pytest.approx(TRUE_VALUE, abs=0.02)


def test_snips_with_no_support_for_the_target_is_a_clear_error():
    records = [Logged(reward=1.0, propensity=0.5, target=0.0) for _ in range(5)]
    assert ips(records) == 0.0
    with pytest.raises(OffPolicyError, match="SNIPS is undefined"):
        snips(records)
    with pytest.raises(OffPolicyError, match="SNIPS is undefined"):
        estimate(records, "snips")


def test_snips_bootstrap_leaves_out_resamples_without_weight():
    records = [Logged(1.0, 0.5, 0.5)] + [Logged(0.0, 0.5, 0.0) for _ in range(3)]
    est = estimate(records, "snips", resamples=400, seed=1)
    assert est.value == 1.0
    # P(the one weighted record is not drawn) = (3/4)^4 ≈ 0.32
    assert 0.2 < est.undefined / 400 < 0.45
    assert est.low == est.high == 1.0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (Logged(1.0, 0.0, 0.5), "propensity"),
        (Logged(1.0, 1.5, 0.5), "propensity"),
        (Logged(1.0, 0.5, -0.1), "target probability"),
        (Logged(math.nan, 0.5, 0.5), "finite"),
    ],
)
def test_bad_records_are_refused(record, message):
    with pytest.raises(OffPolicyError, match=message):
        estimate([record], "ips")


def test_no_records_unknown_method_and_bad_arguments():
    with pytest.raises(OffPolicyError, match="no logged records"):
        ips([])
    with pytest.raises(OffPolicyError, match="unknown method"):
        estimate([Logged(1.0, 0.5, 0.5)], "naive")
    with pytest.raises(OffPolicyError):
        estimate([Logged(1.0, 0.5, 0.5)], "ips", level=1.0)
    with pytest.raises(OffPolicyError, match="candidates"):
        logged(1.0, 3, 0.5, [0.5, 0.5])
    with pytest.raises(OffPolicyError, match="one prediction"):
        logged(1.0, 0, 0.5, [0.5, 0.5], [0.1])


def test_the_interval_is_seeded_and_reports_the_weights():
    records = _log(300, 11)
    a, b = estimate(records, "dr", seed=3), estimate(records, "dr", seed=3)
    assert a == b
    assert a.low <= a.value <= a.high
    assert 0 < a.ess <= a.n
    assert a.max_weight == max(r.weight for r in records)
    assert set(estimate_all(records, resamples=20)) == set(METHODS)


records_st = st.lists(
    st.tuples(
        st.floats(0.0, 1.0),  # reward
        st.floats(0.01, 1.0),  # logging propensity
        st.floats(0.0, 1.0),  # target probability
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(records_st)
def test_on_policy_ips_and_snips_are_the_plain_mean(rows):
    records = [Logged(r, p, p) for r, p, _ in rows]
    mean = sum(r for r, _, _ in rows) / len(rows)
    assert ips(records) == pytest.approx(mean)
    assert snips(records) == pytest.approx(mean)


@settings(max_examples=60, deadline=None)
@given(records_st, st.randoms(use_true_random=False))
def test_estimates_do_not_depend_on_record_order(rows, rnd):
    records = [Logged(r, p, t, 0.3, 0.2) for r, p, t in rows]
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert ips(shuffled) == pytest.approx(ips(records))
    assert doubly_robust(shuffled) == pytest.approx(doubly_robust(records))
    if any(t > 0 for _, _, t in rows):
        value = snips(records)
        assert snips(shuffled) == pytest.approx(value)
        assert min(r for r, _, _ in rows) - 1e-9 <= value <= max(r for r, _, _ in rows) + 1e-9
