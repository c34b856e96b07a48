"""The off-policy check of a run with the ``bandit`` arm: from the bandit's own log (its first
stations, their recorded propensities and clicks), IPS, SNIPS and doubly robust estimates of what
other station policies would have earned at position 0, each against the simulated truth for the
same listeners (the world's click probabilities of every candidate, no click noise).

The targets are :mod:`lambdas.logic.onboarding_evaluation`'s: ``prior-greedy`` is the model's
ranking of the same candidates (its first genre's best station), ``greedy`` the learnt bandit
without exploration, ``prior`` the bandit before any click, ``logging`` the policy that ran (the
on-policy check). Why not from the ``model`` arm's log: its stations are a fixed ranking
(propensity 1), so a policy that ever shows another first station has no support there;
importance weighting needs the logging policy to explore, which only the bandit arm does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.ab.simulate import ListenerResult
from lambdas.logic import onboarding_evaluation
from lambdas.ops.experiments import onboarding_log
from lambdas.store.dynamodb import Store
from local import aws
from local.stack import Stack
from training.data.world import WorldTruth

EXPERIMENTS_TABLE = "musicrec-local-experiments"
METHODS = ("ips", "snips", "dr")


@dataclass(frozen=True)
class OpeCheck:
    """The evaluation (as JSON) and each target's truth over the same decisions."""

    evaluation: dict[str, Any]
    truth: dict[str, float]

    def covered(self, target: str, method: str) -> bool | None:
        """Whether ``method``'s interval for ``target`` covers its truth (None: no estimate)."""
        found = next((t for t in self.evaluation["targets"] if t["target"] == target), None)
        estimate = (found or {}).get("estimates", {}).get(method)
        if estimate is None or target not in self.truth:
            return None
        return bool(estimate["low"] <= self.truth[target] <= estimate["high"])


def stack_store(stack: Stack) -> Store:
    """The stack's experiments table, as the API's store reads it."""
    resource: Any = aws.client("dynamodb", stack.aws_url, kind="resource")
    return Store({"experiments": resource.Table(EXPERIMENTS_TABLE)})


def check(
    stack: Stack, truth: WorldTruth, results: Sequence[ListenerResult], hours: float
) -> OpeCheck | None:
    """The check over the last ``hours`` of the bandit's log (None: no bandit decision)."""
    log = onboarding_log(stack_store(stack), hours)
    if not log.decisions:
        return None
    world_of = {r.user_id: r.world_id for r in results}

    def probabilities(user: str | None, stations: Sequence[str]) -> list[float]:
        return truth.station_click_probability(world_of[str(user)], list(stations)).tolist()

    evaluation = onboarding_evaluation.evaluate(
        log.decisions, log.posterior, log.state_version, log.skipped, seed=1
    )
    true = onboarding_evaluation.true_values(
        log.decisions, probabilities, log.posterior, log.state_version
    )
    return OpeCheck(evaluation.as_dict(), true)


def markdown(found: OpeCheck | None) -> list[str]:
    """The check's table for the section."""
    if found is None:
        return ["No bandit decision was logged: no off-policy check.", ""]
    ev = found.evaluation
    lines = [
        f"**Off-policy check** (`lambdas.logic.onboarding_evaluation`, from the `bandit` arm's "
        f"own log: {ev['decisions']:,} first stations seen, their recorded propensities and "
        f"clicks; observed click rate {ev['observed']:.2%}). Each target's estimate with its "
        "95 % bootstrap interval, against the truth for the same listeners (the world's click "
        "probabilities, no click noise); `prior-greedy` is the model's own ranking of the "
        "candidates, `greedy` the learnt bandit without exploration:",
        "",
        "| target | truth | IPS | SNIPS | DR | truth inside |",
        "|---|---:|---|---|---|---|",
    ]
    for target in ev["targets"]:
        name = target["target"]
        cells = []
        for method in METHODS:
            e = target["estimates"].get(method)
            cells.append(f"{e['value']:.2%} [{e['low']:.2%}, {e['high']:.2%}]" if e else "n/a")
        inside = [m for m in METHODS if found.covered(name, m)]
        truth = found.truth.get(name)
        lines.append(
            f"| {name} | {truth:.2%} | {' | '.join(cells)} | "
            f"{', '.join(m.upper() for m in inside) or 'none'} |"
            if truth is not None
            else f"| {name} | n/a | {' | '.join(cells)} | n/a |"
        )
    lines += [
        "",
        "From the `model` arm's log no such estimate exists: its first station is a fixed "
        "ranking (propensity 1), so a policy that ever puts another station first has no "
        "support in it; the bandit arm's exploration is what makes its log evaluable "
        "([experiments.md](experiments.md#off-policy-evaluation-of-the-onboarding-stations)).",
        "",
    ]
    return lines
