"""Content scores for cold songs: what makes a song nobody (or almost nobody) played recommendable.

A factor model (ALS or PureSVD) scores a song from who played it, so a song with no plays in
the data (one added to items.parquet today) scores nothing and a song with a handful of plays
scores noise. For those *cold* songs (eligible, fewer listeners than ``cold_share`` of the
listeners but never more than ``cold_max_listeners``, and always the songs nobody played) the
listener's affinity to what the catalogue says about the song stands in:

- **artist**: the listener's share of their listening (confidence row) spent on the song's
  artist, i.e. their plays of the artist's other songs;
- **genre**: their share spent on the song's genre;
- **region**: 1 when the artist is a local act of the listener's region.

``content = artist + genre_weight x genre + region_weight x region``, and only for pairs where
the artist share is positive: a listener who never played the artist gets no content score, so
the scores stay sparse (a listener x cold-song product of two sparse matrices per block; at a
million listeners nothing dense beyond the block of taste scores already computed). The blend
adds ``weight x content`` to the served taste scores of those pairs (taste scaled to the row's
best, so ``weight`` is on the scale of the listener's best warm song); the business rules then
pick the list as before. The weights were chosen on a validation slice (docs/model.md, "Cold
and new songs").

A song nobody has played yet (a new one) gets no evidence unless it is shown, and the held-out
plays cannot reward showing it (nobody could play it); so, as a product rule, each listener's
best ``new_slots`` such songs by content take the last places of their first
:data:`SLOT_DEPTH` (a song added today is in tomorrow's lists of its artist's listeners). A
listener's content scores depend only on their own row and the catalogue,
so sharded runs give the unsharded lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from training.batch.listening import Catalogue
from training.batch.params import BatchParams
from training.batch.rank import top_candidates

NOT_LOCAL = -1  # an artist that is no listener region's local act (national acts)
SLOT_DEPTH = 20  # new songs' slots are the last places of a list's first this many


def _one_hot(groups: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """Rows x groups, 1 at each row's group."""
    rows = len(groups)
    ones = np.ones(rows, dtype=np.float32)
    return sp.csr_matrix((ones, (np.arange(rows), groups)), shape=(rows, n_groups))


def listeners_of(played: sp.csr_matrix) -> np.ndarray:
    """How many listeners played each column of ``played`` (nonzero where played)."""
    return np.bincount(played.indices, minlength=played.shape[1])


def cold_threshold(audience: int, params: BatchParams) -> int:
    """Songs with fewer listeners than this are cold, among ``audience`` listeners:
    ``cold_share`` of them, at least 1 and at most ``cold_max_listeners``."""
    return max(1, min(math.ceil(params.cold_share * audience), params.cold_max_listeners))


@dataclass(frozen=True)
class ContentModel:
    """What content scores need of the catalogue, and the blend's weights."""

    cold: np.ndarray  # song columns scored by content
    cold_listeners: np.ndarray  # listeners of each (new songs: 0; the fewer, the sooner placed)
    item_artist: sp.csr_matrix  # songs x artists, 1 at the song's artist
    item_genre: sp.csr_matrix  # songs x genres
    artist_cold: sp.csr_matrix  # artists x cold songs, 1 where the song is the artist's
    cold_genre: np.ndarray  # genre row of each cold song
    cold_home: np.ndarray  # region row of each cold song's artist (NOT_LOCAL: national act)
    genre_weight: float
    region_weight: float
    weight: float  # of content next to the taste scores
    slots: int = 0  # places for never-played songs at the end of the first SLOT_DEPTH
    artist_of: np.ndarray | None = None  # artist row of every song (for the cap, with slots)
    max_per_artist: int = 0  # a slot skips the artists already this often in the first places

    @classmethod
    def build(
        cls, catalogue: Catalogue, regions: np.ndarray, played: sp.csr_matrix, params: BatchParams
    ) -> ContentModel:
        """The cold songs of ``played`` (every listener's songs) and the catalogue's features."""
        listeners = listeners_of(played)
        audience = int((played.getnnz(axis=1) > 0).sum())
        cold = np.flatnonzero(
            catalogue.item_eligible & (listeners < cold_threshold(audience, params))
        )
        n_artists, n_genres = len(catalogue.artist_ids), len(catalogue.genres)
        row_of = {str(name): i for i, name in enumerate(regions)}
        artist_home = np.array(
            [row_of.get(str(r), NOT_LOCAL) for r in catalogue.artist_region], dtype=np.int64
        )
        cold_artist = catalogue.item_artist[cold]
        return cls(
            cold=cold,
            cold_listeners=listeners[cold],
            item_artist=_one_hot(catalogue.item_artist, n_artists),
            item_genre=_one_hot(catalogue.item_genre, n_genres),
            artist_cold=_one_hot(cold_artist, n_artists).T.tocsr(),
            cold_genre=catalogue.item_genre[cold],
            cold_home=artist_home[cold_artist],
            genre_weight=params.content_genre,
            region_weight=params.content_region,
            weight=params.content_weight,
            slots=params.new_slots,
            artist_of=catalogue.item_artist,
            max_per_artist=params.max_per_artist,
        )

    def scores(self, rows: sp.csr_matrix, region: np.ndarray) -> sp.coo_matrix:
        """Content scores (rows x cold songs, sparse) of listeners with confidence ``rows`` who
        live in ``region`` (a region row each): only where they played the song's artist."""
        total = np.asarray(rows.sum(axis=1), dtype=np.float64).ravel()
        scale = sp.diags((1.0 / np.maximum(total, 1e-12)).astype(np.float32))
        artist_share = (scale @ (rows @ self.item_artist)).tocsr()
        pairs = (artist_share @ self.artist_cold).tocoo()
        values = pairs.data.astype(np.float32)
        if self.genre_weight:
            genre_share = np.asarray((scale @ (rows @ self.item_genre)).todense())
            values += self.genre_weight * genre_share[pairs.row, self.cold_genre[pairs.col]]
        if self.region_weight:
            local = self.cold_home[pairs.col] == region[pairs.row]
            values += self.region_weight * local.astype(np.float32)
        return sp.coo_matrix((values, (pairs.row, pairs.col)), shape=pairs.shape)

    def add_to(self, scores: np.ndarray, rows: sp.csr_matrix, region: np.ndarray) -> np.ndarray:
        """``scores`` (rows x every song: the taste scores, ``-inf`` where a song may not be
        listed, e.g. played) with ``weight`` x the content scores added to the cold songs and,
        with ``slots``, each listener's best ``slots`` cold songs (by content) moved to the last
        ``slots`` places of their first :data:`SLOT_DEPTH`, unless they rank higher already;
        in place, returned."""
        if not (self.weight or self.slots) or not len(self.cold):
            return scores
        content = self.scores(rows, region)
        row, column = content.row, self.cold[content.col]
        open_ = np.isfinite(scores[row, column])
        row, value, cold = row[open_], content.data[open_], content.col[open_]
        if self.weight:
            scores[row, self.cold[cold]] += self.weight * value
        new = self.cold_listeners[cold] == 0
        if self.slots and new.any():
            self._place(scores, row[new], cold[new], value[new])
        return scores

    def _place(
        self, scores: np.ndarray, row: np.ndarray, cold: np.ndarray, value: np.ndarray
    ) -> None:
        """Move each row's best ``slots`` songs (by ``value``) into its first
        :data:`SLOT_DEPTH` places: to the last ``slots`` of them, best first; a song whose artist
        already fills its cap there goes just ahead of the artist's last song that fits the cap,
        which the rules then drop (a new song by a favourite artist replaces that artist's
        weakest listed song, rather than being dropped itself)."""
        order = np.lexsort((-value, row))
        row, column = row[order], self.cold[cold][order]
        starts = np.ones(len(row), dtype=bool)
        starts[1:] = row[1:] != row[:-1]
        rank = np.arange(len(row)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
        keep = rank < self.slots
        row, column, rank = row[keep], column[keep], rank[keep]
        targets, at = np.unique(row, return_inverse=True)
        block = scores[targets]
        depth = min(SLOT_DEPTH, scores.shape[1])
        top = top_candidates(block, depth)
        top_scores = np.take_along_axis(block, top, axis=1)  # the first places', best first
        first = max(0, depth - self.slots)
        taken = top_scores[at, np.minimum(first + rank, depth - 1)]
        if self.artist_of is not None and self.max_per_artist:
            same = self.artist_of[top[at]] == self.artist_of[column][:, np.newaxis]
            of_artist = -np.sort(-np.where(same, top_scores[at], -np.inf), axis=1)
            capped = of_artist[:, self.max_per_artist - 1]
            taken = np.where(np.isfinite(capped), np.maximum(taken, capped), taken)
        if not np.isfinite(taken).all():  # fewer songs than places: ahead of the last one
            lowest = np.where(np.isfinite(block), block, np.inf).min(axis=1)
            taken = np.where(np.isfinite(taken), taken, lowest[at])
        bump = np.abs(taken) * 1e-6 + 1e-9  # just ahead of the song that held the place
        scores[row, column] = np.maximum(scores[row, column], taken + bump)
