"""Figures of a simulated run computed from what each listener saw and clicked: totals per
variant, the CTR the truth expects (no click noise), the learning curve (each arm's CTR by
simulated day, that day's listeners and all so far, with the cumulative lift of every arm over the
control), and a listener-level bootstrap interval (a listener's impressions are not independent:
they share one answer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.ab.simulate import SHOWN, ListenerResult
from lambdas.ops.experiments import compare


@dataclass(frozen=True)
class VariantTotals:
    """A variant's listeners, impressions and clicks (overall and per kind shown), the clicks
    the truth expects and the answers that fell back to the rule."""

    variant: str
    listeners: int
    impressions: int
    clicks: int
    expected_clicks: float
    fallbacks: int
    by_kind: dict[str, tuple[int, int]]

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def expected_ctr(self) -> float:
        return self.expected_clicks / self.impressions if self.impressions else 0.0


def _kind_totals(results: Sequence[ListenerResult], kind: str) -> tuple[int, int]:
    """Impressions and clicks of one kind of item shown (stations or songs)."""
    return sum(r.shown.get(kind, 0) for r in results), sum(r.clicked.get(kind, 0) for r in results)


def totals(results: Sequence[ListenerResult], variant: str) -> VariantTotals:
    mine = [r for r in results if r.variant == variant]
    return VariantTotals(
        variant=variant,
        listeners=len(mine),
        impressions=sum(r.impressions for r in mine),
        clicks=sum(r.clicks for r in mine),
        expected_clicks=sum(r.expected_clicks for r in mine),
        fallbacks=sum(r.source == "fallback" for r in mine),
        by_kind={kind: _kind_totals(mine, kind) for kind in SHOWN},
    )


Lift = tuple[float, float, float]  # lift, 95 % low, high (the report's statistics)


@dataclass(frozen=True)
class Day:
    """One simulated day (0-based) of a run: per arm, the totals of that day's listeners and of
    every listener so far, and each arm but the control's lift over the control so far (None
    while either has no click)."""

    day: int
    arms: dict[str, VariantTotals]
    cumulative: dict[str, VariantTotals]
    lift: dict[str, Lift | None]


def lift_of(control: VariantTotals, arm: VariantTotals) -> Lift | None:
    """``arm``'s CTR lift over ``control`` with the report's 95 % interval (Katz)."""
    figures = compare((control.impressions, control.clicks), (arm.impressions, arm.clicks))
    return None if figures is None else figures[:3]


def by_day(results: Sequence[ListenerResult], days: int, arms: Sequence[str]) -> list[Day]:
    """The learning curve of ``arms`` (the first the control) over ``days`` simulated days."""
    out = []
    for day in range(days):
        today = [r for r in results if r.day == day]
        so_far = [r for r in results if r.day <= day]
        cumulative = {arm: totals(so_far, arm) for arm in arms}
        control = cumulative[arms[0]]
        out.append(
            Day(
                day=day,
                arms={arm: totals(today, arm) for arm in arms},
                cumulative=cumulative,
                lift={arm: lift_of(control, cumulative[arm]) for arm in arms[1:]},
            )
        )
    return out


def cumulative_lift(
    results: Sequence[ListenerResult], days: int, control: str, treatment: str
) -> list[tuple[int, float, float, float] | None]:
    """After each day: (day, lift, 95 % low, high) of ``treatment`` over ``control`` on the
    impressions and clicks so far (the report's statistics), None while a variant has no click."""
    out: list[tuple[int, float, float, float] | None] = []
    for d in by_day(results, days, [control, treatment]):
        figures = d.lift[treatment]
        out.append(None if figures is None else (d.day, *figures))
    return out


def bootstrap_lift(
    results: Sequence[ListenerResult],
    control: str,
    treatment: str,
    seed: int,
    n_boot: int = 2000,
) -> tuple[float, float] | None:
    """95 % percentile interval of the CTR lift, resampling listeners within each variant
    (None when a variant has no listener)."""
    if not all(any(r.variant == v for r in results) for v in (control, treatment)):
        return None
    rng = np.random.default_rng(seed)

    def ctrs(variant: str) -> np.ndarray:
        mine = [r for r in results if r.variant == variant]
        shown = np.array([r.impressions for r in mine], dtype=float)
        clicked = np.array([r.clicks for r in mine], dtype=float)
        draws = rng.integers(0, len(mine), size=(n_boot, len(mine)))
        out: np.ndarray = clicked[draws].sum(axis=1) / np.maximum(shown[draws].sum(axis=1), 1)
        return out

    lifts = ctrs(treatment) / np.maximum(ctrs(control), 1e-12) - 1
    low, high = np.percentile(lifts, [2.5, 97.5])
    return float(low), float(high)
