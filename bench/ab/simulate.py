"""One simulated A/B run through the local API.

Every listener onboards (``POST /v1/onboarding/recommendations``, which assigns the variant of
the ``onboarding`` experiment), is shown the stations and songs of the answer (one impression
each), clicks each with the probability the world's hidden truth gives for that listener and
item, and the impressions and clicks are posted as events (``POST /v1/events``) carrying the
answer's ``recommendation_id``: the server counts them under the variant it recorded for that
answer. Every call carries the listener's own token, as their app would send it.

Each listener's draws come from their own random stream (the seed and their position), so the
outcome does not depend on how the requests are spread over threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from bench.ab.arms import api_user_id
from bench.ab.listeners import Listener
from lambdas.logic.experiments import Experiment
from training.data.world import WorldTruth

DAY_MS = 86_400_000
SHOWN = ("stations", "songs")  # what a new listener sees of the answer (artists: no click model)
MAX_EVENTS = 100  # per request (the API's limit)
ONBOARDING = "/v1/onboarding/recommendations"

# (method, path, body, listener) -> answer: the call made with the listener's credentials
Api = Callable[[str, str, Any, str], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class RunConfig:
    """What names a run: a prefix making its event ids unique, the seed of the clicks, the prefix
    of its listeners' API ids, and when its simulated day 0 starts (ms since the epoch; the API
    takes events of the last 30 days, so a run's days end about now: :func:`days_until_now`).

    With ``experiment`` and ``arms``, only those arms take part: each listener's API id is the
    first the experiment's hash assigns to one of them (:mod:`bench.ab.arms`), and an answer of
    another variant (a stack reading another experiments file) is an error, its items not
    posted."""

    run_id: str
    seed: int
    user_prefix: str
    start_ms: int
    experiment: Experiment | None = None
    arms: tuple[str, ...] = ()

    def user_id(self, world_id: str) -> str:
        if self.experiment is None or not self.arms:
            return f"{self.user_prefix}{world_id}"
        return api_user_id(self.user_prefix, world_id, self.experiment, self.arms)


def days_until_now(days: int) -> int:
    """The start of day 0 of ``days`` simulated days that end now."""
    return int(time.time() * 1000) - days * DAY_MS


@dataclass
class ListenerResult:
    """What happened to one listener."""

    world_id: str
    user_id: str
    day: int
    variant: str = ""
    source: str = ""
    shown: dict[str, int] = field(default_factory=dict)
    clicked: dict[str, int] = field(default_factory=dict)
    expected_clicks: float = 0.0  # the sum of the click probabilities of what was shown
    click_variance: float = 0.0  # the variance of the number of clicks, sum of p (1 - p)
    posted: int = 0
    stored: int = 0
    duplicates: int = 0  # answered as stored before: only a retried request should see any
    errors: list[str] = field(default_factory=list)

    @property
    def impressions(self) -> int:
        return sum(self.shown.values())

    @property
    def clicks(self) -> int:
        return sum(self.clicked.values())


def click_probabilities(truth: WorldTruth, world_id: str, kind: str, ids: list[str]) -> np.ndarray:
    """P(click) of the listener on each shown station or song, from the hidden truth."""
    if not ids:
        return np.zeros(0)
    if kind == "stations":
        return truth.station_click_probability(world_id, ids)
    return truth.song_click_probability(world_id, ids)


def arrival_ms(listener: Listener, rng: np.random.Generator, start_ms: int) -> int:
    """When the listener onboards: a random moment of their simulated day."""
    start = start_ms + listener.day * DAY_MS
    return start + int(rng.integers(0, DAY_MS - 60_000))


def simulate_one(
    api: Api, truth: WorldTruth, listener: Listener, index: int, config: RunConfig
) -> ListenerResult:
    """Onboard one listener, draw their clicks, post the impressions and clicks."""
    rng = np.random.default_rng([config.seed, index])
    user_id = config.user_id(listener.world_id)
    result = ListenerResult(listener.world_id, user_id, listener.day)
    try:
        status, answer = api("POST", ONBOARDING, {"user_id": user_id, **listener.answers}, user_id)
        if status != 200:
            result.errors.append(f"onboarding {status}: {answer.get('message')}")
            return result
        if config.arms and answer.get("variant") not in config.arms:
            result.variant = str(answer.get("variant"))
            result.errors.append(f"variant {result.variant} answered, not one of the run's arms")
            return result
        events = feedback(truth, listener, answer, rng, config, result)
        post_events(api, events, result)
    except OSError as exc:  # the gateway did not answer, even when asked again
        result.errors.append(f"{type(exc).__name__}: {exc}")
    return result


def feedback(
    truth: WorldTruth,
    listener: Listener,
    answer: dict[str, Any],
    rng: np.random.Generator,
    config: RunConfig,
    result: ListenerResult,
) -> list[dict[str, Any]]:
    """The impression and click events of what ``answer`` showed (tallied into ``result``)."""
    result.variant, result.source = str(answer["variant"]), str(answer["source"])
    at = arrival_ms(listener, rng, config.start_ms)
    base = {"user_id": result.user_id, "recommendation_id": answer["recommendation_id"]}
    events: list[dict[str, Any]] = []
    for kind in SHOWN:
        ids = [str(entry["id"]) for entry in answer.get(kind, [])]
        p = click_probabilities(truth, listener.world_id, kind, ids)
        clicked = rng.random(len(ids)) < p
        result.shown[kind], result.clicked[kind] = len(ids), int(clicked.sum())
        result.expected_clicks += float(p.sum())
        result.click_variance += float((p * (1 - p)).sum())
        for position, (item, click) in enumerate(zip(ids, clicked, strict=True)):
            stem = f"{config.run_id}-{result.user_id}-{kind}-{position}"
            events.append({**base, "event_id": f"{stem}-i", "type": "impression",
                           "item_id": item, "ts": at})  # fmt: skip
            if click:
                events.append({**base, "event_id": f"{stem}-c", "type": "click",
                               "item_id": item, "ts": at + 1000 * (position + 5)})  # fmt: skip
    return events


def post_events(api: Api, events: list[dict[str, Any]], result: ListenerResult) -> None:
    """Post ``events``, :data:`MAX_EVENTS` a request. The run's event ids are its own, so
    ``duplicates`` are events a timed-out attempt stored, or a fault."""
    for start in range(0, len(events), MAX_EVENTS):
        chunk = events[start : start + MAX_EVENTS]
        status, answer = api("POST", "/v1/events", {"events": chunk}, result.user_id)
        result.posted += len(chunk)
        if status != 200:
            result.errors.append(f"events {status}: {answer.get('message')}")
            continue
        result.stored += int(answer["stored"])
        result.duplicates += int(answer["duplicates"])


def simulate(
    api: Api,
    truth: WorldTruth,
    listeners: Sequence[Listener],
    config: RunConfig,
    workers: int = 1,
    progress: bool = True,
) -> list[ListenerResult]:
    """Every listener through the API, ``workers`` at a time; results in listener order."""
    bar = tqdm(total=len(listeners), unit="listener", desc="A/B", disable=not progress)

    def one(pair: tuple[int, Listener]) -> ListenerResult:
        result = simulate_one(api, truth, pair[1], pair[0], config)
        bar.update()
        return result

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        return list(pool.map(one, enumerate(listeners)))
    finally:  # on Ctrl-C, the listeners not started yet are dropped, not waited for
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
