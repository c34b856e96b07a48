"""The arms of a simulated run: which variants of the experiment take part (``--arms``).

The API assigns a listener's variant by a salted hash of their id with the configured weights
(:meth:`lambdas.logic.experiments.Experiment.assign`); the stack's configuration is not the
bench's to change (a running stack is reused as it is). So a run of some of the arms chooses each
listener's API id instead: the first of ``<prefix><world id>``, ``<prefix><world id>.1``,
``<prefix><world id>.2``, ... that the experiment's own hash sends to an arm taking part. The
API still assigns every variant; the arms keep their configured relative weights; the hash knows
nothing of the listener's taste, so the assignment stays random; and every listener of the run
takes part. With every arm taking part the first id is always kept: ids, and results, are those
of a run without ``--arms``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from lambdas.config import DEFAULT_EXPERIMENTS, EXPERIMENTS_CONFIG_ENV
from lambdas.logic.experiments import Experiment

MAX_REDRAWS = 10_000  # ids tried per listener; a share of 1 in 1,000 needs about 1,000


class ArmsError(ValueError):
    """``--arms`` naming a variant the experiment does not define (or none, or one twice)."""


def experiments_path() -> Path:
    """The experiments file the stack's handlers read: ``EXPERIMENTS_CONFIG`` if set (a stack
    inherits the environment it is started in), else lambdas/experiments.json."""
    return Path(os.environ.get(EXPERIMENTS_CONFIG_ENV) or DEFAULT_EXPERIMENTS)


def parse_arms(text: str | None, experiment: Experiment) -> tuple[str, ...]:
    """The arms ``--arms`` names (comma-separated; None: every variant, the configured control
    first), checked against the experiment's variants."""
    defined = ", ".join(experiment.variants)
    if text is None:
        return (experiment.control, *(v for v in experiment.variants if v != experiment.control))
    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    unknown = [a for a in arms if a not in experiment.variants]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ArmsError(
            f"unknown arm{plural} {', '.join(unknown)}: the {experiment.name} experiment defines "
            f"{defined}"
        )
    if not arms or len(set(arms)) != len(arms):
        raise ArmsError(f"name each arm once, of {defined} (got {text!r})")
    return arms


def restricted(experiment: Experiment, arms: tuple[str, ...]) -> Experiment:
    """The experiment as the run compares it: its ``arms`` (in that order, weights kept) with the
    first as the control, for the report's arithmetic (:func:`lambdas.ops.experiments.report`)."""
    variants = {arm: experiment.variants[arm] for arm in arms}
    return dataclasses.replace(experiment, control=arms[0], variants=variants)


def shares(experiment: Experiment, arms: tuple[str, ...]) -> dict[str, float]:
    """Each arm's expected share of the run's listeners: its weight among the arms'."""
    total = sum(experiment.variants[arm] for arm in arms)
    return {arm: experiment.variants[arm] / total for arm in arms}


def api_user_id(prefix: str, world_id: str, experiment: Experiment, arms: tuple[str, ...]) -> str:
    """The listener's id for the API: the first candidate the experiment assigns to one of
    ``arms`` (``<prefix><world_id>`` itself when every variant takes part)."""
    base = f"{prefix}{world_id}"
    if set(arms) >= set(experiment.variants):
        return base
    for k in range(MAX_REDRAWS):
        candidate = f"{base}.{k}" if k else base
        if experiment.assign(candidate) in arms:
            return candidate
    raise ArmsError(f"no id of {base} in {', '.join(arms)} after {MAX_REDRAWS:,} tries")
