"""Ranking metrics, paired bootstrap intervals of lifts, and per-segment breakdowns.

Every model produces scores over the genre vocabulary; the rank of the true genre (ties go to the
lower genre code, as a stable sort would order them) gives hit@1, hit@3 and the reciprocal rank.
Intervals resample test users with replacement, the same resample for every model (paired), as
a matrix product of resample counts with the per-user metric matrix (vectorised, in chunks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

METRICS: tuple[str, ...] = ("hit@1", "hit@3", "mrr")


def true_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1-based rank of each user's label among the genres (higher score first, ties by code)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n, g = scores.shape
    own = scores[np.arange(n), labels][:, None]
    before = (scores > own) | ((scores == own) & (np.arange(g)[None, :] < labels[:, None]))
    return before.sum(axis=1).astype(np.int64) + 1


def per_user_metrics(ranks: np.ndarray) -> np.ndarray:
    """(n, 3) matrix of hit@1, hit@3 and reciprocal rank per user, in :data:`METRICS` order."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.column_stack([ranks <= 1, ranks <= 3, 1.0 / ranks]).astype(np.float64)


def log_loss(scores: np.ndarray, labels: np.ndarray, floor: float = 1e-15) -> float:
    """Mean negative log probability of each user's label (scores are probabilities over the
    genres; a label scored 0 counts as ``floor``)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    own = scores[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(own, floor, 1.0))))


def top_k_same_share(scores: np.ndarray, popularity: np.ndarray, k: int = 3) -> float:
    """Share of users whose first ``k`` genres (as a set) are global popularity's first ``k``."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return float("nan")
    g = scores.shape[1]
    popular = set(np.lexsort((np.arange(g), -np.asarray(popularity)))[:k].tolist())
    ranks = np.lexsort((np.broadcast_to(np.arange(g), scores.shape), -scores), axis=1)[:, :k]
    target = np.zeros(g, dtype=bool)
    target[list(popular)] = True
    return float(target[ranks].all(axis=1).mean())


def summarize(per_user: np.ndarray) -> dict[str, float]:
    """Mean of each metric."""
    if len(per_user) == 0:
        return dict.fromkeys(METRICS, float("nan"))
    means = per_user.mean(axis=0)
    return {m: float(v) for m, v in zip(METRICS, means, strict=True)}


def bootstrap_means(
    values: np.ndarray, n_boot: int = 1000, seed: int = 0, chunk: int = 0
) -> np.ndarray:
    """(n_boot, m) column means of ``values`` (n, m) over resamples of its rows."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0 or n_boot <= 0:
        return np.full((max(n_boot, 0), values.shape[1]), np.nan)
    rng = np.random.default_rng(seed)
    chunk = chunk or max(1, min(n_boot, 20_000_000 // n))
    out = np.empty((n_boot, values.shape[1]))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(b, n), dtype=np.int64)
        draws += (np.arange(b, dtype=np.int64) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n)
        out[start : start + b] = counts.astype(np.float64) @ values / n
    return out


@dataclass(frozen=True)
class Lift:
    """Model over baseline on one metric: relative lift and absolute difference, with 95 %
    percentile intervals from the paired bootstrap."""

    model: str
    baseline: str
    metric: str
    model_value: float
    baseline_value: float
    lift: float
    lift_low: float
    lift_high: float
    diff: float
    diff_low: float
    diff_high: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "baseline": self.baseline,
            "metric": self.metric,
            "model_value": self.model_value,
            "baseline_value": self.baseline_value,
            "lift": self.lift,
            "lift_ci95": [self.lift_low, self.lift_high],
            "diff": self.diff,
            "diff_ci95": [self.diff_low, self.diff_high],
        }


def metric_intervals(
    per_user: Mapping[str, np.ndarray], n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, list[float]]]:
    """95 % bootstrap interval of every model's every metric (same resamples for all)."""
    return compare(per_user, [], [], n_boot, seed)[1]


def _ratio(a: np.ndarray | float, b: np.ndarray | float) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(b) > 0, np.asarray(a) / np.asarray(b) - 1.0, np.nan)


def compare(
    per_user: Mapping[str, np.ndarray],
    models: Sequence[str],
    baselines: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    metrics: Sequence[str] = METRICS,
) -> tuple[list[Lift], dict[str, dict[str, list[float]]]]:
    """Lifts of each model over each baseline (a model is not compared with itself) and the
    95 % interval of every metric of every model in ``per_user``, from one paired bootstrap."""
    names = list(per_user)
    columns = [METRICS.index(m) for m in metrics]
    stacked = np.hstack([per_user[name][:, columns] for name in names])
    boots = bootstrap_means(stacked, n_boot, seed)
    point = stacked.mean(axis=0) if len(stacked) else np.full(stacked.shape[1], np.nan)
    k = len(columns)
    intervals = {
        name: {metric: list(_interval(boots[:, i * k + j])) for j, metric in enumerate(metrics)}
        for i, name in enumerate(names)
    }
    out: list[Lift] = []
    for model in models:
        for baseline in baselines:
            if model == baseline:
                continue
            a, b = names.index(model) * k, names.index(baseline) * k
            for j, metric in enumerate(metrics):
                ratio = _ratio(boots[:, a + j], boots[:, b + j])
                diff = boots[:, a + j] - boots[:, b + j]
                lo, hi = _interval(ratio)
                dlo, dhi = _interval(diff)
                out.append(
                    Lift(
                        model=model,
                        baseline=baseline,
                        metric=metric,
                        model_value=float(point[a + j]),
                        baseline_value=float(point[b + j]),
                        lift=float(_ratio(point[a + j], point[b + j])),
                        lift_low=lo,
                        lift_high=hi,
                        diff=float(point[a + j] - point[b + j]),
                        diff_low=dlo,
                        diff_high=dhi,
                    )
                )
    return out, intervals


def lifts(
    per_user: Mapping[str, np.ndarray],
    models: Sequence[str],
    baselines: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    metrics: Sequence[str] = METRICS,
) -> list[Lift]:
    """Lift of each model over each baseline (skipping a model against itself), per metric."""
    names = list(dict.fromkeys([*models, *baselines]))
    return compare({n: per_user[n] for n in names}, models, baselines, n_boot, seed, metrics)[0]


def _interval(samples: np.ndarray) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi)


def find_lift(all_lifts: Sequence[Lift], model: str, baseline: str, metric: str) -> Lift | None:
    for lift in all_lifts:
        if (lift.model, lift.baseline, lift.metric) == (model, baseline, metric):
            return lift
    return None


# --- segments ---------------------------------------------------------------------------------

AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("<18", -np.inf, 18),
    ("18-24", 18, 25),
    ("25-34", 25, 35),
    ("35-44", 35, 45),
    ("45-54", 45, 55),
    ("55-64", 55, 65),
    ("65+", 65, np.inf),
)
UNKNOWN = "unknown"


def age_bands(age: np.ndarray) -> np.ndarray:
    """The age band of each age (NaN -> "unknown")."""
    age = np.asarray(age, dtype=np.float64)
    out = np.full(len(age), UNKNOWN, dtype=object)
    for name, lo, hi in AGE_BANDS:
        out[(age >= lo) & (age < hi)] = name
    return out


def category_values(values: Sequence[Any]) -> np.ndarray:
    """Strings as segment names, missing as "unknown"."""
    return np.array([UNKNOWN if v is None else str(v) for v in values], dtype=object)


def count_bands(counts: np.ndarray, cap: int = 6) -> np.ndarray:
    """Counts as segment names, ``cap`` and more as "cap+"."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.array([f"{cap}+" if c >= cap else str(c) for c in counts], dtype=object)


def region_groups(regions: np.ndarray, top: int = 8) -> np.ndarray:
    """Regions grouped for reporting: by country when region codes carry one (``us-tx`` ->
    ``us``) and there are several; otherwise the ``top`` most frequent regions by name and
    the rest as "other"."""
    regions = np.asarray(regions, dtype=object)
    names = {str(r) for r in regions} - {UNKNOWN}
    countries = {n.split("-", 1)[0] for n in names if "-" in n}
    if len(countries) >= 2 and all("-" in n for n in names):
        return np.array([r if r == UNKNOWN else str(r).split("-", 1)[0] for r in regions], object)
    values, counts = np.unique(regions.astype(str), return_counts=True)
    order = np.lexsort((values, -counts))
    keep = {str(values[i]) for i in order[:top] if values[i] != UNKNOWN}
    return np.array([r if r in keep or r == UNKNOWN else "other" for r in regions], dtype=object)


def segment_table(
    per_user: Mapping[str, np.ndarray],
    segments: Mapping[str, np.ndarray],
    model: str,
    baseline: str,
    n_boot: int = 300,
    seed: int = 0,
    metric: str = "hit@3",
) -> list[dict[str, Any]]:
    """One row per (dimension, segment): users, every model's metrics, and the lift of
    ``model`` over ``baseline`` on ``metric`` with its interval."""
    rows: list[dict[str, Any]] = []
    for dimension, labels in segments.items():
        values = sorted(set(labels.tolist()), key=_segment_order)
        for value in values:
            mask = labels == value
            n = int(mask.sum())
            row: dict[str, Any] = {"dimension": dimension, "segment": value, "n_users": n}
            row["models"] = {name: summarize(m[mask]) for name, m in per_user.items()}
            sub = {name: per_user[name][mask] for name in (model, baseline)}
            (lift,) = lifts(sub, [model], [baseline], n_boot, seed, metrics=[metric])
            row["lift"] = lift.to_dict()
            rows.append(row)
    return rows


def _segment_order(value: str) -> tuple[int, float, str]:
    for i, (name, _, _) in enumerate(AGE_BANDS):
        if value == name:
            return (0, i, value)
    if value in (UNKNOWN, "other"):
        return (2, 0, value)
    digits = value.rstrip("+")
    if digits.isdigit():
        return (0, float(digits), value)
    return (1, 0, value)
