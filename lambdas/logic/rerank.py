"""Real-time re-ranking: a listener's lists moved by their latest events, in proportion to the
evidence.

The batch lists are a day old; the events of the last minutes say what the listener is into now.
Each of the latest plays (or follows) brings its similar list; a candidate's score is its score
in the list being re-ranked, plus a weighted *mean* of its similarity to the latest seeds (the
newest weighing most), so that one play among many moves the list a little and the only play of
a new listener moves it most; skips demote their artist where that was measured to help. The
weights are chosen offline by replaying held-out listeners event by event (``python -m
bench.reactivity``, docs/model.md "Reactivity"): next-play NDCG@20 on the synthetic world and
MovieLens 100K, with one play replacing at most a quarter of a list nine times in ten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lambdas.logic.rules import Scored

T = TypeVar("T", bound=tuple[Any, ...])  # (id, score, ...)
Event = Mapping[str, Any]
ArtistOf = Callable[[str], str | None]  # a song's artist (None when unknown)


@dataclass(frozen=True)
class Reaction:
    """How much a listener's latest events move one of their lists.

    A candidate's score is ``base_weight`` x its score in the list being re-ranked (scaled to
    the list's best), plus ``session_weight`` x its similarity to the latest seeds (one similar
    list per seed, weighted by ``recency``, newest first; with ``mean`` divided by the weights of
    the seeds that have a list, so that it is a weighted mean), plus ``personal_weight`` x its
    score in the listener's own batch list (scaled to its best), minus ``skip_demotion`` per
    recent skip of its artist. With ``only_base`` the seeds re-rank the list but add nothing to
    it."""

    base_weight: float = 1.0
    session_weight: float = 0.0
    recency: tuple[float, ...] = ()
    mean: bool = True
    only_base: bool = False
    personal_weight: float = 0.0
    skip_demotion: float = 0.0

    @property
    def seeds(self) -> int:
        return len(self.recency)


def geometric(seeds: int, decay: float) -> tuple[float, ...]:
    """Recency weights 1, decay, decay^2, ... for ``seeds`` seeds."""
    return tuple(round(decay**i, 6) for i in range(seeds))


#: The blend before the reactivity evaluation: 0.6 x the batch score plus 0.4, 0.25 and 0.15 x
#: the similarity to the latest three plays, summed. One play replaced a median 40 % of a
#: listener's songs (80 % at the 90th percentile) and cost 32 % of the next-play NDCG@20 on the
#: synthetic world; kept for the evaluation's comparison (:func:`blend`).
PREVIOUS = Reaction(0.6, 1.0, (0.4, 0.25, 0.15), mean=False)
BATCH_WEIGHT, RECENCY_WEIGHTS = PREVIOUS.base_weight, PREVIOUS.recency
#: Songs for you: the batch list re-ranked (nothing added) by the mean similarity to the latest
#: ten plays. Skip demotion was measured and lowered the next-play NDCG: songs do not demote.
SONGS = Reaction(1.0, 0.25, geometric(10, 0.8), only_base=True)
#: Artists for you: the batch list plus the artists similar to those of the latest ten plays and
#: follows; one recent skip of an artist's song costs it as much as the best batch score. The
#: session weight is 8 since similar artists became item-kNN (session 13): its cosines are
#: smaller than the factors' were, and 8 is the validation choice within the stability target.
ARTISTS = Reaction(1.0, 8.0, geometric(10, 0.8), skip_demotion=1.0)
#: Similar songs for a listener: the song's similar list re-ranked by the listener's other latest
#: plays and, mostly, their batch list.
SIMILAR = Reaction(1.0, 0.1, geometric(10, 0.8), only_base=True, personal_weight=0.25)


def _scaled(ranked: Sequence[Scored]) -> dict[str, float]:
    best = max((s for _, s in ranked), default=0.0)
    return {item: (score / best if best > 0 else 0.0) for item, score in ranked}


def react(
    base: Sequence[Scored],
    similar_to_recent: Sequence[Sequence[Scored]],
    reaction: Reaction,
    personal: Sequence[Scored] = (),
    penalty: Callable[[str], float] | None = None,
) -> list[Scored]:
    """``base`` re-ranked under ``reaction`` by the similar lists of the latest seeds (newest
    first), the listener's ``personal`` list and a ``penalty`` per candidate (recent skips of
    its artist). Best first; ties keep the base order, then the seeds'."""
    scores = {item: reaction.base_weight * value for item, value in _scaled(base).items()}
    session: dict[str, float] = {}
    used = 0.0
    for weight, similar in zip(reaction.recency, similar_to_recent, strict=False):
        used += weight
        for item, similarity in similar:
            if reaction.only_base and item not in scores:
                continue
            session[item] = session.get(item, 0.0) + weight * max(similarity, 0.0)
    scale = reaction.session_weight
    if reaction.mean and used > 0:
        scale /= used
    for item, value in session.items():
        scores[item] = scores.get(item, 0.0) + scale * value
    if reaction.personal_weight:
        for item, value in _scaled(personal).items():
            if item in scores:
                scores[item] += reaction.personal_weight * value
    if penalty is not None and reaction.skip_demotion:
        for item in scores:
            scores[item] -= reaction.skip_demotion * penalty(item)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def blend(batch: Sequence[Scored], similar_to_recent: Sequence[Sequence[Scored]]) -> list[Scored]:
    """The blend before the reactivity evaluation (:data:`PREVIOUS`): ``BATCH_WEIGHT`` x the
    batch score (scaled to the list's best) plus, per recent play, its weight x the similarity.
    Best first; ties keep the batch order."""
    return react(batch, similar_to_recent, PREVIOUS)


def latest(events: Sequence[Event], n: int, seed: Callable[[Event], str | None]) -> list[str]:
    """The ``n`` latest distinct seeds of ``events`` (newest first), ``seed`` of each event
    (None: not a seed)."""
    found: list[str] = []
    for event in events:
        value = seed(event)
        if value is not None and value not in found:
            found.append(value)
            if len(found) == n:
                break
    return found


def played_song(event: Event) -> str | None:
    """The song of a play or a like."""
    item = event.get("item_id")
    return str(item) if event.get("type") in ("play", "like") and item else None


def song_seeds(events: Sequence[Event], reaction: Reaction = SONGS) -> list[str]:
    """The latest distinct songs played (or liked): whose similar lists to read."""
    return latest(events, reaction.seeds, played_song)


def artist_seeds(
    events: Sequence[Event], artist_of: ArtistOf, reaction: Reaction = ARTISTS
) -> list[str]:
    """The latest distinct artists played (their songs' artists) or followed."""

    def seed(event: Event) -> str | None:
        if event.get("type") == "follow" and event.get("artist_id"):
            return str(event["artist_id"])
        song = played_song(event)
        return None if song is None else artist_of(song)

    return latest(events, reaction.seeds, seed)


def similar_seeds(item: str, events: Sequence[Event], reaction: Reaction = SIMILAR) -> list[str]:
    """The latest distinct songs played other than ``item``."""
    return [s for s in latest(events, reaction.seeds + 1, played_song) if s != item][
        : reaction.seeds
    ]


def skipped_artists(events: Sequence[Event], artist_of: ArtistOf) -> Counter[str]:
    """Recent skips per artist."""
    found: Counter[str] = Counter()
    for event in events:
        item = event.get("item_id")
        if event.get("type") == "skip" and item and (artist := artist_of(str(item))):
            found[artist] += 1
    return found


def _lists(seeds: Sequence[str], similar: Mapping[str, Sequence[Scored]]) -> list[Sequence[Scored]]:
    return [similar[s] for s in seeds if s in similar]


def rerank_songs(
    batch: Sequence[Scored], events: Sequence[Event], similar: Mapping[str, Sequence[Scored]],
    reaction: Reaction = SONGS, artist_of: ArtistOf | None = None,
) -> list[Scored]:  # fmt: skip
    """Songs for you: ``batch`` under ``reaction``, ``similar`` holding the similar lists of
    :func:`song_seeds`. Skips demote only when ``artist_of`` knows the candidates' artists."""
    seeds = song_seeds(events, reaction)
    return react(batch, _lists(seeds, similar), reaction, penalty=_penalty(events, artist_of))


def rerank_artists(
    batch: Sequence[Scored], events: Sequence[Event], similar: Mapping[str, Sequence[Scored]],
    artist_of: ArtistOf, reaction: Reaction = ARTISTS,
) -> list[Scored]:  # fmt: skip
    """Artists for you: ``batch`` under ``reaction``, ``similar`` holding the similar-artist
    lists of :func:`artist_seeds`; ``artist_of`` knows the recent events' songs."""
    seeds = artist_seeds(events, artist_of, reaction)
    skips = skipped_artists(events, artist_of)
    penalty = (lambda artist: skips.get(artist, 0)) if skips else None
    return react(batch, _lists(seeds, similar), reaction, penalty=penalty)


def rerank_similar(
    item: str, similar_to_item: Sequence[Scored], events: Sequence[Event],
    similar: Mapping[str, Sequence[Scored]], personal: Sequence[Scored],
    reaction: Reaction = SIMILAR, artist_of: ArtistOf | None = None,
) -> list[Scored]:  # fmt: skip
    """Songs similar to ``item`` for a listener: its similar list under ``reaction``, ``similar``
    holding the similar lists of :func:`similar_seeds`, ``personal`` their batch list."""
    seeds = similar_seeds(item, events, reaction)
    return react(similar_to_item, _lists(seeds, similar), reaction, personal,
                 _penalty(events, artist_of))  # fmt: skip


def _penalty(events: Sequence[Event], artist_of: ArtistOf | None) -> Callable[[str], float] | None:
    """Recent skips of a song's artist, when the songs' artists are known."""
    if artist_of is None:
        return None
    skips = skipped_artists(events, artist_of)
    if not skips:
        return None
    return lambda song: skips.get(artist_of(song) or "", 0)


def interleave(lists: Sequence[Sequence[T]]) -> list[T]:
    """Round-robin over several ranked lists (one per predicted genre), duplicates (by id, the
    first field) dropped."""
    seen: set[str] = set()
    out: list[T] = []
    for rank in range(max((len(x) for x in lists), default=0)):
        for ranked_list in lists:
            if rank < len(ranked_list) and ranked_list[rank][0] not in seen:
                seen.add(ranked_list[rank][0])
                out.append(ranked_list[rank])
    return out
