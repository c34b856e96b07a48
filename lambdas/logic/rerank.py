"""Real-time re-ranking: a listener's batch list blended with songs similar to their latest plays.

The batch list is a day old; the plays of the last minutes say what the listener is into now.
Each of the latest plays contributes its similar songs, the most recent play the most; songs the
listener just played are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from lambdas.logic.rules import Scored

T = TypeVar("T", bound=tuple[Any, ...])  # (id, score, ...)

BATCH_WEIGHT = 0.6
RECENCY_WEIGHTS = (0.4, 0.25, 0.15)  # the latest play first


def blend(batch: Sequence[Scored], similar_to_recent: Sequence[Sequence[Scored]]) -> list[Scored]:
    """Scores of the union: ``BATCH_WEIGHT`` x the batch score (scaled to the list's best) plus,
    per recent play, its weight x the similarity. Best first; ties keep the batch order."""
    scores: dict[str, float] = {}
    best = max((s for _, s in batch), default=0.0)
    for song_id, score in batch:
        scores[song_id] = BATCH_WEIGHT * (score / best if best > 0 else 0.0)
    for weight, similar in zip(RECENCY_WEIGHTS, similar_to_recent, strict=False):
        for song_id, similarity in similar:
            scores[song_id] = scores.get(song_id, 0.0) + weight * max(similarity, 0.0)
    order = {song_id: i for i, song_id in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


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
