"""A contextual bandit over a variable set of actions, each with its own feature vector (ADF
style: one vector per (context, action)), in pure Python: NumPy would add 15.7 MB zipped to the
Lambda asset (10 MB budget) for matrices of 24 x 24 (``python -m bench.bandit_choice``).

**Model.** A Bayesian linear-Gaussian model of the reward (a click: 0 or 1): ``r = x·θ + b_key +
noise``, one weight vector θ shared by all actions, ``θ ~ N(m0, diag(1/λ))``, and optionally an
effect of each action's own (its ``key``: a station, a carousel kind), ``b_key ~ N(0,
1/action_precision)``, noise variance σ² (:class:`Model`). The posterior is exact: the keyed
effects are integrated out of θ's by a Schur complement (:func:`posterior`), so it costs
O(keys · d²), not O((d + keys)³). The prior carries what is known before any click: the
onboarding model's probability enters as a feature whose prior weight is positive, so that with
no data the bandit ranks as the model does and learns from clicks how far to trust it.

**State.** Only sufficient statistics (:class:`Stats`): ``Σ w·x xᵀ`` (upper triangle),
``Σ w·r·x``, ``Σ w``, ``Σ w·r`` and per key ``Σ w``, ``Σ w·r``, ``Σ w·x``. They add: :func:`update`
and :func:`merge` are order independent (up to floating-point rounding), so batches from any
number of writers combine in any order. :func:`dumps` makes one DynamoDB binary attribute of
8 · (d (d + 3) / 2 + 2 + keys · (d + 2)) bytes and a header: about 3 KB for 24 features, 92 KB with
406 keyed stations; DynamoDB's 400 KB item holds about 1,800 keys at 24 features.

**Policies** (:class:`Policy`), each giving the probability with which it showed what it showed:

- ``softmax`` (the default): Plackett–Luce sampling on optimistic scores (posterior mean plus
  ``optimism`` posterior standard deviations) at temperature ``temperature``, mixed with
  ``epsilon`` uniform at every position. Its propensities are *exact*: position k's is the
  probability of choosing that action there given the positions above (position 0's is the
  marginal probability of being first), and never below ``epsilon / candidates``, which bounds
  the importance weights of off-policy evaluation.
- ``thompson``: rank by a draw of θ from the posterior (with probability ``epsilon`` a uniformly
  random order instead). Its propensities (the probability of each action at its position) have
  no closed form; they are estimated from ``draws`` posterior draws (the one used among them).
- ``greedy``: rank by the posterior mean; propensity 1 (a fixed ranking: no exploration).

Randomness comes only from the ``random.Random`` passed in, so a seeded run is reproducible.
"""

from __future__ import annotations

import base64
import json
import math
import random
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

FORMAT = b"MRB1"  # the serialised state's magic and version
Vector = Sequence[float]
PolicyKind = Literal["softmax", "thompson", "greedy"]


class BanditError(ValueError):
    """Features, state or arguments that do not fit together."""


# ---------------------------------------------------------------------------------------------
# features


def encode(features: Sequence[str], values: Mapping[str, float]) -> list[float]:
    """The vector of ``values`` (by feature name) in the order of ``features``; names absent from
    ``features`` are ignored (an unknown genre adds nothing), absent features are 0."""
    return [float(values.get(name, 0.0)) for name in features]


def logit(p: float, floor: float = 1e-4) -> float:
    """log(p / (1 - p)), with ``p`` clipped to [floor, 1 - floor]: a probability as a feature."""
    p = min(max(p, floor), 1.0 - floor)
    return math.log(p / (1.0 - p))


def _nonzero(x: Vector, dim: int) -> list[tuple[int, float]]:
    if len(x) != dim:
        raise BanditError(f"a feature vector has {len(x)} values, the model {dim} features")
    out = []
    for i, v in enumerate(x):
        v = float(v)
        if v != 0.0:
            if not math.isfinite(v):
                raise BanditError(f"feature {i} is not finite: {v}")
            out.append((i, v))
    return out


# ---------------------------------------------------------------------------------------------
# sufficient statistics: the state


def _tri(i: int, j: int, dim: int) -> int:
    """Position of (i, j), i <= j, in the row-major upper triangle of a dim x dim matrix."""
    return i * dim - i * (i - 1) // 2 + (j - i)


@dataclass(frozen=True)
class ActionStats:
    """What was observed of one action (by key): Σ w, Σ w r and Σ w x."""

    n: float
    rewards: float
    x: tuple[float, ...]


@dataclass(frozen=True)
class Stats:
    """The sufficient statistics of the observations so far (see the module docstring)."""

    features: tuple[str, ...]
    xx: tuple[float, ...]  # Σ w x xᵀ, upper triangle, row-major: dim (dim + 1) / 2 values
    xr: tuple[float, ...]  # Σ w r x
    n: float = 0.0  # Σ w: observations (impressions)
    rewards: float = 0.0  # Σ w r: clicks
    actions: Mapping[str, ActionStats] = field(default_factory=dict)  # by action key

    @property
    def dim(self) -> int:
        return len(self.features)

    def __post_init__(self) -> None:
        d = len(self.features)
        if len(set(self.features)) != d:
            raise BanditError("feature names repeat")
        if len(self.xx) != d * (d + 1) // 2 or len(self.xr) != d:
            raise BanditError("statistics of the wrong size for the features")
        if any(len(a.x) != d for a in self.actions.values()):
            raise BanditError("an action's statistics of the wrong size for the features")


class Obs(NamedTuple):
    """One observation: the features ``x`` of the (context, action) shown, the reward (1 for a
    click, 0 for an impression without one), the action's ``key`` (its own effect is learnt;
    None: none) and a weight."""

    x: Vector
    reward: float
    key: str | None = None
    weight: float = 1.0


def empty(features: Sequence[str]) -> Stats:
    """No observations yet."""
    d = len(features)
    return Stats(tuple(features), (0.0,) * (d * (d + 1) // 2), (0.0,) * d)


def update(stats: Stats, batch: Iterable[Obs | tuple[Any, ...]]) -> Stats:
    """``stats`` plus a batch of observations (:class:`Obs`, or tuples ``(x, reward[, key[,
    weight]])``). Order independent: a sum."""
    d = stats.dim
    xx = list(stats.xx)
    xr = list(stats.xr)
    n, rewards = stats.n, stats.rewards
    counts = {k: [a.n, a.rewards] for k, a in stats.actions.items()}
    sums = {k: list(a.x) for k, a in stats.actions.items()}
    for raw in batch:
        obs = Obs(*raw)
        r, w = float(obs.reward), float(obs.weight)
        if not (math.isfinite(r) and math.isfinite(w)) or w < 0:
            raise BanditError(f"reward {r} and weight {w} must be finite, the weight >= 0")
        nz = _nonzero(obs.x, d)
        for a, (i, xi) in enumerate(nz):
            xr[i] += w * r * xi
            wxi = w * xi
            for j, xj in nz[a:]:
                xx[_tri(i, j, d)] += wxi * xj
        n += w
        rewards += w * r
        if obs.key is not None:
            key = str(obs.key)
            count = counts.setdefault(key, [0.0, 0.0])
            count[0] += w
            count[1] += w * r
            xs = sums.setdefault(key, [0.0] * d)
            for i, xi in nz:
                xs[i] += w * xi
    actions = {k: ActionStats(c[0], c[1], tuple(sums[k])) for k, c in counts.items()}
    return Stats(stats.features, tuple(xx), tuple(xr), n, rewards, actions)


def merge(*parts: Stats) -> Stats:
    """The statistics of all ``parts`` together (from shards or writers): their sum."""
    if not parts:
        raise BanditError("nothing to merge")
    features = parts[0].features
    if any(p.features != features for p in parts):
        raise BanditError("cannot merge statistics of different features")
    keys = sorted({k for p in parts for k in p.actions})
    actions = {}
    for k in keys:
        mine = [p.actions[k] for p in parts if k in p.actions]
        actions[k] = ActionStats(
            math.fsum(a.n for a in mine),
            math.fsum(a.rewards for a in mine),
            tuple(math.fsum(v) for v in zip(*(a.x for a in mine), strict=True)),
        )
    return Stats(
        features,
        tuple(math.fsum(v) for v in zip(*(p.xx for p in parts), strict=True)),
        tuple(math.fsum(v) for v in zip(*(p.xr for p in parts), strict=True)),
        math.fsum(p.n for p in parts),
        math.fsum(p.rewards for p in parts),
        actions,
    )


def scaled(stats: Stats, factor: float) -> Stats:
    """Every observation's weight multiplied by ``factor`` (0 < factor <= 1): forgetting, for
    tastes that drift (a scheduled refresh can apply it once per period)."""
    if not 0.0 < factor <= 1.0:
        raise BanditError("the factor must be in (0, 1]")
    return Stats(
        stats.features,
        tuple(v * factor for v in stats.xx),
        tuple(v * factor for v in stats.xr),
        stats.n * factor,
        stats.rewards * factor,
        {
            k: ActionStats(a.n * factor, a.rewards * factor, tuple(v * factor for v in a.x))
            for k, a in stats.actions.items()
        },
    )


def dumps(stats: Stats) -> bytes:
    """The state as bytes (a DynamoDB binary attribute): magic, a JSON header (the feature names
    and the action keys), then little-endian doubles (n, rewards, xr, xx, then per action n,
    rewards, x). Exact: floats round-trip bit for bit."""
    keys = sorted(stats.actions)
    header = json.dumps({"features": list(stats.features), "actions": keys},
                        separators=(",", ":")).encode()  # fmt: skip
    values: list[float] = [stats.n, stats.rewards, *stats.xr, *stats.xx]
    for k in keys:
        a = stats.actions[k]
        values += [a.n, a.rewards, *a.x]
    return (
        FORMAT + struct.pack("<I", len(header)) + header + struct.pack(f"<{len(values)}d", *values)
    )


def loads(data: bytes) -> Stats:
    """The state :func:`dumps` wrote."""
    if data[:4] != FORMAT:
        raise BanditError("not a bandit state (or another format version)")
    try:
        (size,) = struct.unpack_from("<I", data, 4)
        header = json.loads(data[8 : 8 + size].decode())
        features, keys = tuple(header["features"]), list(header["actions"])
        d = len(features)
        count = 2 + d + d * (d + 1) // 2 + len(keys) * (2 + d)
        values = struct.unpack_from(f"<{count}d", data, 8 + size)
    except (struct.error, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise BanditError(f"a damaged bandit state: {exc}") from exc
    if len(data) != 8 + size + 8 * count:
        raise BanditError("a damaged bandit state: trailing or missing bytes")
    shared = 2 + d + d * (d + 1) // 2
    actions = {}
    for i, k in enumerate(keys):
        at = shared + i * (2 + d)
        actions[k] = ActionStats(values[at], values[at + 1], tuple(values[at + 2 : at + 2 + d]))
    return Stats(features, tuple(values[2 + d : shared]), tuple(values[2 : 2 + d]), values[0],
                 values[1], actions)  # fmt: skip


def to_text(stats: Stats) -> str:
    """:func:`dumps` as base64 text (for a string attribute or a JSON document)."""
    return base64.b64encode(dumps(stats)).decode()


def from_text(text: str) -> Stats:
    return loads(base64.b64decode(text))


# ---------------------------------------------------------------------------------------------
# the model and its posterior


@dataclass(frozen=True)
class Model:
    """The prior and the noise: ``prior_mean`` and ``prior_precision`` by feature name (absent:
    0 and ``default_precision``), ``action_precision`` the prior precision of each action's own
    effect (mean 0), ``noise`` the reward's variance σ² (a click rate p has p (1 - p): 0.1 to 0.2
    for click rates of 10 to 30 %)."""

    features: tuple[str, ...]
    prior_mean: Mapping[str, float] = field(default_factory=dict)
    prior_precision: Mapping[str, float] = field(default_factory=dict)
    default_precision: float = 1.0
    action_precision: float = 100.0
    noise: float = 0.15

    def __post_init__(self) -> None:
        unknown = (set(self.prior_mean) | set(self.prior_precision)) - set(self.features)
        if unknown:
            raise BanditError(f"prior for unknown features: {sorted(unknown)}")
        if min(self.noise, self.default_precision, self.action_precision) <= 0:
            raise BanditError("noise and precision must be positive")
        if any(v <= 0 for v in self.prior_precision.values()):
            raise BanditError("precision must be positive")


def _cholesky(a: list[list[float]]) -> list[list[float]]:
    """L lower triangular with a = L Lᵀ (a symmetric positive definite)."""
    d = len(a)
    low = [[0.0] * d for _ in range(d)]
    for i in range(d):
        row_i = low[i]
        for j in range(i + 1):
            row_j = low[j]
            s = a[i][j] - sum(row_i[k] * row_j[k] for k in range(j))
            if i == j:
                if s <= 0.0:
                    raise BanditError("the posterior precision is not positive definite")
                row_i[i] = math.sqrt(s)
            else:
                row_i[j] = s / row_j[j]
    return low


def _solve_lower(low: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    y: list[float] = []
    for i, row in enumerate(low):
        y.append((b[i] - sum(row[k] * y[k] for k in range(i))) / row[i])
    return y


def _solve_upper_t(low: Sequence[Sequence[float]], y: Sequence[float]) -> list[float]:
    """x with Lᵀ x = y."""
    d = len(low)
    x = [0.0] * d
    for i in range(d - 1, -1, -1):
        x[i] = (y[i] - sum(low[k][i] * x[k] for k in range(i + 1, d))) / low[i][i]
    return x


@dataclass(frozen=True)
class Offset:
    """An action's own effect b given θ: N(mean - slope·θ, variance)."""

    slope: tuple[float, ...]
    mean: float
    variance: float


@dataclass(frozen=True)
class Posterior:
    """N(mean, cov) over the shared weights θ (``chol``: L with precision = L Lᵀ, to sample it)
    and, given θ, each seen action's own effect (``offsets``; an unseen key's is N(0,
    ``action_variance``))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    chol: tuple[tuple[float, ...], ...]
    offsets: Mapping[str, Offset] = field(default_factory=dict)
    action_variance: float = 0.01

    def _offset(self, key: str | None) -> Offset | None:
        if key is None:
            return None
        return self.offsets.get(key) or Offset((0.0,) * len(self.mean), 0.0, self.action_variance)

    def predict(self, x: Vector, key: str | None = None) -> float:
        """The posterior mean reward of a (context, action)."""
        score = sum(self.mean[i] * v for i, v in _nonzero(x, len(self.mean)))
        off = self._offset(key)
        if off is not None:
            score += off.mean - sum(s * m for s, m in zip(off.slope, self.mean, strict=True))
        return score

    def sd(self, x: Vector, key: str | None = None) -> float:
        """The posterior standard deviation of the reward's mean, x·θ (+ the action's b)."""
        d = len(self.mean)
        off = self._offset(key)
        if off is None:
            nz = _nonzero(x, d)
            var = sum(vi * vj * self.cov[i][j] for i, vi in nz for j, vj in nz)
        else:  # x·θ + b = (x - slope)·θ + (b | θ)
            u = [(float(v) - s) for v, s in zip(x, off.slope, strict=True)]
            nz = [(i, v) for i, v in enumerate(u) if v != 0.0]
            var = sum(vi * vj * self.cov[i][j] for i, vi in nz for j, vj in nz) + off.variance
        return math.sqrt(max(var, 0.0))

    def sample(self, rng: random.Random, scale: float = 1.0) -> list[float]:
        """A draw of θ: mean + scale · L⁻ᵀ z, z standard normal."""
        z = [rng.gauss(0.0, 1.0) for _ in self.mean]
        step = _solve_upper_t(self.chol, z)
        return [m + scale * s for m, s in zip(self.mean, step, strict=True)]

    def sample_score(
        self, theta: Sequence[float], x: Vector, key: str | None, rng: random.Random,
        scale: float = 1.0,
    ) -> float:  # fmt: skip
        """A draw of the reward's mean given a draw ``theta`` of θ."""
        score = _dot(theta, x)
        off = self._offset(key)
        if off is not None:
            mean = off.mean - sum(s * t for s, t in zip(off.slope, theta, strict=True))
            score += mean + scale * math.sqrt(off.variance) * rng.gauss(0.0, 1.0)
        return score


def posterior(model: Model, stats: Stats) -> Posterior:
    """The posterior given the prior of ``model`` and the observations in ``stats``.

    Shared weights only: precision Λ = diag(λ) + Σxxᵀ/σ², mean Λ⁻¹ (diag(λ) m0 + Σrx/σ²). With
    action effects b_a ~ N(0, 1/λ_b) the joint precision has a diagonal block for the b's,
    D_a = λ_b + n_a/σ², coupled to θ by C_a = Σ_a x/σ²; θ's marginal precision is the Schur
    complement Λ - Σ_a C_a C_aᵀ / D_a, its information h - Σ_a C_a (Σ_a r/σ²) / D_a, and
    b_a | θ ~ N((Σ_a r/σ² - C_a·θ) / D_a, 1/D_a): exact, in O(actions · d²)."""
    if stats.features != model.features:
        raise BanditError("the state's features differ from the model's")
    d = stats.dim
    s2 = model.noise
    lam = [model.prior_precision.get(f, model.default_precision) for f in model.features]
    m0 = [model.prior_mean.get(f, 0.0) for f in model.features]
    prec = [[0.0] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            v = stats.xx[_tri(i, j, d)] / s2
            prec[i][j] = prec[j][i] = v
        prec[i][i] += lam[i]
    info = [lam[i] * m0[i] + stats.xr[i] / s2 for i in range(d)]
    offsets: dict[str, tuple[list[tuple[int, float]], float, float]] = {}
    for key, a in stats.actions.items():
        big_d = model.action_precision + a.n / s2
        h = a.rewards / s2
        c = [(i, v / s2) for i, v in enumerate(a.x) if v != 0.0]
        for i, ci in c:
            info[i] -= ci * h / big_d
            for j, cj in c:
                prec[i][j] -= ci * cj / big_d
        offsets[key] = (c, h / big_d, 1.0 / big_d)
    low = _cholesky(prec)
    mean = _solve_upper_t(low, _solve_lower(low, info))
    cov_cols = []
    for k in range(d):  # cov = Λ⁻¹, column by column
        e = [0.0] * d
        e[k] = 1.0
        cov_cols.append(_solve_upper_t(low, _solve_lower(low, e)))
    cov = tuple(tuple(cov_cols[j][i] for j in range(d)) for i in range(d))
    offs = {}
    for key, (c, m, var) in offsets.items():
        slope = [0.0] * d
        for i, ci in c:
            slope[i] = ci * var  # C_a / D_a
        offs[key] = Offset(tuple(slope), m, var)
    return Posterior(stats.features, tuple(mean), cov, tuple(tuple(r) for r in low), offs,
                     1.0 / model.action_precision)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# policies: ranking with propensities


@dataclass(frozen=True)
class Policy:
    """How actions are chosen (see the module docstring)."""

    kind: PolicyKind = "softmax"
    temperature: float = 0.02  # softmax: in reward units (click probability)
    optimism: float = 1.0  # softmax: posterior standard deviations added to the mean
    epsilon: float = 0.05  # uniform exploration mixed in (softmax: at every position)
    draws: int = 32  # thompson: posterior draws estimating the propensities
    scale: float = 1.0  # thompson: the posterior's spread multiplied by this

    def __post_init__(self) -> None:
        if self.kind not in ("softmax", "thompson", "greedy"):
            raise BanditError(f"unknown policy {self.kind!r}")
        if self.temperature <= 0 or not 0.0 <= self.epsilon <= 1.0 or self.draws < 1:
            raise BanditError("temperature > 0, epsilon in [0, 1], draws >= 1")


@dataclass(frozen=True)
class Annealing:
    """Exploration that shrinks as evidence grows: after ``n`` observations, ``epsilon``,
    ``optimism`` and ``temperature`` are the policy's times ``half_life / (half_life + n)``
    (halved at ``half_life`` observations), never below their floors. The factor is a function of
    the state a decision is made with, so the propensities stay exact, and ``epsilon_floor``
    keeps every importance weight of off-policy evaluation bounded (by candidates /
    ``epsilon_floor``). Measured in docs/experiments.md (annealing)."""

    half_life: float = 500.0
    epsilon_floor: float = 0.01
    temperature_floor: float = 0.002

    def __post_init__(self) -> None:
        if (
            self.half_life <= 0
            or not 0.0 < self.epsilon_floor <= 1.0
            or self.temperature_floor <= 0
        ):
            raise BanditError("half_life > 0, epsilon_floor in (0, 1], temperature_floor > 0")

    def policy(self, base: Policy, n: float) -> Policy:
        """``base`` after ``n`` observations."""
        factor = self.half_life / (self.half_life + max(n, 0.0))
        return replace(
            base,
            epsilon=max(self.epsilon_floor, base.epsilon * factor),
            optimism=base.optimism * factor,
            temperature=max(self.temperature_floor, base.temperature * factor),
        )


@dataclass(frozen=True)
class Ranking:
    """Positions 0..slots-1: ``order[k]`` is the index of the action shown at position k and
    ``propensities[k]`` the probability with which it was put there (softmax: given the
    positions above, exact; thompson: its marginal probability at k, estimated; greedy: 1).
    ``scores`` are the posterior mean rewards of all actions (the reward model of doubly robust
    evaluation)."""

    order: tuple[int, ...]
    propensities: tuple[float, ...]
    scores: tuple[float, ...]
    policy: PolicyKind

    @property
    def slate_propensity(self) -> float:
        """The probability of the whole slate (softmax and greedy: exact)."""
        return math.prod(self.propensities)


def _softmax(scores: Sequence[float], temperature: float, epsilon: float) -> list[float]:
    top = max(scores)
    e = [math.exp((s - top) / temperature) for s in scores]
    total = sum(e)
    k = len(scores)
    return [epsilon / k + (1.0 - epsilon) * v / total for v in e]


def _pick(probs: Sequence[float], rng: random.Random) -> int:
    u = rng.random() * sum(probs)
    acc = 0.0
    for i, p in enumerate(probs):
        acc += p
        if u < acc:
            return i
    return len(probs) - 1


def _order(scores: Sequence[float]) -> list[int]:
    """Indices by descending score; ties by index (deterministic)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def _dot(theta: Sequence[float], x: Vector) -> float:
    return sum(t * float(v) for t, v in zip(theta, x, strict=True) if v)


def _keys(actions: Sequence[Vector], keys: Sequence[str | None] | None) -> Sequence[str | None]:
    if not actions:
        raise BanditError("no actions")
    if keys is None:
        return [None] * len(actions)
    if len(keys) != len(actions):
        raise BanditError("one key per action")
    return keys


def optimistic_scores(
    post: Posterior, actions: Sequence[Vector], optimism: float,
    keys: Sequence[str | None] | None = None,
) -> list[float]:  # fmt: skip
    """Posterior mean plus ``optimism`` posterior standard deviations, per action."""
    ks = _keys(actions, keys)
    return [post.predict(x, k) + optimism * post.sd(x, k) for x, k in zip(actions, ks, strict=True)]


def _thompson_orders(
    post: Posterior, actions: Sequence[Vector], keys: Sequence[str | None], policy: Policy,
    rng: random.Random, slots: int,
) -> list[list[int]]:  # fmt: skip
    orders = []
    for _ in range(policy.draws):
        theta = post.sample(rng, policy.scale)
        scores = [post.sample_score(theta, x, k, rng, policy.scale)
                  for x, k in zip(actions, keys, strict=True)]  # fmt: skip
        orders.append(_order(scores)[:slots])
    return orders


def top_probabilities(
    post: Posterior,
    actions: Sequence[Vector],
    policy: Policy,
    rng: random.Random | None = None,
    keys: Sequence[str | None] | None = None,
) -> list[float]:
    """The probability of each action being shown first under ``policy``: exact for softmax and
    greedy, estimated from ``policy.draws`` posterior draws for thompson (then ``rng`` is
    needed). What off-policy evaluation needs of a target policy."""
    ks = _keys(actions, keys)
    k = len(actions)
    if policy.kind == "softmax":
        scores = optimistic_scores(post, actions, policy.optimism, ks)
        return _softmax(scores, policy.temperature, policy.epsilon)
    if policy.kind == "greedy":
        best = _order([post.predict(x, key) for x, key in zip(actions, ks, strict=True)])[0]
        return [1.0 if i == best else 0.0 for i in range(k)]
    if rng is None:
        raise BanditError("thompson's probabilities are estimated: pass an rng")
    counts = [0] * k
    for order in _thompson_orders(post, actions, ks, policy, rng, 1):
        counts[order[0]] += 1
    return [policy.epsilon / k + (1 - policy.epsilon) * c / policy.draws for c in counts]


def rank(
    post: Posterior,
    actions: Sequence[Vector],
    policy: Policy,
    rng: random.Random,
    slots: int | None = None,
    keys: Sequence[str | None] | None = None,
) -> Ranking:
    """Rank ``actions`` (their feature vectors; ``keys``: each one's key, whose own effect the
    posterior has learnt, or None) into ``slots`` positions (default all) under ``policy``, with
    the propensity of each position (see :class:`Ranking`)."""
    ks = _keys(actions, keys)
    k = len(actions)
    slots = k if slots is None else slots
    if not 1 <= slots <= k:
        raise BanditError(f"slots must be in 1..{k}")
    means = tuple(post.predict(x, key) for x, key in zip(actions, ks, strict=True))
    if policy.kind == "greedy":
        return Ranking(tuple(_order(means)[:slots]), (1.0,) * slots, means, "greedy")
    if policy.kind == "softmax":
        scores = [m + policy.optimism * post.sd(x, key)
                  for m, x, key in zip(means, actions, ks, strict=True)]  # fmt: skip
        remaining = list(range(k))
        order: list[int] = []
        props: list[float] = []
        for _ in range(slots):
            probs = _softmax([scores[i] for i in remaining], policy.temperature, policy.epsilon)
            j = _pick(probs, rng)
            order.append(remaining.pop(j))
            props.append(probs[j])
        return Ranking(tuple(order), tuple(props), means, "softmax")
    # thompson: the draw used is the first of the draws that estimate the propensities
    explore = rng.random() < policy.epsilon
    orders = _thompson_orders(post, actions, ks, policy, rng, slots)
    chosen = rng.sample(range(k), slots) if explore else orders[0]
    props = []
    for pos, a in enumerate(chosen):
        freq = sum(1 for o in orders if o[pos] == a) / policy.draws
        props.append(policy.epsilon / k + (1 - policy.epsilon) * freq)
    return Ranking(tuple(chosen), tuple(props), means, "thompson")
