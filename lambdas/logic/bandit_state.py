"""A bandit's state: read by the API (the posterior cached per version), refreshed on a schedule
by one writer. Each bandit (:class:`Spec`: the home screen's carousels, the onboarding answer's
stations) has its own state and log; the functions take the bandit's spec.

The state is one item of the experiments table (``bandit#<name>`` / ``state``): the bandit's
sufficient statistics (:func:`lambdas.logic.bandit.dumps`, a few KB), a ``version`` and the
``watermark``, the last minute folded into it. Each impression or click the events route counts
on a carousel the bandit ranked is logged, in the same transaction as the mark that it was
counted (so once), under the minute it was counted in (:meth:`Store.bandit_log`). The refresh
(:func:`refresh`, every minute) folds the minutes after the watermark that have ended at least
:data:`GRACE_MINUTES` ago into the statistics and writes them with a conditional put on the
version: of two overlapping runs, one writes and the other's work is dropped, never counted
twice. Why a schedule and not a write per event: docs/experiments.md.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.logic import bandit
from lambdas.logic.services import Services

PRIOR_VERSION = "prior"  # the policy's version when it serves the prior
GRACE_MINUTES = 2  # a minute is folded once it ended at least a minute ago (writes under way)
MAX_MINUTES_PER_RUN = 60  # a run catches up at most an hour (the next runs go on)
FIRST_LOOKBACK_MINUTES = 60  # without a state, the first run starts an hour back


@dataclass(frozen=True)
class Spec:
    """A bandit: its name (its state's and log's keys, the experiment its answers count in), its
    model (features and prior) and how its exploration anneals."""

    name: str
    model: bandit.Model
    annealing: bandit.Annealing | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return self.model.features


#: The prior's posterior of each bandit, by name.
_priors: dict[str, bandit.Posterior] = {}


def prior(spec: Spec) -> bandit.Posterior:
    """The posterior with no observations (computed once per bandit and container)."""
    found = _priors.get(spec.name)
    if found is None:
        found = _priors[spec.name] = bandit.posterior(spec.model, bandit.empty(spec.features))
    return found


@dataclass(frozen=True)
class PolicyState:
    """What the API ranks with: the posterior, its version (``prior``: no state) and, when the
    prior serves because the state could not be used, why (``problem``)."""

    posterior: bandit.Posterior
    version: str
    problem: str | None = None
    observations: float = 0.0  # impressions folded into the state (what annealing reads)

    def policy(self, spec: Spec, base: bandit.Policy) -> bandit.Policy:
        """``base`` as the bandit's annealing makes it at this state (``base`` without one)."""
        return base if spec.annealing is None else spec.annealing.policy(base, self.observations)


#: The posterior of the latest state seen of each bandit, by its version and a digest of its
#: statistics (a version alone could name another state: one started afresh, or another table's).
_posteriors: dict[str, tuple[tuple[int, bytes], bandit.Posterior]] = {}


def posterior_of(item: Mapping[str, Any], spec: Spec) -> tuple[int, bandit.Posterior]:
    """The version and posterior of a stored state (computed once per state and container)."""
    version = int(item["version"])
    stats = bytes(item["stats"])
    key = (version, hashlib.blake2b(stats, digest_size=16).digest())
    cached = _posteriors.get(spec.name)
    if cached is not None and cached[0] == key:
        return version, cached[1]
    found = bandit.posterior(spec.model, bandit.loads(stats))
    _posteriors[spec.name] = (key, found)
    return version, found


def policy_state(svc: Services, spec: Spec) -> PolicyState:
    """The policy's posterior: the stored state's (read at most every ``CACHE_SECONDS``), else
    the prior; a state that cannot be read or used (DynamoDB failing, damaged bytes, other
    features) is the prior too, with the problem said. Never raises."""
    try:
        item = svc.store.bandit_state(spec.name)
        if item is None:
            return PolicyState(prior(spec), PRIOR_VERSION)
        version, post = posterior_of(item, spec)
        return PolicyState(post, str(version), observations=float(item.get("impressions", 0)))
    except Exception as exc:  # any failure serves the prior: never a 5xx
        return PolicyState(prior(spec), PRIOR_VERSION, f"{type(exc).__name__}: {exc}"[:300])


# ---------------------------------------------------------------------------------------------
# the refresh


def fold(stats: bandit.Stats, logged: Iterable[Mapping[str, Any]]) -> tuple[bandit.Stats, int, int]:
    """``stats`` plus what was logged, and the impressions and clicks folded. An impression is an
    observation of its action's features (and its ``key``'s own effect, when it has one) with
    reward 0; a click adds 1 to the reward of its action's features (``Σ r x``, ``Σ r``, and its
    key's ``Σ r``) without another observation: the model learns the clicks per impression.
    Entries of another type or without features are skipped."""
    impressions: list[bandit.Obs] = []
    click_x = [0.0] * stats.dim
    clicks = 0
    keyed: dict[str, float] = {}
    for entry in logged:
        raw = entry.get("features")
        if not isinstance(raw, Mapping):
            continue
        x = bandit.encode(stats.features, {str(k): float(v) for k, v in raw.items()})
        if not all(math.isfinite(v) for v in x):
            continue
        key = str(entry["key"]) if entry.get("key") else None
        if entry.get("type") == "impression":
            impressions.append(bandit.Obs(x, 0.0, key))
        elif entry.get("type") == "click":
            clicks += 1
            click_x = [a + b for a, b in zip(click_x, x, strict=True)]
            if key is not None:
                keyed[key] = keyed.get(key, 0.0) + 1.0
    d = stats.dim
    nothing = (0.0,) * d
    rewards = bandit.Stats(
        stats.features, (0.0,) * (d * (d + 1) // 2), tuple(click_x), 0.0, float(clicks),
        {key: bandit.ActionStats(0.0, r, nothing) for key, r in keyed.items()},
    )  # fmt: skip
    return bandit.merge(bandit.update(stats, impressions), rewards), len(impressions), clicks


@dataclass(frozen=True)
class Refreshed:
    """What a run of the refresh did."""

    written: bool  # False: nothing to fold yet, or another run wrote first
    version: int | None  # the state's version after the run
    minutes: tuple[int, int] | None  # the minutes folded (first, last), since the epoch
    impressions: int = 0
    clicks: int = 0
    note: str = ""  # why nothing was written, or that the stored state was started afresh

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": self.written, "version": self.version,
            "minutes": list(self.minutes) if self.minutes else None,
            "impressions": self.impressions, "clicks": self.clicks, "note": self.note,
        }  # fmt: skip


def stored_stats(item: Mapping[str, Any] | None, spec: Spec) -> tuple[bandit.Stats, str]:
    """The statistics of a stored state, or none (and why) when there is none or they cannot
    be used with this model (damaged, or features since changed: learning starts afresh)."""
    if item is None:
        return bandit.empty(spec.features), ""
    try:
        stats = bandit.loads(bytes(item["stats"]))
    except (bandit.BanditError, KeyError, TypeError) as exc:
        return bandit.empty(spec.features), f"stored state unreadable, started afresh: {exc}"
    if stats.features != spec.features:
        return bandit.empty(spec.features), "stored state of other features, started afresh"
    return stats, ""


def refresh(
    svc: Services, spec: Spec, now: float | None = None, max_minutes: int = MAX_MINUTES_PER_RUN
) -> Refreshed:
    """Fold the minutes logged since the watermark (at most ``max_minutes``, those that ended
    ``GRACE_MINUTES`` ago) into the state and write it as the next version, if no other run
    wrote since it was read."""
    now = time.time() if now is None else now
    last = int(now // 60) - GRACE_MINUTES
    item = svc.store.bandit_state(spec.name, cached=False)
    stats, note = stored_stats(item, spec)
    previous = int(item["version"]) if item is not None else None
    watermark = int(item["watermark"]) if item is not None else last - FIRST_LOOKBACK_MINUTES
    first, upto = watermark + 1, min(last, watermark + max_minutes)
    if upto < first:
        return Refreshed(False, previous, None, note="no minute has ended since the last run")
    logged = [entry for minute in range(first, upto + 1)
              for entry in svc.store.bandit_log(spec.name, minute)]  # fmt: skip
    stats, impressions, clicks = fold(stats, logged)
    version = (previous or 0) + 1
    state = {"stats": bandit.dumps(stats), "watermark": upto, "updated_at": int(now),
             "impressions": stats.n, "clicks": stats.rewards}  # fmt: skip
    if not svc.store.put_bandit_state(spec.name, state, version, previous):
        return Refreshed(False, previous, None, note="another run wrote first: nothing written")
    return Refreshed(True, version, (first, upto), impressions, clicks, note)
