"""Global and regional popularity over the chart window, as evaluate.py's baselines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.batch.baselines.base import TrainingData


@dataclass(frozen=True)
class Popularity:
    """The same chart for everyone."""

    plays: np.ndarray  # songs

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.plays.astype(np.float32), (len(rows), len(self.plays)))


@dataclass(frozen=True)
class RegionalPopularity:
    """The chart of the listener's region; songs unplayed there follow the national order."""

    table: np.ndarray  # regions x songs
    region: np.ndarray  # region of each fitted row
    tie_break: np.ndarray  # songs: national plays scaled below one play

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.table[self.region[rows]] + self.tie_break, dtype=np.float32)


def fit_global(data: TrainingData) -> Popularity:
    return Popularity(data.national_chart)


def fit_regional(data: TrainingData) -> RegionalPopularity:
    national = data.national_chart
    tie_break = national / (national.max() + 1.0) if len(national) else national
    return RegionalPopularity(data.regional_chart, data.region, tie_break)
