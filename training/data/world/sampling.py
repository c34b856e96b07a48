"""Vectorised draws of a member of a group with probability proportional to its weight."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupedSampler:
    """Members sorted by group with cumulative weights; one ``searchsorted`` draws many."""

    order: np.ndarray  # member ids sorted by group
    cum: np.ndarray  # float64, len(order) + 1, cumulative weights along ``order``
    start: np.ndarray  # int64, n_groups + 1 offsets into ``order``

    @classmethod
    def build(cls, group: np.ndarray, weight: np.ndarray, n_groups: int) -> GroupedSampler:
        """Members ``i`` of group ``group[i]`` with weight ``weight[i]`` (>= 0)."""
        order = np.argsort(group, kind="stable")
        cum = np.zeros(len(order) + 1)
        np.cumsum(weight[order], out=cum[1:])
        start = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(group, minlength=n_groups), out=start[1:])
        return cls(order=order, cum=cum, start=start)

    @property
    def totals(self) -> np.ndarray:
        """Total weight per group."""
        out: np.ndarray = self.cum[self.start[1:]] - self.cum[self.start[:-1]]
        return out

    def draw(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One member per entry of ``groups`` (each with positive total), ``u`` uniform [0, 1)."""
        lo, hi = self.start[groups], self.start[groups + 1]
        base = self.cum[lo]
        v = base + u * (self.cum[hi] - base)
        pos = np.searchsorted(self.cum, v, side="right") - 1
        pos = np.clip(pos, lo, hi - 1)
        member: np.ndarray = self.order[pos]
        return member
