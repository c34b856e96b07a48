"""The contextual bandit (lambdas/logic/bandit.py): learning, propensities, state."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.logic import bandit as b

ARMS = 5
TRUE_CTR = (0.10, 0.22, 0.30, 0.15, 0.45)  # arm 4 is the best
FEATURES = ("bias", "prior", *[f"arm{i}" for i in range(ARMS)])


def _actions(prior: tuple[float, ...] = (0.0,) * ARMS) -> list[list[float]]:
    return [
        b.encode(FEATURES, {"bias": 1.0, "prior": prior[i], f"arm{i}": 1.0}) for i in range(ARMS)
    ]


MODEL = b.Model(FEATURES, prior_mean={"prior": 0.1}, prior_precision={"bias": 1.0},
                default_precision=25.0, noise=0.15)  # fmt: skip


def _run(policy: b.Policy, rounds: int, seed: int, refresh: int = 20) -> list[float]:
    """Regret per round of ``policy`` on the five-arm problem, the posterior refreshed every
    ``refresh`` rounds (as a scheduled refresh would)."""
    rng = random.Random(seed)
    stats = b.empty(FEATURES)
    post = b.posterior(MODEL, stats)
    actions = _actions()
    regret, pending = [], []
    for t in range(rounds):
        arm = b.rank(post, actions, policy, rng, slots=1).order[0]
        pending.append((actions[arm], float(rng.random() < TRUE_CTR[arm])))
        regret.append(max(TRUE_CTR) - TRUE_CTR[arm])
        if (t + 1) % refresh == 0:
            stats, pending = b.update(stats, pending), []
            post = b.posterior(MODEL, stats)
    return regret


@pytest.mark.parametrize("policy", [b.Policy("softmax"), b.Policy("thompson", draws=4)])
def test_the_bandit_learns_the_best_arm_and_regret_falls(policy):
    regret = [0.0] * 1200
    for seed in range(3):
        regret = [a + r / 3 for a, r in zip(regret, _run(policy, 1200, seed), strict=True)]
    early, late = sum(regret[:200]) / 200, sum(regret[-200:]) / 200
    assert late < 0.5 * early
    assert late < 0.05


def test_with_no_data_the_prior_ranks_as_the_model_does_and_clicks_overrule_it():
    prior = (0.2, -1.0, 0.0, 1.5, -0.5)  # the model's logits: arm 3 first, arm 0 second
    post = b.posterior(MODEL, b.empty(FEATURES))
    ranking = b.rank(post, _actions(prior), b.Policy("greedy"), random.Random(0))
    assert ranking.order == (3, 0, 2, 4, 1)
    # arm 1 clicked often, arm 3 never: the ranking follows the clicks
    acts = _actions(prior)
    stats = b.update(b.empty(FEATURES), [(acts[1], 1.0)] * 40 + [(acts[3], 0.0)] * 40)
    post = b.posterior(MODEL, stats)
    assert b.rank(post, acts, b.Policy("greedy"), random.Random(0)).order[0] == 1
    assert b.rank(post, acts, b.Policy("greedy"), random.Random(0)).order[-1] == 3


def test_the_posterior_of_one_feature_is_the_conjugate_one():
    model = b.Model(("x",), prior_mean={"x": 0.5}, default_precision=4.0, noise=0.25)
    data = [([1.0], 1.0)] * 3 + [([2.0], 0.0)] * 2
    post = b.posterior(model, b.update(b.empty(("x",)), data))
    precision = 4.0 + (3 * 1 + 2 * 4) / 0.25
    assert post.cov[0][0] == pytest.approx(1 / precision)
    assert post.mean[0] == pytest.approx((4.0 * 0.5 + 3 / 0.25) / precision)
    assert post.sd([2.0]) == pytest.approx(2 / math.sqrt(precision))


def _trained(seed: int = 0) -> tuple[b.Posterior, list[list[float]]]:
    rng = random.Random(seed)
    acts = _actions((0.3, -0.2, 0.1, 0.0, 0.4))
    batch = [(acts[i % ARMS], float(rng.random() < TRUE_CTR[i % ARMS])) for i in range(300)]
    return b.posterior(MODEL, b.update(b.empty(FEATURES), batch)), acts


def test_softmax_propensities_are_exact():
    post, acts = _trained()
    policy = b.Policy("softmax", temperature=0.05, epsilon=0.1)
    top = b.top_probabilities(post, acts, policy)
    assert sum(top) == pytest.approx(1.0)
    assert min(top) >= policy.epsilon / ARMS
    rng = random.Random(5)
    draws = 6000
    firsts: Counter[int] = Counter()
    seconds: Counter[int] = Counter()
    logged: dict[tuple[int, int], float] = {}
    for _ in range(draws):
        r = b.rank(post, acts, policy, rng, slots=2)
        firsts[r.order[0]] += 1
        assert r.propensities[0] == pytest.approx(top[r.order[0]])
        assert r.slate_propensity == pytest.approx(r.propensities[0] * r.propensities[1])
        if r.order[0] == 4:
            seconds[r.order[1]] += 1
            logged[(4, r.order[1])] = r.propensities[1]
    for arm in range(ARMS):  # the frequencies match the logged probabilities (4 sigma)
        p = top[arm]
        assert abs(firsts[arm] / draws - p) < 4 * math.sqrt(p * (1 - p) / draws) + 1e-9
    total = sum(seconds.values())
    for (_, arm), p in logged.items():  # position 1 given position 0
        assert abs(seconds[arm] / total - p) < 4 * math.sqrt(p * (1 - p) / total) + 1e-9


def test_thompson_propensities_estimate_the_frequencies():
    post, acts = _trained(1)
    policy = b.Policy("thompson", epsilon=0.1, draws=48, scale=3.0)
    top = b.top_probabilities(post, acts, policy, random.Random(2))
    assert sum(top) == pytest.approx(1.0)
    rng = random.Random(3)
    firsts: Counter[int] = Counter()
    for _ in range(800):
        r = b.rank(post, acts, policy, rng, slots=1)
        firsts[r.order[0]] += 1
        assert policy.epsilon / ARMS <= r.propensities[0] <= 1.0
    for arm in range(ARMS):
        assert firsts[arm] / 800 == pytest.approx(top[arm], abs=0.08)
    with pytest.raises(b.BanditError, match="rng"):
        b.top_probabilities(post, acts, policy)


def test_greedy_is_a_fixed_ranking():
    post, acts = _trained()
    ranks = {b.rank(post, acts, b.Policy("greedy"), random.Random(s)).order for s in range(5)}
    assert len(ranks) == 1
    top = b.top_probabilities(post, acts, b.Policy("greedy"))
    assert sorted(top) == [0.0] * (ARMS - 1) + [1.0]


def test_a_seeded_rng_gives_the_same_ranking():
    post, acts = _trained()
    for kind in ("softmax", "thompson"):
        policy = b.Policy(kind)
        one = b.rank(post, acts, policy, random.Random(42), slots=3)
        two = b.rank(post, acts, policy, random.Random(42), slots=3)
        assert one == two


posteriors = st.integers(0, 10_000).map(_trained)
policies = st.builds(
    b.Policy,
    kind=st.sampled_from(["softmax", "thompson"]),
    temperature=st.floats(0.001, 1.0),
    optimism=st.floats(0.0, 3.0),
    epsilon=st.floats(0.0, 1.0),
    draws=st.integers(1, 8),
)


@settings(max_examples=80, deadline=None)
@given(posteriors, policies, st.integers(1, ARMS), st.integers(0, 2**32))
def test_propensities_are_probabilities_and_the_top_distribution_sums_to_one(
    trained, policy, slots, seed
):
    post, acts = trained
    ranking = b.rank(post, acts, policy, random.Random(seed), slots=slots)
    assert len(ranking.order) == len(set(ranking.order)) == slots
    assert all(0.0 < p <= 1.0 for p in ranking.propensities)
    top = b.top_probabilities(post, acts, policy, random.Random(seed))
    assert sum(top) == pytest.approx(1.0)
    assert all(p >= policy.epsilon / ARMS - 1e-12 for p in top)


observations = st.lists(
    st.tuples(
        st.lists(st.sampled_from([0.0, 0.0, 1.0, -0.5, 2.0]), min_size=4, max_size=4),
        st.sampled_from([0.0, 1.0]),
        st.sampled_from([None, "s1", "s2"]),
        st.floats(0.1, 3.0),
    ),
    max_size=30,
)
FOUR = ("a", "b", "c", "d")


@settings(max_examples=60, deadline=None)
@given(observations, st.randoms(use_true_random=False))
def test_updates_are_order_independent_and_merge_as_one(batch, rnd):
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    half = len(batch) // 2
    whole = b.update(b.empty(FOUR), batch)
    variants = [
        b.update(b.empty(FOUR), shuffled),
        b.update(b.update(b.empty(FOUR), batch[half:]), batch[:half]),
        b.merge(b.update(b.empty(FOUR), batch[:half]), b.update(b.empty(FOUR), batch[half:])),
    ]
    model = b.Model(FOUR)
    expected = b.posterior(model, whole).mean
    for other in variants:
        assert other.n == pytest.approx(whole.n)
        assert other.xx == pytest.approx(whole.xx)
        assert other.xr == pytest.approx(whole.xr)
        assert b.posterior(model, other).mean == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(observations)
def test_the_state_round_trips_exactly(batch):
    stats = b.update(b.empty(FOUR), batch)
    assert b.loads(b.dumps(stats)) == stats
    assert b.from_text(b.to_text(stats)) == stats


def test_the_state_fits_a_dynamodb_item_and_damage_is_refused():
    wide = tuple(f"f{i}" for i in range(150))
    rng = random.Random(0)
    stats = b.update(b.empty(wide), [([rng.random() for _ in wide], 1.0)])
    data = b.dumps(stats)
    assert len(data) < 100 * 1024  # 150 features; DynamoDB's item limit is 400 KB
    assert b.loads(data) == stats
    for bad in (b"XXXX" + data[4:], data[:-3], data + b"\0", data[:10]):
        with pytest.raises(b.BanditError):
            b.loads(bad)


def test_scaling_forgets_and_merge_needs_the_same_features():
    stats = b.update(b.empty(FOUR), [([1.0, 0.0, 0.0, 0.0], 1.0)] * 10)
    half = b.scaled(stats, 0.5)
    assert half.n == 5.0
    assert half.rewards == 5.0
    assert b.posterior(b.Model(FOUR), half).mean[0] < b.posterior(b.Model(FOUR), stats).mean[0]
    with pytest.raises(b.BanditError, match="different features"):
        b.merge(stats, b.empty(("a", "b", "c", "e")))
    with pytest.raises(b.BanditError):
        b.scaled(stats, 0.0)


def test_bad_arguments_are_refused():
    post, acts = _trained()
    with pytest.raises(b.BanditError, match="values"):
        b.update(b.empty(FEATURES), [([1.0], 1.0)])
    with pytest.raises(b.BanditError, match="finite"):
        b.update(b.empty(FOUR), [([math.inf, 0, 0, 0], 1.0)])
    with pytest.raises(b.BanditError, match="slots"):
        b.rank(post, acts, b.Policy(), random.Random(0), slots=ARMS + 1)
    with pytest.raises(b.BanditError, match="no actions"):
        b.rank(post, [], b.Policy(), random.Random(0))
    with pytest.raises(b.BanditError, match="unknown policy"):
        b.Policy("ucb")
    with pytest.raises(b.BanditError, match="unknown features"):
        b.Model(FOUR, prior_mean={"z": 1.0})
    with pytest.raises(b.BanditError, match="features differ"):
        b.posterior(b.Model(FOUR), b.empty(FEATURES))
    with pytest.raises(b.BanditError, match="repeat"):
        b.empty(("a", "a"))


def test_action_effects_are_the_exact_joint_posterior():
    # θ and the keyed effects b_a together are a linear model on [x, one-hot(key)]: the Schur
    # complement posterior must give the same means and deviations as that bigger model
    keys = ("k0", "k1", "k2")
    rng = random.Random(7)
    batch = []
    for _ in range(60):
        x = [1.0, rng.gauss(0, 1), float(rng.random() < 0.5), 0.0]
        batch.append(b.Obs(x, float(rng.random() < 0.3), rng.choice([*keys, None])))
    model = b.Model(FOUR, prior_mean={"b": 0.2}, prior_precision={"a": 2.0},
                    default_precision=5.0, action_precision=30.0, noise=0.2)  # fmt: skip
    post = b.posterior(model, b.update(b.empty(FOUR), batch))
    big_features = (*FOUR, *keys)
    big = b.Model(big_features, prior_mean={"b": 0.2},
                  prior_precision={"a": 2.0, **dict.fromkeys(keys, 30.0)},
                  default_precision=5.0, noise=0.2)  # fmt: skip

    def widen(x, key):
        return list(x) + [1.0 if key == k else 0.0 for k in keys]

    big_post = b.posterior(
        big, b.update(b.empty(big_features), [(widen(o.x, o.key), o.reward) for o in batch])
    )
    assert post.mean == pytest.approx(big_post.mean[:4], abs=1e-10)
    for key in (*keys, None):
        x = [1.0, 0.3, 1.0, 2.0]
        assert post.predict(x, key) == pytest.approx(big_post.predict(widen(x, key)), abs=1e-10)
        assert post.sd(x, key) == pytest.approx(big_post.sd(widen(x, key)), abs=1e-10)
    # a key never seen: its effect is the prior's, N(0, 1 / action_precision)
    x = [1.0, 0.3, 1.0, 2.0]
    assert post.predict(x, "new") == pytest.approx(post.predict(x))
    assert post.sd(x, "new") ** 2 == pytest.approx(post.sd(x) ** 2 + 1 / 30.0)


def test_the_bandit_learns_which_of_identical_looking_actions_is_best():
    # the same features for all: only the keys' own effects tell them apart
    ctr = {"a": 0.1, "b": 0.35, "c": 0.2}
    model = b.Model(("bias",), default_precision=10.0, action_precision=100.0)
    stats = b.empty(("bias",))
    rng = random.Random(1)
    shown = Counter()
    for t in range(1500):
        if t % 25 == 0:
            post = b.posterior(model, stats)
        r = b.rank(post, [[1.0]] * 3, b.Policy(), rng, slots=1, keys=list(ctr))
        key = list(ctr)[r.order[0]]
        shown[key] += t >= 750
        stats = b.update(stats, [b.Obs([1.0], float(rng.random() < ctr[key]), key)])
    assert shown["b"] / 750 > 0.7
    post = b.posterior(model, stats)
    assert b.rank(post, [[1.0]] * 3, b.Policy("greedy"), rng, keys=list(ctr)).order[0] == 1
    # thompson samples the keyed effects too
    top = b.top_probabilities(post, [[1.0]] * 3, b.Policy("thompson", draws=200), rng, list(ctr))
    assert top[1] == max(top)
    with pytest.raises(b.BanditError, match="one key per action"):
        b.rank(post, [[1.0]] * 3, b.Policy(), rng, keys=["a"])
