"""The settings of a batch run; they are written into the manifest's ``params``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SONG_MODELS = ("als", "puresvd")  # the song factor models a run can serve


@dataclass(frozen=True)
class BatchParams:
    """How lists are computed and which business rules they obey."""

    n: int = 100  # list length of every family
    max_per_artist: int = 2  # songs of one artist per song list
    max_per_album: int = 1  # songs of one album per song list
    active_days: int = 90  # listeners with a play this recent get per-user lists
    chart_days: int = 28  # the regional charts count plays of this many last days
    min_item_plays: int = 5  # songs with fewer listeners get no `similar-items` list
    song_model: str = "als"  # the song factors: "als" or "puresvd" (training/batch/song_model.py)
    factors: int = 64  # rank of the PureSVD song factorisation
    als_factors: int = 32  # ALS: dimensions of the song factors
    als_regularization: float = 10.0  # ALS: L2 weight
    als_alpha: float = 2.0  # ALS: confidence 1 + alpha x the confidence matrix's cell
    als_iterations: int = 6  # ALS: sweeps (4 to 15 level on validation; docs/model.md)
    regional_blend: float = 0.5  # weight of the region's popularity next to the taste scores
    cold_share: float = 0.0002  # songs with fewer listeners than this share (at least 1) are
    # cold: content scores (20 at 100,000 listeners; new songs always) ...
    cold_max_listeners: int = 20  # ... but never more than this many (at a million listeners
    # the share alone made half the catalogue cold: docs/model.md, "Cold and new songs")
    new_slots: int = 1  # places in the first 20 for songs nobody played yet (new songs)
    content_weight: float = 0.5  # weight of the content scores next to the taste scores
    content_genre: float = 1.0  # content: weight of the listener's genre share
    content_region: float = 0.0  # content: weight of the artist being local to the listener
    artist_factors: int = 32  # rank of the artist factorisation
    svd_iterations: int = 4  # power iterations of the randomized SVD
    holdout_days: int = 7  # evaluation: the last days of plays held out
    eval_users: int = 20000  # evaluation: at most this many listeners (a seeded sample)
    eval_fit_users: int = 200000  # evaluation: its factor model is fitted on this many listeners
    seed: int = 0

    def __post_init__(self) -> None:
        if self.song_model not in SONG_MODELS:
            raise ValueError(f"song_model: expected one of {SONG_MODELS}, got {self.song_model!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
