"""The home screen: which carousels a listener sees, and in what order.

**The carousels** (:data:`KINDS`) are the lists the API already serves, each for one listener:

- ``for_you``: their personal songs (the batch list re-ranked by the latest plays; a listener
  onboarded but not yet in a batch gets their genres' charts), not for a listener with neither;
- ``because_you_played``: songs similar to their latest play, titled with its title;
- ``region_chart``: their region's all-genre chart of songs;
- ``artists_for_you``: their personal artists;
- ``genre_station``: stations of one of the genres they selected at onboarding (a different
  one each day), in their region;
- ``fans_also_like``: artists whose fans also like the artist of their latest play or follow.

Each has ``limit`` items wherever the charts' fallback applies (:mod:`lambdas.logic.fallback`:
the personal lists, the region's chart, the genre's station charts of the region and global);
the similar lists have what the batch found. A carousel with nothing to show is left out.

**The order** is a contextual bandit's (:mod:`lambdas.logic.bandit`): each carousel is an action
whose features are its kind (one-hot) crossed with the context (:class:`Context`: a bias, whether
the listener has a batch list, whether they were onboarded, their recent plays, how new they
are), ranked by the softmax policy, which gives each position its exact propensity. The prior
is a hand-made home screen (:data:`PRIOR_CTR`): with no clicks yet the bandit shows that order
most of the time and explores the rest. Randomness is the ``rng`` passed in (per request in
production, seeded in tests).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from lambdas.logic import bandit, bandit_state
from lambdas.logic.content import CANDIDATES_PER_RESULT, named, pick, recent_items
from lambdas.logic.fallback import fill, levels, read_level
from lambdas.logic.personal import Listener, fans_also_like, personal_list, similar_songs
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import vocabulary
from lambdas.store import keys

CarouselKind = Literal[
    "for_you", "because_you_played", "region_chart", "artists_for_you", "genre_station",
    "fans_also_like",
]  # fmt: skip
KINDS: tuple[CarouselKind, ...] = get_args(CarouselKind)
BANDIT = "home"  # the bandit's name: its state and log keys, the experiment its answers count in
POLICY_NAME = "softmax"  # the answers' variant and the policy's name
# The hand-made order as the prior's click rates per carousel impression: 5 points apart, 2.5
# temperatures, so that with no clicks each position shows the next of this order about 9 times
# in 10 (the rest is exploration: the softmax's tail and its epsilon).
PRIOR_CTR: Mapping[CarouselKind, float] = {
    "for_you": 0.30, "because_you_played": 0.25, "region_chart": 0.20, "artists_for_you": 0.15,
    "genre_station": 0.10, "fans_also_like": 0.05,
}  # fmt: skip
CONTEXT = ("bias", "has_list", "onboarded", "plays", "fresh")
FEATURES = tuple(f"{kind}:{name}" for kind in KINDS for name in CONTEXT)
PLAYS_SCALE = 20  # recent plays: the feature is min(plays, 20) / 20
FRESH_DAYS = 30  # "fresh" falls from 1 at sign-up to 0 after 30 days (0 when unknown)
# Prior sd 0.1 of click rate for every weight (precision 100): about 15 impressions of a kind in a
# context weigh as much as the prior.
MODEL = bandit.Model(
    FEATURES,
    prior_mean={f"{kind}:bias": ctr for kind, ctr in PRIOR_CTR.items()},
    default_precision=100.0,
    noise=0.15,
)
POLICY = bandit.Policy("softmax", temperature=0.02, optimism=1.0, epsilon=0.05)
SPEC = bandit_state.Spec(BANDIT, MODEL)
DEFAULT_LIMIT = 10
TITLES: Mapping[CarouselKind, str] = {
    "for_you": "Recommended for you",
    "because_you_played": "Because you played {seed}",
    "region_chart": "Popular in {seed}",
    "artists_for_you": "Artists for you",
    "genre_station": "{seed} stations",
    "fans_also_like": "Fans of {seed} also like",
}
GLOBAL_CHART_TITLE = "Popular everywhere"
ARTIST_SEEDS = 5  # fans_also_like: the artist of the latest follow or of one of the last 5 plays


@dataclass(frozen=True)
class Context:
    """What the order may depend on besides the carousel's kind."""

    has_list: bool = False  # a batch list of their own
    onboarded: bool = False  # a stored onboarding profile
    plays: int = 0  # plays among their latest events
    days_since_signup: float | None = None  # since onboarding, when known

    def values(self) -> dict[str, float]:
        """The context features by name (:data:`CONTEXT`)."""
        fresh = 0.0
        if self.days_since_signup is not None:
            fresh = max(0.0, 1.0 - max(self.days_since_signup, 0.0) / FRESH_DAYS)
        return {
            "bias": 1.0,
            "has_list": float(self.has_list),
            "onboarded": float(self.onboarded),
            "plays": min(self.plays, PLAYS_SCALE) / PLAYS_SCALE,
            "fresh": round(fresh, 6),
        }


def features(kind: CarouselKind, context: Context) -> dict[str, float]:
    """A carousel's features by name, the non-zero ones: its kind crossed with the context."""
    return {f"{kind}:{name}": v for name, v in context.values().items() if v != 0.0}


def vector(kind: CarouselKind, context: Context) -> list[float]:
    """:func:`features` in the model's order."""
    return bandit.encode(FEATURES, features(kind, context))


@dataclass(frozen=True)
class Carousel:
    """One candidate carousel: what it shows and what it is about (``seed``: the song, artist,
    genre or region it is built around; None for the listener's own lists) and where its items
    come from (``source``: ``personal``, ``onboarding`` or ``regional`` for the listener's own
    lists as :func:`lambdas.logic.personal.personal_list` says, ``regional`` for the charts,
    ``similar-items`` or ``similar-artists`` for the batch's similar lists)."""

    kind: CarouselKind
    title: str
    items: list[dict[str, Any]]
    seed: str | None = None
    source: str = "regional"


@dataclass(frozen=True)
class Placed:
    """A carousel at its position, with the probability with which the policy put it there
    (given the positions above) and the features it was ranked by."""

    carousel: Carousel
    position: int
    propensity: float
    features: dict[str, float]


@dataclass(frozen=True)
class Screen:
    """The ranked carousels, what they were chosen from and the context."""

    placed: list[Placed]
    candidates: list[Carousel]
    context: Context
    scores: tuple[float, ...] = field(default=())


def prior() -> bandit.Posterior:
    """The posterior with no observations: the hand-made order."""
    return bandit_state.prior(SPEC)


def order(
    post: bandit.Posterior,
    carousels: Sequence[Carousel],
    context: Context,
    rng: random.Random,
    slots: int | None = None,
) -> Screen:
    """The first ``slots`` (default all) of ``carousels`` in the policy's order, each with its
    propensity (:func:`lambdas.logic.bandit.rank`)."""
    if not carousels:
        return Screen([], [], context)
    slots = len(carousels) if slots is None else min(slots, len(carousels))
    vectors = [vector(c.kind, context) for c in carousels]
    ranking = bandit.rank(post, vectors, POLICY, rng, slots=slots)
    placed = [
        Placed(carousels[i], position, ranking.propensities[position],
               features(carousels[i].kind, context))
        for position, i in enumerate(ranking.order)
    ]  # fmt: skip
    return Screen(placed, list(carousels), context, ranking.scores)


# ---------------------------------------------------------------------------------------------
# the candidates


def context_of(listener: Listener, events: Sequence[Mapping[str, Any]], has_list: bool,
               now: float) -> Context:  # fmt: skip
    """The listener's context: their batch list, profile, recent plays, days since sign-up."""
    profile = listener.profile or {}
    at = profile.get("at")
    days = (now - float(at)) / 86400 if at is not None else None
    plays = sum(1 for e in events if e.get("type") == "play")
    return Context(has_list, bool(listener.profile), plays, days)


def candidates(
    svc: Services, user_id: str, limit: int, region: str | None, now: float | None = None
) -> tuple[list[Carousel], Context]:
    """Every carousel that has something to show for the listener, in :data:`KINDS`' order,
    and their context."""
    now = time.time() if now is None else now
    listener = Listener(svc, user_id, region)
    events = svc.store.recent_events(user_id)
    has_list = svc.store.record("personal", user_id) is not None
    context = context_of(listener, events, has_list, now)
    found: list[Carousel | None] = [
        for_you(svc, listener, limit) if has_list or listener.profile else None,
        because_you_played(svc, user_id, events, limit),
        region_chart(svc, listener, events, limit),
        artists_for_you(svc, listener, limit),
        genre_station(svc, listener, limit, now),
        fans_of(svc, events, limit),
    ]
    return [c for c in found if c is not None and c.items], context


def for_you(svc: Services, listener: Listener, limit: int) -> Carousel:
    found = personal_list(svc, listener.user_id, "songs", limit, 2, 1, listener.asked)
    return Carousel("for_you", TITLES["for_you"], found["items"], source=found["source"])


def artists_for_you(svc: Services, listener: Listener, limit: int) -> Carousel:
    found = personal_list(svc, listener.user_id, "artists", limit, 1, 1, listener.asked)
    return Carousel("artists_for_you", TITLES["artists_for_you"], found["items"],
                    source=found["source"])  # fmt: skip


def because_you_played(
    svc: Services, user_id: str, events: Sequence[dict[str, Any]], limit: int
) -> Carousel | None:
    """Songs similar to the latest play (or like), titled with its title."""
    _, seeds = recent_items(list(events))
    if not seeds:
        return None
    seed = seeds[0]
    items = similar_songs(svc, seed, user_id, limit, 2)
    if not items:
        return None
    title = svc.store.catalog([seed]).get(seed, {}).get("title") or seed
    return Carousel("because_you_played", TITLES["because_you_played"].format(seed=title),
                    items, seed, "similar-items")  # fmt: skip


def region_chart(
    svc: Services, listener: Listener, events: Sequence[dict[str, Any]], limit: int
) -> Carousel:
    """The region's all-genre chart of songs (then its country's and the global one, while
    short), without what the listener just heard."""
    region = listener.region
    vocab = vocabulary(svc)
    depth = limit * CANDIDATES_PER_RESULT
    found = (read_level(svc, level, "songs", depth) for level in levels(region, [], vocab, "songs")
             if level.genres == (None,))  # fmt: skip
    heard, _ = recent_items(list(events))
    items = fill(found, lambda pool: pick(svc, pool, limit, 2, 1), limit, heard, depth)
    title = (GLOBAL_CHART_TITLE if region == keys.NATIONAL
             else TITLES["region_chart"].format(seed=region))  # fmt: skip
    return Carousel("region_chart", title, items, region, "regional")


def station_genre(listener: Listener, now: float) -> str | None:
    """The genre of the day among those the listener selected at onboarding (else those
    onboarding recommended), None without either."""
    profile = listener.profile or {}
    genres = [str(g) for g in profile.get("selected_genres") or profile.get("genres") or []]
    if not genres:
        return None
    return genres[int(now // 86400) % len(genres)]


def genre_station(svc: Services, listener: Listener, limit: int, now: float) -> Carousel | None:
    """Stations of the genre of the day in the listener's region, then global ones."""
    genre = station_genre(listener, now)
    if genre is None:
        return None
    depth = limit * CANDIDATES_PER_RESULT
    vocab = vocabulary(svc)
    found = (read_level(svc, level, "stations", depth)
             for level in levels(listener.region, [genre], vocab, "stations")
             if level.genres == (genre,))  # fmt: skip
    items = fill(found, lambda pool: named(svc, pool[:limit], "station"), limit, set(), depth)
    return Carousel("genre_station", TITLES["genre_station"].format(seed=genre), items, genre,
                    "regional")  # fmt: skip


def latest_artist(svc: Services, events: Sequence[Mapping[str, Any]]) -> str | None:
    """The artist of the latest follow, play or like (newest first; songs of the first
    :data:`ARTIST_SEEDS` plays or likes looked up in one catalogue read)."""
    songs = [str(e["item_id"]) for e in events
             if e.get("type") in ("play", "like") and e.get("item_id")][:ARTIST_SEEDS]  # fmt: skip
    catalog = svc.store.catalog(songs) if songs else {}
    for event in events:
        if event.get("type") == "follow" and event.get("artist_id"):
            return str(event["artist_id"])
        if event.get("type") in ("play", "like"):
            artist = catalog.get(str(event.get("item_id")), {}).get("artist_id")
            if artist:
                return str(artist)
    return None


def fans_of(svc: Services, events: Sequence[Mapping[str, Any]], limit: int) -> Carousel | None:
    """Artists whose fans also like the artist of the latest play or follow."""
    artist = latest_artist(svc, events)
    if artist is None:
        return None
    items = fans_also_like(svc, artist, limit)
    if not items:
        return None
    name = svc.store.catalog([artist], kind="artist").get(artist, {}).get("name") or artist
    return Carousel("fans_also_like", TITLES["fans_also_like"].format(seed=name), items, artist,
                    "similar-artists")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# what is recorded


def decision(screen: Screen, placed: Placed, policy_version: str) -> dict[str, Any]:
    """What is recorded with a carousel's answer for the bandit and off-policy evaluation: its
    kind, position, propensity and features, the policy's version, the context, the candidates'
    kinds and the slate's (the kinds shown, in order): enough to rebuild every candidate's
    features and the slate's probability."""
    return {
        "bandit": BANDIT,
        "policy_version": policy_version,
        "kind": placed.carousel.kind,
        "position": placed.position,
        "propensity": placed.propensity,
        "features": placed.features,
        "context": screen.context.values(),
        "candidates": [c.kind for c in screen.candidates],
        "slate": [p.carousel.kind for p in screen.placed],
    }
