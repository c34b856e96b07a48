"""Off-policy evaluation of the home screen's first carousel: what another policy would have
earned, from the logged decisions (pure functions; reading the log is the ops CLI's).

**The unit** is one home screen whose first carousel (position 0) was counted as seen: the
action is that carousel's kind, the reward the clicks counted on it (distinct items, usually 0
or 1: the bandit's clicks per carousel impression), the logging propensity the one recorded for
position 0. Only position 0 is evaluated because only there is the recorded propensity the
*marginal* probability of the action: position k's is the softmax's probability given the
carousels placed above, so a target's value at position k would need the probability of the
whole prefix under both policies (a slate estimator, with weights that multiply), not one
position's. Screens whose first carousel was not reported as seen are not in the log; the
estimates assume that whether it is reported does not depend on its kind.

**The data.** The log (``bandit#home#log#<minute>#<shard>``) holds, per counted impression or
click, the decision's kind, position, propensity, features and policy version, and the answer's
``recommendation_id`` in its sort key; the other candidates and the context are on the issued
record (``rec#<id>``, its ``decision``), from which every candidate's features are rebuilt
(:func:`lambdas.logic.home.features`). Both expire after 7 days.

**The targets** (:data:`TARGETS`), each a distribution over the screen's candidates for the
first position: ``prior``, the softmax policy with no state (the hand-made order with its
exploration); ``greedy``, the current posterior's best carousel (deterministic); ``softmax``,
the current policy itself, a sanity check: where the log was written by the current version its
weights are 1 and every estimate is the logged mean reward. Doubly robust uses the current
posterior's mean click rate of each candidate as its reward model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.logic import bandit, offpolicy, ope_report
from lambdas.logic.home import FEATURES, KINDS, POLICY, prior
from lambdas.logic.ope_report import METHODS, Evaluation, Skipped, TargetResult, recommendation_id

__all__ = ["METHODS", "TARGETS", "Decision", "Evaluation", "Skipped", "TargetResult",
           "decisions", "evaluate", "first_carousels", "format_evaluation", "recommendation_id",
           "records", "targets"]  # fmt: skip

TARGETS = ("prior", "greedy", "softmax")
UNIT = "the first carousel of a home screen counted as seen; reward: its clicks"
GREEDY = bandit.Policy("greedy")


@dataclass(frozen=True)
class Decision:
    """One home screen's first carousel, as logged and issued, with its reward."""

    recommendation_id: str
    kind: str  # the action: the first carousel's kind
    propensity: float  # the logging policy's probability of that kind first
    candidates: tuple[str, ...]  # every candidate's kind, in the recorded order
    context: Mapping[str, float]  # the context features by name (lambdas.logic.home.CONTEXT)
    policy_version: str
    reward: float  # clicks counted on it

    def vectors(self) -> list[list[float]]:
        """Every candidate's feature vector (the kind crossed with the context)."""
        return [bandit.encode(FEATURES, {f"{kind}:{name}": v for name, v in self.context.items()})
                for kind in self.candidates]  # fmt: skip

    @property
    def action(self) -> int:
        return self.candidates.index(self.kind)


def first_carousels(entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, float], Skipped]:
    """The recommendation ids of the first carousels counted as seen, with the clicks counted
    on each (their reward), from log entries (any order, several minutes)."""
    return ope_report.first_positions(entries)


def decisions(
    rewards: Mapping[str, float], issued: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Decision], int]:
    """The :class:`Decision` of each first carousel (by recommendation id, with its reward) whose
    issued record is there and usable, and how many were not."""
    found: list[Decision] = []
    missing = 0
    for rec, reward in rewards.items():
        decision = (issued.get(rec) or {}).get("decision")
        try:
            if not isinstance(decision, Mapping):
                raise TypeError("no decision")
            candidates = tuple(str(k) for k in decision["candidates"])
            kind = str(decision["kind"])
            propensity = float(decision["propensity"])
            context = {str(k): float(v) for k, v in decision["context"].items()}
            usable = (int(decision["position"]) == 0 and kind in candidates
                      and set(candidates) <= set(KINDS) and 0.0 < propensity <= 1.0)  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError):
            usable = False
        if not usable:
            missing += 1
            continue
        version = str(decision.get("policy_version", ""))  # type: ignore[union-attr]
        found.append(Decision(rec, kind, propensity, candidates, context, version, reward))
    return found, missing


Target = Callable[[Decision], list[float]]


def targets(post: bandit.Posterior) -> dict[str, Target]:
    """Each target policy's probabilities of the candidates first (:data:`TARGETS`), given the
    current posterior ``post``."""
    start = prior()
    return {
        "prior": lambda d: bandit.top_probabilities(start, d.vectors(), POLICY),
        "greedy": lambda d: bandit.top_probabilities(post, d.vectors(), GREEDY),
        "softmax": lambda d: bandit.top_probabilities(post, d.vectors(), POLICY),
    }


def records(
    found: Sequence[Decision], target: Target, post: bandit.Posterior
) -> list[offpolicy.Logged]:
    """The :mod:`offpolicy` records of ``found`` for ``target``, with the posterior mean click
    rate of every candidate as the reward model."""
    return ope_report.records(found, target, lambda d: [post.predict(x) for x in d.vectors()])


def evaluate(
    found: Sequence[Decision],
    post: bandit.Posterior,
    state_version: str = "prior",
    skipped: Skipped | None = None,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Evaluation:
    """Every target's IPS, SNIPS and DR estimates with their bootstrap intervals (none when
    there are no decisions; a method that cannot estimate a target says why)."""
    return ope_report.evaluate(
        found, targets(post), lambda d: [post.predict(x) for x in d.vectors()], state_version,
        skipped, UNIT, resamples=resamples, level=level, seed=seed,
    )  # fmt: skip


def format_evaluation(report: Evaluation) -> str:
    """The report as text."""
    if not report.decisions:
        return ("home: no logged first carousels with their issued decisions in the window: "
                "nothing to evaluate (has the home screen been served and seen? the log and "
                "the issued records are kept 7 days)")  # fmt: skip
    return "\n".join(["home: off-policy evaluation of the first carousel (reward: its clicks "
                      "per impression)", *ope_report.table(report)])  # fmt: skip
