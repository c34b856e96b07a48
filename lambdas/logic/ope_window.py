"""The off-policy evaluation of a bandit's first position over a window of its log: the log
read minute by minute (in parallel, newest first, within a deadline when one is given), the
first positions' issued decisions (BatchGetItem) and the bandit's current posterior, evaluated
by :mod:`lambdas.logic.home_evaluation` (the home screen's first carousel) or
:mod:`lambdas.logic.onboarding_evaluation` (the onboarding answer's first station). The command
line (``python -m lambdas.ops.experiments ope``) and the console's route share it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from lambdas.logic import home, home_evaluation, onboarding_bandit, onboarding_evaluation
from lambdas.logic.bandit import Posterior
from lambdas.logic.bandit_state import PRIOR_VERSION, Spec, posterior_of, prior
from lambdas.store.dynamodb import Store

BANDITS = (home.BANDIT, onboarding_bandit.BANDIT)
MAX_HOURS = 168  # the log and the issued decisions are kept 7 days
MIN_RESAMPLES = 20  # the fewest bootstrap resamples a draw budget leaves an interval


@dataclass(frozen=True)
class Window:
    """What was read of a bandit's log: its entries, and of the minutes asked how many were
    read (a leading run, newest first: short of ``asked`` when a deadline cut the reading)."""

    entries: list[dict[str, Any]]
    asked: int
    read: int

    @property
    def complete(self) -> bool:
        return self.read == self.asked


def read_log(
    store: Store, name: str, hours: float, now: float | None = None, deadline: float | None = None
) -> Window:
    """The bandit ``name``'s log entries of the last ``hours`` (8 shard queries a minute: 11,520
    for a day), newest minute first; with a ``deadline`` (a time of ``store.clock``), the
    minutes not read by then are left out."""
    now = time.time() if now is None else now
    last = int(now // 60)
    minutes = list(range(last, last - math.ceil(hours * 60) - 1, -1))
    entries, read = store.bandit_logs(name, minutes, deadline=deadline)
    return Window(entries, len(minutes), read)


def bandit_log(store: Store, name: str, hours: float, now: float | None = None) -> list[Any]:
    """Every log entry of the bandit ``name`` of the last ``hours``."""
    return read_log(store, name, hours, now).entries


def current_posterior(store: Store, spec: Spec) -> tuple[Posterior, str]:
    """The bandit's current posterior and its version (the prior without a state)."""
    state = store.bandit_state(spec.name, cached=False)
    if state is None:
        return prior(spec), PRIOR_VERSION
    number, post = posterior_of(state, spec)
    return post, str(number)


class OnboardingLog(NamedTuple):
    """The onboarding bandit's first stations of a window, what was left out, and the current
    posterior with its version: what its evaluation (and the bench's truth) take."""

    decisions: list[onboarding_evaluation.Decision]
    skipped: onboarding_evaluation.Skipped
    posterior: Posterior
    state_version: str


def onboarding_decisions(store: Store, entries: list[Any]) -> OnboardingLog:
    """The onboarding bandit's first stations among log ``entries`` (their issued decisions by
    BatchGetItem) and its current posterior."""
    rewards, skipped = onboarding_evaluation.first_stations(entries)
    found, unissued = onboarding_evaluation.decisions(rewards, store.issued_many(rewards))
    skipped = onboarding_evaluation.Skipped(skipped.other_positions, unissued,
                                            skipped.clicks_without_impression)  # fmt: skip
    post, version = current_posterior(store, onboarding_bandit.SPEC)
    return OnboardingLog(found, skipped, post, version)


def onboarding_log(store: Store, hours: float = 24.0, now: float | None = None) -> OnboardingLog:
    """The onboarding bandit's first stations over the last ``hours`` and its posterior."""
    return onboarding_decisions(store, bandit_log(store, onboarding_bandit.BANDIT, hours, now))


def bounded(resamples: int, decisions: int, max_draws: int | None) -> int:
    """The bootstrap's resamples for ``decisions`` within ``max_draws`` records drawn per
    estimate (None: ``resamples``), never fewer than :data:`MIN_RESAMPLES`."""
    if max_draws is None or not decisions:
        return resamples
    return max(min(resamples, MIN_RESAMPLES), min(resamples, max_draws // decisions))


def evaluate_log(
    store: Store,
    bandit: str,
    entries: list[Any],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    max_draws: int | None = None,
) -> home_evaluation.Evaluation:
    """The off-policy evaluation of ``bandit``'s first position from its log ``entries``; with
    ``max_draws``, fewer resamples for many decisions (:func:`bounded`: the evaluation's time
    grows with resamples × decisions; the answer says how many it used)."""
    if bandit == onboarding_bandit.BANDIT:
        log = onboarding_decisions(store, entries)
        return onboarding_evaluation.evaluate(
            log.decisions, log.posterior, log.state_version, log.skipped,
            resamples=bounded(resamples, len(log.decisions), max_draws), level=level, seed=seed,
        )  # fmt: skip
    if bandit != home.BANDIT:
        raise ValueError(f"unknown bandit {bandit!r}: one of {', '.join(BANDITS)}")
    rewards, skipped = home_evaluation.first_carousels(entries)
    found, unissued = home_evaluation.decisions(rewards, store.issued_many(rewards))
    skipped = home_evaluation.Skipped(skipped.other_positions, unissued,
                                      skipped.clicks_without_impression)  # fmt: skip
    post, version = current_posterior(store, home.SPEC)
    return home_evaluation.evaluate(
        found, post, version, skipped, level=level, seed=seed,
        resamples=bounded(resamples, len(found), max_draws),
    )  # fmt: skip


def off_policy(
    store: Store,
    hours: float = 24.0,
    now: float | None = None,
    *,
    bandit: str = home.BANDIT,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> home_evaluation.Evaluation:
    """The off-policy evaluation of ``bandit``'s first position over the last ``hours``:
    ``home``, the home screen's first carousel; ``onboarding``, the onboarding answer's first
    station."""
    if bandit not in BANDITS:
        raise ValueError(f"unknown bandit {bandit!r}: one of {', '.join(BANDITS)}")
    entries = bandit_log(store, bandit, hours, now)
    return evaluate_log(store, bandit, entries, resamples=resamples, level=level, seed=seed)
