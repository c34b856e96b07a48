"""The compared methods by name: how each is fitted and the settings tried on validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from training.batch.baselines import als, bpr, ease, knn, popularity, puresvd
from training.batch.baselines.base import Recommender, TrainingData
from training.batch.evaluate import ALGORITHM, WITH_CONTENT
from training.batch.params import BatchParams
from training.batch.song_model import served_name

Settings = dict[str, Any]
_SERVED_PARAMS = BatchParams()
SERVED = served_name(_SERVED_PARAMS.song_model)  # "als+regional+content", as run.py serves it
_BLEND = {"rank": _SERVED_PARAMS.factors, "regional_blend": _SERVED_PARAMS.regional_blend}


def _ease_bytes(n_users: int, n_items: int) -> int:
    return ease.peak_bytes(n_items)


@dataclass(frozen=True)
class Method:
    """A method's fit function and its grid (one setting: nothing is tuned)."""

    name: str
    fit: Callable[..., Recommender]
    grid: tuple[Settings, ...] = ({},)
    peak_bytes: Callable[[int, int], int] | None = None  # (listeners, songs) -> bytes, if large
    tuned: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tuned", len(self.grid) > 1)

    def build(self, data: TrainingData, settings: Settings) -> Recommender:
        return self.fit(data, **settings)

    def fits(self, n_users: int, n_items: int, available_bytes: int) -> bool:
        """Whether the fit fits in ``available_bytes`` (methods without a bound always do)."""
        return self.peak_bytes is None or self.peak_bytes(n_users, n_items) <= available_bytes


def _grid(**axes: list[Any]) -> tuple[Settings, ...]:
    """Every combination of the values of ``axes``."""
    combos: list[Settings] = [{}]
    for name, values in axes.items():
        combos = [{**combo, name: value} for combo in combos for value in values]
    return tuple(combos)


METHODS: tuple[Method, ...] = (
    Method("popularity", popularity.fit_global),
    Method("regional-popularity", popularity.fit_regional),
    Method(SERVED, puresvd.fit_served),
    # served before ALS (session 12), and before the content scores (session 10)
    Method(WITH_CONTENT, puresvd.fit, ({**_BLEND, "content": True},)),
    Method(ALGORITHM, puresvd.fit, (_BLEND,)),
    # Grids widened where the first run's choice sat on an edge (rank 32 and ALS's 64 factors
    # were the smallest tried, BPR's best rate and epochs differ by data set).
    Method("puresvd", puresvd.fit, _grid(rank=[8, 16, 32, 64, 128])),
    Method(
        "als", als.fit, _grid(factors=[32, 64], regularization=[0.1, 10.0], alpha=[2.0, 10.0, 40.0])
    ),
    # BPR overfits the world's discovery target with many epochs at a high rate (validation
    # recall falls as the training AUC rises), while MovieLens wants more: epochs in the grid.
    Method(
        "bpr",
        bpr.fit,
        _grid(learning_rate=[0.003, 0.01, 0.03], regularization=[0.001, 0.01], iterations=[10, 30]),
    ),
    Method(
        "ease", ease.fit, _grid(lam=[50.0, 200.0, 1000.0, 5000.0, 20000.0, 100000.0]), _ease_bytes
    ),
    Method("item-knn", knn.fit, _grid(k=[20, 100, 500, 2000], weighting=["binary", "log"])),
)


def by_name(names: list[str] | None = None) -> list[Method]:
    """The methods named (all when ``names`` is None), in the order of :data:`METHODS`."""
    known = {m.name: m for m in METHODS}
    if names is None:
        return list(METHODS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown methods {unknown}; known: {list(known)}")
    return [m for m in METHODS if m.name in names]
