"""Offline evaluation on a time split: the last days of plays held out.

For a seeded sample of listeners who discover at least one new song (or artist) in the held-out
days, each model ranks everything the listener has not played before the cutoff; recall@20 and
NDCG@20 measure how many of the newly played songs it put in its first 20. Baselines: global
popularity and the popularity within the listener's region, both over the chart window before
the cutoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.batch import factors as svd
from training.batch import song_model
from training.batch.content import ContentModel
from training.batch.families import BLOCK_CELLS
from training.batch.listening import DAY_MS, Catalogue, Listening
from training.batch.params import BatchParams
from training.batch.popularity import RegionalPrior, by_region
from training.batch.rank import top_candidates

K = 20
ALGORITHM = "puresvd+regional"  # taste scores plus the region's popularity (served: artists)
WITH_CONTENT = "puresvd+regional+content"  # and content scores for cold songs (PureSVD songs)
Scorer = Callable[[np.ndarray], np.ndarray]  # user rows -> scores (rows x columns)


def ranking_metrics(ranked: np.ndarray, relevant: sp.csr_matrix) -> dict[str, float]:
    """Mean recall@K and NDCG@K (binary gains) of ``ranked`` (rows x K) against ``relevant``."""
    hits = np.asarray(relevant[np.arange(ranked.shape[0])[:, None], ranked].todense()) > 0
    n_relevant = np.asarray(relevant.getnnz(axis=1), dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.array([discounts[: int(min(n, ranked.shape[1]))].sum() for n in n_relevant])
    return {
        f"recall@{K}": float(np.mean(hits.sum(axis=1) / n_relevant)),
        f"ndcg@{K}": float(np.mean(dcg / ideal)),
    }


def _evaluate(
    scorer: Scorer, users: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix
) -> dict[str, float]:
    """Mean metrics over ``users``, scored a block at a time (a block stays near 200 MB)."""
    step = max(1, BLOCK_CELLS // max(1, seen.shape[1]))
    totals: dict[str, float] = {}
    for start in range(0, len(users), step):
        block = users[start : start + step]
        scores = np.array(scorer(block), dtype=np.float32)
        rows, cols = seen[block].nonzero()
        scores[rows, cols] = -np.inf
        ranked = top_candidates(scores, K)
        for name, value in ranking_metrics(ranked, relevant[block]).items():
            totals[name] = totals.get(name, 0.0) + value * len(block)
    return {name: total / len(users) for name, total in totals.items()}


@dataclass(frozen=True)
class HeldOut:
    """One family's time split and the served algorithm fitted on its training side: what the
    evaluation scores, kept for the batch gate (:mod:`training.batch.gate`)."""

    users: np.ndarray  # evaluated listeners (sorted rows)
    fitted: np.ndarray  # rows the model is fitted on (sorted, a superset of ``users``)
    confidence: sp.csr_matrix  # fitted rows x columns
    model: svd.Factors
    prior: RegionalPrior  # the region's popularity over the chart window before the cutoff
    content: ContentModel | None = None  # songs: content scores of the songs cold at the cutoff

    def history(self, rows: np.ndarray) -> sp.csr_matrix:
        """The confidence rows of listeners ``rows`` (each one of ``fitted``)."""
        return self.confidence[np.searchsorted(self.fitted, rows)]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The served algorithm's scores (``puresvd+regional``, plus content with
        :attr:`content`) of listeners ``rows``."""
        history = self.history(rows)
        scores = self.model.blended(history, self.prior.rows(rows), self.prior.weight)
        if self.content is not None:
            played_rows, played_columns = history.nonzero()
            scores[played_rows, played_columns] = -np.inf  # as families.personal masks them
            self.content.add_to(scores, history, self.prior.user_region[rows])
        return scores

    def all_rows(self, n_rows: int) -> sp.csr_matrix:
        """``confidence`` placed at the listeners' own rows (``n_rows`` rows, empty elsewhere),
        as :func:`training.batch.families.personal` indexes it."""
        n = len(self.fitted)
        pick = sp.csr_matrix(
            (np.ones(n, dtype=np.float32), (self.fitted, np.arange(n))), shape=(n_rows, n)
        )
        return (pick @ self.confidence).tocsr()


def fit_held_out(
    train: sp.csr_matrix,
    new: sp.csr_matrix,
    user_region: np.ndarray,
    chart: sp.csr_matrix,
    rank: int,
    params: BatchParams,
    songs: tuple[Catalogue, np.ndarray] | None = None,
) -> HeldOut | None:
    """Sample the evaluated listeners (a play before the cutoff, a new one after it) and fit the
    served algorithm on them plus a sample of the others; None when nobody qualifies. With
    ``songs`` (the catalogue and the region names: columns are songs), the factors are the
    served song model's (``params.song_model``) and content scores for the songs cold in
    ``train`` are part of it; without, PureSVD of ``rank`` (artists)."""
    candidates = np.flatnonzero((new.getnnz(axis=1) > 0) & (train.getnnz(axis=1) > 0))
    rng = np.random.default_rng(params.seed)
    users = np.sort(rng.choice(candidates, min(len(candidates), params.eval_users), replace=False))
    if len(users) == 0:
        return None
    # The held-out model is fitted on the evaluated listeners and a sample of the others: at a
    # million listeners a second full factorisation would double the run for no better estimate.
    others = np.setdiff1d(np.flatnonzero(train.getnnz(axis=1) > 0), users)
    extra = max(0, params.eval_fit_users - len(users))
    fitted = np.union1d(users, rng.choice(others, min(len(others), extra), replace=False))
    confidence = svd.confidence(train[fitted])
    regions = int(user_region.max()) + 1
    return HeldOut(
        users=users,
        fitted=fitted,
        confidence=confidence,
        model=(
            svd.fit(confidence, rank, params.svd_iterations, params.seed)
            if songs is None
            else song_model.fit(confidence, params)
        ),
        prior=RegionalPrior.from_counts(chart, user_region, regions, params.regional_blend),
        content=None if songs is None else ContentModel.build(*songs, train > 0, params),
    )


def new_columns(train: sp.csr_matrix, holdout: sp.csr_matrix) -> sp.csr_matrix:
    """1 where a listener played a column after the cutoff and never before."""
    new = (holdout > 0).astype(np.float32) - (train > 0).astype(np.float32).multiply(holdout > 0)
    new.eliminate_zeros()
    return new.tocsr()


def compare(
    train: sp.csr_matrix,
    holdout: sp.csr_matrix,
    user_region: np.ndarray,
    chart: sp.csr_matrix,
    rank: int,
    params: BatchParams,
    songs: tuple[Catalogue, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Popularity, regional popularity and PureSVD on one split (users x columns matrices);
    ``songs``: see :func:`_compare`."""
    return _compare(train, holdout, user_region, chart, rank, params, songs)[0]


def _compare(
    train: sp.csr_matrix,
    holdout: sp.csr_matrix,
    user_region: np.ndarray,
    chart: sp.csr_matrix,
    rank: int,
    params: BatchParams,
    songs: tuple[Catalogue, np.ndarray] | None = None,
) -> tuple[dict[str, Any], HeldOut | None]:
    """:func:`compare`'s figures, and the served algorithm's held-out fit they come from; with
    ``songs`` (see :func:`fit_held_out`) the served algorithm adds content scores, and the
    figures say how each method does on the held-out plays of cold songs (``cold``)."""
    new = new_columns(train, holdout)
    held = fit_held_out(train, new, user_region, chart, rank, params, songs)
    if held is None:
        return {"users": 0}, None
    users = held.users
    popularity = np.asarray(chart.sum(axis=0)).ravel()
    regional = by_region(chart, user_region, int(user_region.max()) + 1)
    tie_break = popularity / (popularity.max() + 1.0)  # unknown in the region: national order
    # PureSVD of ``rank``: the served model of artists, a candidate next to the songs' model
    puresvd = held
    if held.content is not None and params.song_model != "puresvd":
        puresvd = replace(
            held, model=svd.fit(held.confidence, rank, params.svd_iterations, params.seed)
        )
    scorers: dict[str, Scorer] = {
        "popularity": lambda rows: np.broadcast_to(popularity, (len(rows), len(popularity))),
        "regional-popularity": lambda rows: regional[user_region[rows]] + tie_break,
        "puresvd": lambda rows: puresvd.model.scores(puresvd.history(rows)),
        ALGORITHM: lambda rows: puresvd.model.blended(
            puresvd.history(rows), puresvd.prior.rows(rows), puresvd.prior.weight
        ),
    }
    served = ALGORITHM
    if held.content is not None:
        scorers[WITH_CONTENT] = puresvd.scores
        served = song_model.served_name(params.song_model)
        scorers[served] = held.scores
    results = {name: _evaluate(scorer, users, train, new) for name, scorer in scorers.items()}
    chosen = results[served]
    best_baseline = {
        metric: max(results["popularity"][metric], results["regional-popularity"][metric])
        for metric in chosen
    }
    figures = {
        "users": len(users),
        "algorithm": served,
        **chosen,
        "baselines": {name: results[name] for name in ("popularity", "regional-popularity")},
        "candidates": {
            name: figures
            for name, figures in results.items()
            if name not in (served, "popularity", "regional-popularity")
        },
        "lift_over_best_baseline": {
            metric: chosen[metric] / value - 1.0 if value else None
            for metric, value in best_baseline.items()
        },
        "beats_baselines": all(chosen[m] > v for m, v in best_baseline.items()),
    }
    if held.content is not None:
        figures["cold"] = cold_figures(held.content.cold, scorers, users, train, new, params)
    return figures, held


def cold_figures(
    cold: np.ndarray, scorers: dict[str, Scorer], users: np.ndarray, train: sp.csr_matrix,
    new: sp.csr_matrix, params: BatchParams,
) -> dict[str, Any]:  # fmt: skip
    """Each method's recall@K and NDCG@K on the held-out plays of cold songs only (songs with
    fewer listeners than ``cold_share`` of them before the cutoff, at most
    ``cold_max_listeners``, or none): the evaluated listeners who played one, every song ranked
    as before."""
    mask = np.zeros(new.shape[1], dtype=np.float32)
    mask[cold] = 1.0
    relevant = (new @ sp.diags(mask)).tocsr()
    relevant.eliminate_zeros()
    cold_users = users[relevant[users].getnnz(axis=1) > 0]
    figures: dict[str, Any] = {
        "cold_share": params.cold_share,
        "cold_max_listeners": params.cold_max_listeners,
        "songs": len(cold),
        "users": len(cold_users),
        "share_of_new_plays": float(relevant[users].nnz / max(1, new[users].nnz)),
    }
    if len(cold_users):
        for name, scorer in scorers.items():
            figures[name] = _evaluate(scorer, cold_users, train, relevant)
    return figures


def artist_matrix(songs: sp.csr_matrix, item_artist: np.ndarray, n_artists: int) -> sp.csr_matrix:
    """Users x artists: the song weights summed per artist."""
    to_artist = sp.csr_matrix(
        (np.ones(len(item_artist), dtype=np.float32), (np.arange(len(item_artist)), item_artist)),
        shape=(len(item_artist), n_artists),
    )
    return (songs @ to_artist).tocsr()


@dataclass(frozen=True)
class Evaluation:
    """The manifest's ``metrics``, and the held-out fit of the songs the batch gate reuses."""

    metrics: dict[str, Any]
    songs: HeldOut | None  # None when no listener played a new song in the held-out days


def cutoff_ms(listening: Listening, params: BatchParams) -> int:
    """The first held-out instant: ``holdout_days`` before the data's last event."""
    return listening.max_ts - params.holdout_days * DAY_MS + 1


def evaluate(listening: Listening, params: BatchParams) -> Evaluation:
    """The evaluation of `personal` and `artists` for the manifest's ``metrics``."""
    cutoff = cutoff_ms(listening, params)
    train = listening.weights(end_ms=cutoff)
    holdout = listening.weights(start_ms=cutoff)
    chart = listening.weights(start_ms=cutoff - params.chart_days * DAY_MS, end_ms=cutoff)
    catalogue = listening.catalogue
    n_artists = len(catalogue.artist_ids)
    region = listening.user_region
    personal, songs = _compare(
        train, holdout, region, chart, params.factors, params, (catalogue, listening.regions)
    )
    metrics = {
        "protocol": {"holdout_days": params.holdout_days, "k": K, "cutoff_ms": cutoff},
        "personal": personal,
        "artists": compare(
            artist_matrix(train, catalogue.item_artist, n_artists),
            artist_matrix(holdout, catalogue.item_artist, n_artists),
            region,
            artist_matrix(chart, catalogue.item_artist, n_artists),
            params.artist_factors,
            params,
        ),
    }
    return Evaluation(metrics, songs)
