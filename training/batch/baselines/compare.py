"""Fit one method on a split and measure its lists the way evaluate.py does: every song the
listener played before the cutoff left out, the first :data:`K` of the rest ranked."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.batch.baselines import metrics
from training.batch.baselines.base import Recommender, TrainingData
from training.batch.baselines.methods import Method, Settings
from training.batch.baselines.split import Split
from training.batch.evaluate import K
from training.batch.families import block_rows
from training.batch.rank import top_candidates


@dataclass(frozen=True)
class Outcome:
    """A method's figures on one split: per evaluated listener, and over all of them."""

    method: str
    settings: Settings
    fit_s: float
    score_s: float
    recall: np.ndarray  # per evaluated listener
    ndcg: np.ndarray
    local_share: np.ndarray
    coverage: float

    def summary(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "fit_s": round(self.fit_s, 2),
            "score_s": round(self.score_s, 2),
            f"recall@{K}": float(self.recall.mean()),
            f"ndcg@{K}": float(self.ndcg.mean()),
            "coverage": self.coverage,
            "local_share": float(self.local_share.mean()),
        }


def ranked_lists(model: Recommender, split: Split) -> np.ndarray:
    """The first :data:`K` unplayed songs of every evaluated listener (users x K), scored a
    block at a time."""
    rows = split.rows
    train = split.train
    step = block_rows(train.shape[1])
    out = np.empty((len(rows), min(K, train.shape[1])), dtype=np.int64)
    for start in range(0, len(rows), step):
        block = slice(start, start + step)
        scores = np.array(model.scores(rows[block]), dtype=np.float32)
        seen_rows, seen_cols = train[split.users[block]].nonzero()
        scores[seen_rows, seen_cols] = -np.inf
        out[block] = top_candidates(scores, K)
    return out


def measure(
    method: Method,
    settings: Settings,
    split: Split,
    item_home: np.ndarray,
    data: TrainingData | None = None,
) -> Outcome:
    """Fit ``method`` with ``settings`` on ``split``'s training side and measure its lists."""
    data = data if data is not None else split.data()
    started = time.perf_counter()
    model = method.build(data, settings)
    fitted = time.perf_counter()
    ranked = ranked_lists(model, split)
    scored = time.perf_counter()
    recall, ndcg = metrics.per_user(ranked, split.relevant[split.users])
    share = metrics.local_share(ranked, item_home, split.user_region[split.users])
    return Outcome(
        method=method.name,
        settings=settings,
        fit_s=fitted - started,
        score_s=scored - fitted,
        recall=recall,
        ndcg=ndcg,
        local_share=share,
        coverage=metrics.coverage(ranked, split.train.shape[1]),
    )
