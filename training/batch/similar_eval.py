"""Offline evaluation of the `similar-items` and `similar-artists` lists: next-play prediction.

On the time split of :mod:`training.batch.evaluate` (the last ``holdout_days`` held out), every
listener's consecutive plays ``s -> t`` in the held-out days, ``t`` a different song and played
within a session gap of ``s`` (30 minutes; ``None``: any gap), ask: is ``t`` in the list
"similar to ``s``", and how high? HitRate@10, HitRate@20 and MRR@20 are averaged over a
listener's transitions, then over listeners (so heavy listeners do not outweigh the rest), with
paired bootstrap intervals over listeners (:func:`training.batch.baselines.metrics.
paired_bootstrap`). For artists the same on the artists of consecutive plays (``t``'s artist
different from ``s``'s).

Every method is fitted on the plays before the cutoff and lists, like the served job, only the
``allowed`` columns (eligible songs, or artists with a listener), never the seed, under the same
business rules (at most 2 songs per artist, 1 per album); seeds are the served job's (songs
with at least ``min_item_plays`` listeners), and transitions from other seeds are left out for
every method alike. The methods:

- ``cosine (served)``: :func:`training.batch.families.similar` itself, with the served
  similarity (:mod:`training.batch.cosine`: songs, the cosine of the song factors,
  ``BatchParams.song_model``, ALS by default; artists, the cosine of their ``log(1 + plays)``
  listener columns);
- ``svd-cosine`` with the rank chosen on a validation slice;
- ``item-knn``: cosine of the listener columns (binary or log plays:
  :mod:`training.batch.baselines.knn`'s weightings); with binary plays it ranks as
  co-occurrence over ``sqrt`` of the candidate's listeners;
- ``cooccurrence``: listeners who played both (the naive "fans also played");
- ``lift``: co-occurrence over the candidate's listeners to the power ``exponent`` (1: lift,
  which ranks as PMI for a fixed seed; 0.75 a softer correction);
- ``sequential``: how often ``t`` followed ``s`` in the training days (same gap), cosine for
  the rest: the next-play counts themselves;
- ``content``: the seed's artist first, then its genre, each by popularity (songs only);
  ``genre-popularity``: its genre by popularity; ``popularity``: the most played overall.

The split, the truth and the lists are the functions below; the comparison, table and plot are
``python -m bench.similar_items``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.batch import cosine, families, song_model
from training.batch import factors as svd
from training.batch.baselines import knn
from training.batch.baselines.base import binary
from training.batch.baselines.metrics import Interval, paired_bootstrap
from training.batch.baselines.split import evaluation_cutoff
from training.batch.evaluate import artist_matrix
from training.batch.listening import DAY_MS, PLAY, Listening
from training.batch.params import BatchParams
from training.batch.rank import top_n

NOT_PURESVD = 0  # Family.rank when the served factors are not PureSVD's
SESSION_GAP_MS = 30 * 60_000  # the usual inactivity cut between two listening sessions
N = 20  # list length evaluated (the served lists are longer; their first 20 are these)
K_VALUES = (10, 20)
METRICS = ("hit@10", "hit@20", "mrr@20")
SERVED = "cosine (served)"
Scorer = cosine.Scorer  # seed columns -> scores (seeds x columns)
Settings = dict[str, Any]


@dataclass(frozen=True)
class Transitions:
    """Consecutive plays ``seed -> target`` (columns), with the listener of each."""

    listener: np.ndarray  # int64 listener rows
    seed: np.ndarray  # int64 columns
    target: np.ndarray  # int64 columns

    def __len__(self) -> int:
        return len(self.seed)

    def subset(self, keep: np.ndarray) -> Transitions:
        return Transitions(self.listener[keep], self.seed[keep], self.target[keep])

    def counts(self, n_columns: int) -> sp.csr_matrix:
        """Columns x columns: how often ``target`` followed ``seed``."""
        ones = np.ones(len(self), dtype=np.float32)
        matrix = sp.csr_matrix((ones, (self.seed, self.target)), shape=(n_columns, n_columns))
        matrix.sum_duplicates()
        return matrix


def transitions(
    listening: Listening,
    start_ms: int | None,
    end_ms: int | None,
    gap_ms: int | None = SESSION_GAP_MS,
    column_of: np.ndarray | None = None,
) -> Transitions:
    """Every listener's consecutive plays within ``[start, end)`` (skips and likes are not plays:
    a skipped song in between is passed over), at most ``gap_ms`` apart, as columns
    (``column_of[song]``: a song's artist; songs themselves by default), the two different."""
    keep = listening.event_kind == PLAY
    if start_ms is not None:
        keep &= listening.event_ts >= start_ms
    if end_ms is not None:
        keep &= listening.event_ts < end_ms
    rows = np.flatnonzero(keep)
    order = rows[np.lexsort((rows, listening.event_ts[rows], listening.event_user[rows]))]
    user = listening.event_user[order].astype(np.int64)
    ts = listening.event_ts[order]
    column = listening.event_item[order].astype(np.int64)
    if column_of is not None:
        column = column_of[column].astype(np.int64)
    pair = (user[1:] == user[:-1]) & (column[1:] != column[:-1])
    if gap_ms is not None:
        pair &= ts[1:] - ts[:-1] <= gap_ms
    return Transitions(user[1:][pair], column[:-1][pair], column[1:][pair])


@dataclass(frozen=True)
class Family:
    """What one family's lists rank (songs or artists), from the plays before a cutoff."""

    name: str  # "similar-items" | "similar-artists"
    counts: sp.csr_matrix  # listeners x columns: plays plus two per like
    genre: np.ndarray  # genre row of each column
    allowed: np.ndarray  # bool: may appear in a list
    seeds: np.ndarray  # bool: gets a list (the served job's rule)
    factors: svd.Factors  # the served factor model
    history: Transitions  # training-days transitions (for ``sequential``)
    artist: np.ndarray | None = None  # songs: their artist row
    caps: Sequence[tuple[np.ndarray, int]] = ()
    rank: int = 64  # of the served factors, when PureSVD (else NOT_PURESVD)
    iterations: int = 4  # of the randomized SVD
    seed: int = 0

    @property
    def n_columns(self) -> int:
        return int(self.counts.shape[1])

    @property
    def popularity(self) -> np.ndarray:
        """Training plays per column."""
        return np.asarray(self.counts.sum(axis=0), dtype=np.float64).ravel()

    @property
    def listeners(self) -> np.ndarray:
        return np.bincount(self.counts.indices, minlength=self.n_columns)


def family(
    listening: Listening,
    name: str,
    end_ms: int,
    params: BatchParams,
    gap_ms: int | None = SESSION_GAP_MS,
) -> Family:
    """The family ``name`` fitted as run.py fits it, on the plays before ``end_ms``."""
    catalogue = listening.catalogue
    counts = listening.weights(end_ms=end_ms)
    if name == "similar-items":
        confidence = svd.confidence(counts)
        listeners = np.bincount(counts.indices, minlength=listening.n_items)
        return Family(
            name=name,
            counts=counts,
            genre=catalogue.item_genre,
            allowed=catalogue.item_eligible,
            seeds=(listeners >= params.min_item_plays) & catalogue.item_eligible,
            factors=song_model.fit(confidence, params),
            history=transitions(listening, None, end_ms, gap_ms),
            artist=catalogue.item_artist,
            caps=families.song_caps(catalogue, params),
            rank=params.factors if params.song_model == "puresvd" else NOT_PURESVD,
            iterations=params.svd_iterations,
            seed=params.seed,
        )
    if name != "similar-artists":
        raise ValueError(f"unknown family {name!r}")
    n_artists = len(catalogue.artist_ids)
    artist_counts = artist_matrix(counts, catalogue.item_artist, n_artists)
    confidence = svd.confidence(artist_counts)
    listeners = np.bincount(artist_counts.indices, minlength=n_artists)
    return Family(
        name=name,
        counts=artist_counts,
        genre=catalogue.artist_genre,
        allowed=listeners > 0,
        seeds=listeners >= params.min_item_plays,
        factors=svd.fit(confidence, params.artist_factors, params.svd_iterations, params.seed),
        history=transitions(listening, None, end_ms, gap_ms, catalogue.item_artist),
        rank=params.artist_factors,
        iterations=params.svd_iterations,
        seed=params.seed,
    )


# --- the methods: each returns a scorer of seed columns --------------------------------------


def _svd_cosine(fam: Family, rank: int | None = None) -> Scorer:
    """Cosine of the PureSVD factors ``V Σ`` (the served factors without ``rank`` or at their
    rank when PureSVD, else refitted as run.py fits them)."""
    model = fam.factors
    if rank is not None and rank != fam.rank:
        model = svd.fit(svd.confidence(fam.counts), rank, fam.iterations, fam.seed)
    unit = model.unit()
    return lambda block: unit[block] @ unit.T


def _item_knn(fam: Family, weighting: str = "binary") -> Scorer:
    return cosine.of_listeners(knn.WEIGHTINGS[weighting](fam.counts))


def _cooccurrence(fam: Family, exponent: float = 0.0) -> Scorer:
    """Listeners who played both, over the candidate's listeners to the power ``exponent``."""
    played = binary(fam.counts).tocsc()
    by_column = played.T.tocsr()
    scale = np.power(np.maximum(fam.listeners, 1).astype(np.float64), -exponent)

    def score(block: np.ndarray) -> np.ndarray:
        both = np.asarray((by_column[block] @ played).toarray(), dtype=np.float64)
        return (both * scale).astype(np.float32)

    return score


def _sequential(fam: Family) -> Scorer:
    """Training-days next-play counts, item-kNN cosine (at most 1) ordering the rest."""
    follows = fam.history.counts(fam.n_columns)
    cosine = _item_knn(fam)
    return lambda block: follows[block].toarray() + cosine(block)


def _popularity_within(fam: Family, same: Sequence[np.ndarray]) -> Scorer:
    """Columns sharing the seed's group in ``same[0]`` first, then ``same[1]``..., each by
    popularity (scaled below one)."""
    plays = fam.popularity
    tie = (plays / (plays.max() + 1.0)).astype(np.float32)

    def score(block: np.ndarray) -> np.ndarray:
        scores = np.broadcast_to(tie, (len(block), len(tie))).copy()
        for level, group in enumerate(same):
            scores += (len(same) - level) * (group[block][:, None] == group[None, :])
        return scores

    return score


def _content(fam: Family) -> Scorer:
    if fam.artist is None:
        raise ValueError("content needs songs' artists")
    return _popularity_within(fam, [fam.artist, fam.genre])


def _genre_popularity(fam: Family) -> Scorer:
    return _popularity_within(fam, [fam.genre])


def _popularity(fam: Family) -> Scorer:
    return _popularity_within(fam, [])


@dataclass(frozen=True)
class Method:
    """A similar-list method: its scorer and the settings tried on validation."""

    name: str
    fit: Callable[..., Scorer]
    grid: tuple[Settings, ...] = ({},)
    songs_only: bool = False

    @property
    def tuned(self) -> bool:
        return len(self.grid) > 1


METHODS: tuple[Method, ...] = (
    Method(SERVED, _svd_cosine),  # placeholder: the served lists come from families.similar
    Method("svd-cosine", _svd_cosine, tuple({"rank": r} for r in (16, 32, 64, 128))),
    Method("item-knn", _item_knn, ({"weighting": "binary"}, {"weighting": "log"})),
    Method("cooccurrence", _cooccurrence),
    Method("lift", _cooccurrence, ({"exponent": 0.75}, {"exponent": 1.0})),
    Method("sequential", _sequential),
    Method("content", _content, songs_only=True),
    Method("genre-popularity", _genre_popularity),
    Method("popularity", _popularity),
)


def methods_for(fam: Family, names: Sequence[str] | None = None) -> list[Method]:
    """The methods that apply to ``fam`` (those named, when ``names`` is given)."""
    chosen = [m for m in METHODS if fam.artist is not None or not m.songs_only]
    return [m for m in chosen if names is None or m.name in names or m.name == SERVED]


# --- lists and metrics ------------------------------------------------------------------------


def ranked(fam: Family, scorer: Scorer, seeds: np.ndarray, n: int = N) -> np.ndarray:
    """Each seed's first ``n`` allowed columns, never itself, under the family's caps
    (seeds x n, -1 where a list is shorter)."""
    out = np.full((len(seeds), n), -1, dtype=np.int64)
    step = max(1, families.block_rows(fam.n_columns) // 4)  # float64 products: ~100 MB
    for start in range(0, len(seeds), step):
        block = seeds[start : start + step]
        scores = np.array(scorer(block), dtype=np.float32)
        scores[:, ~fam.allowed] = -np.inf
        scores[np.arange(len(block)), block] = -np.inf
        columns, _ = top_n(scores, n, fam.caps)
        out[start : start + len(block), : columns.shape[1]] = columns
    return out


def served_similarity(fam: Family) -> Scorer:
    """The similarity the served job ranks this family by (run.py's), on the family's plays."""
    if fam.name == "similar-items":
        return cosine.similar_songs(fam.factors)
    return cosine.similar_artists(fam.counts)


def served(fam: Family, seeds: np.ndarray, n: int = N) -> np.ndarray:
    """The lists :func:`training.batch.families.similar` serves for ``seeds`` (seeds x n)."""
    key = "seed"
    columns = np.arange(fam.n_columns)
    out = np.full((len(seeds), n), -1, dtype=np.int64)
    row_of = {int(s): i for i, s in enumerate(seeds)}
    records = families.similar(key, columns, seeds, served_similarity(fam), fam.allowed, n,
                               fam.caps)  # fmt: skip
    for record in records:
        ids = record["ids"]
        out[row_of[int(record[key])], : len(ids)] = ids
    return out


def positions(lists: np.ndarray, seeds: np.ndarray, truth: Transitions) -> np.ndarray:
    """Where each transition's target stands in its seed's list (0 first; -1 absent).
    ``seeds`` (sorted) are the rows of ``lists``; every transition's seed is one of them."""
    rows = lists[np.searchsorted(seeds, truth.seed)]
    found = rows == truth.target[:, None]
    return np.where(found.any(axis=1), found.argmax(axis=1), -1)


def per_listener(
    position: np.ndarray, truth: Transitions
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The listeners (sorted) and, per metric of :data:`METRICS`, each one's mean over their
    transitions: HitRate@k (target among the first k) and MRR@20 (1 / its rank, 0 if absent)."""
    listeners, of = np.unique(truth.listener, return_inverse=True)
    n = np.bincount(of, minlength=len(listeners)).astype(np.float64)
    hit = position >= 0
    values = {f"hit@{k}": (hit & (position < k)).astype(np.float64) for k in K_VALUES}
    values[f"mrr@{N}"] = np.where(hit, 1.0 / (np.maximum(position, 0) + 1.0), 0.0)
    return listeners, {
        name: np.bincount(of, weights=v, minlength=len(listeners)) / n for name, v in values.items()
    }


@dataclass
class Outcome:
    """One method's figures on a family's test transitions."""

    method: str
    settings: Settings
    values: dict[str, np.ndarray]  # metric -> per evaluated listener
    coverage: float  # share of the allowed columns in at least one evaluated list
    intervals: dict[str, dict[str, Interval]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            **{name: float(v.mean()) for name, v in self.values.items()},
            "coverage": self.coverage,
            "intervals": {
                metric: {k: i.as_list() for k, i in by.items()}
                for metric, by in self.intervals.items()
            },
        }


def lists_of(method: Method, settings: Settings, fam: Family, seeds: np.ndarray) -> np.ndarray:
    if method.name == SERVED:
        return served(fam, seeds)
    return ranked(fam, method.fit(fam, **settings), seeds)


def measure(method: Method, settings: Settings, fam: Family, truth: Transitions) -> Outcome:
    """``method``'s lists for the seeds of ``truth`` (already restricted to ``fam.seeds``)."""
    seeds = np.unique(truth.seed)
    lists = lists_of(method, settings, fam, seeds)
    _, values = per_listener(positions(lists, seeds, truth), truth)
    listed = np.unique(lists[lists >= 0])
    return Outcome(method.name, settings, values, len(listed) / max(1, int(fam.allowed.sum())))


def choose(
    method: Method, fam: Family, truth: Transitions
) -> tuple[Settings, list[dict[str, Any]]]:
    """The grid point with the best hit@20 on the validation transitions (MRR@20 breaks ties)."""
    if not method.tuned:
        return dict(method.grid[0]), []
    trials: list[dict[str, Any]] = []
    for settings in method.grid:
        values = measure(method, settings, fam, truth).values
        trials.append({"settings": settings, **{m: float(v.mean()) for m, v in values.items()}})
    best = max(trials, key=lambda t: (t["hit@20"], t["mrr@20"]))
    return dict(best["settings"]), trials


@dataclass
class FamilyResult:
    """Every method's figures on one family of one data set."""

    family: str
    transitions: int  # test transitions evaluated
    left_out: int  # test transitions whose seed gets no list
    listeners: int
    validation_transitions: int
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    trials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "transitions": self.transitions,
            "left_out": self.left_out,
            "listeners": self.listeners,
            "validation_transitions": self.validation_transitions,
            "served": SERVED,
            "methods": {
                name: {**o.summary(), "validation": self.trials.get(name, [])}
                for name, o in self.outcomes.items()
            },
        }


def _seeded(fam: Family, truth: Transitions) -> Transitions:
    return truth.subset(fam.seeds[truth.seed])


def compare(
    listening: Listening,
    name: str,
    params: BatchParams,
    gap_ms: int | None = SESSION_GAP_MS,
    names: Sequence[str] | None = None,
    resamples: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> FamilyResult:
    """Every method on family ``name``: settings chosen on the validation slice (the protocol
    one holdout earlier), figures on the test days, intervals paired against the served lists."""
    cutoff = evaluation_cutoff(listening, params)
    earlier = cutoff - params.holdout_days * DAY_MS
    column_of = None if name == "similar-items" else listening.catalogue.item_artist
    test_fam = family(listening, name, cutoff, params, gap_ms)
    validation_fam = family(listening, name, earlier, params, gap_ms)
    all_test = transitions(listening, cutoff, None, gap_ms, column_of)
    test = _seeded(test_fam, all_test)
    validation = _seeded(validation_fam, transitions(listening, earlier, cutoff, gap_ms, column_of))
    result = FamilyResult(
        name, len(test), len(all_test) - len(test), len(np.unique(test.listener)), len(validation)
    )
    if len(test) == 0:
        return result
    for method in methods_for(test_fam, names):
        settings, trials = (
            choose(method, validation_fam, validation) if len(validation) else (method.grid[0], [])
        )
        result.trials[method.name] = trials
        result.outcomes[method.name] = measure(method, settings, test_fam, test)
        if progress is not None:
            figures = result.outcomes[method.name].summary()
            progress(
                f"  {name} {method.name}: hit@20 {figures['hit@20']:.4f}, "
                f"mrr@20 {figures['mrr@20']:.4f}"
            )
    for metric in METRICS:
        values = {n: o.values[metric] for n, o in result.outcomes.items()}
        for method_name, by in paired_bootstrap(values, SERVED, resamples, params.seed).items():
            result.outcomes[method_name].intervals[metric] = by
    return result


def beats_served(figures: Mapping[str, Any], metric: str = "hit@20") -> list[str]:
    """Methods whose paired difference with the served lists is above zero at ``metric`` (its
    whole 95 % interval), best first."""
    better = [
        (m["intervals"][metric]["difference"][0], name)
        for name, m in figures["methods"].items()
        if metric in m.get("intervals", {}) and m["intervals"][metric]["difference"][1] > 0
    ]
    return [name for _, name in sorted(better, reverse=True)]
