"""Settings chosen on the validation slice: the grid point with the best recall@20 there
(NDCG@20 breaks ties); the test split is never looked at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from training.batch.baselines.base import TrainingData
from training.batch.baselines.compare import measure
from training.batch.baselines.methods import Method, Settings
from training.batch.baselines.split import Split


@dataclass(frozen=True)
class Choice:
    """The chosen settings and what every grid point scored on validation."""

    method: str
    settings: Settings
    trials: list[dict[str, Any]]  # settings, recall@20, ndcg@20, fit_s per grid point

    @property
    def seconds(self) -> float:
        return float(sum(t["fit_s"] + t["score_s"] for t in self.trials))


def choose(
    method: Method,
    validation: Split,
    item_home: np.ndarray,
    data: TrainingData | None = None,
    progress: bool = True,
) -> Choice:
    """The grid point of ``method`` that does best on ``validation`` (the only one if the grid
    has one: nothing to choose, nothing fitted)."""
    if not method.tuned:
        return Choice(method.name, dict(method.grid[0]), [])
    data = data if data is not None else validation.data()
    trials = []
    for settings in tqdm(method.grid, desc=f"tuning {method.name}", disable=not progress):
        outcome = measure(method, settings, validation, item_home, data)
        trials.append(outcome.summary())
    best = max(trials, key=lambda t: (t["recall@20"], t["ndcg@20"]))
    return Choice(method.name, dict(best["settings"]), trials)
