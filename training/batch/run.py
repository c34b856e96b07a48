"""One batch run: read the dataset, fit the factor models, write every family and the manifest."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from training.batch import cosine, families, gate, song_model
from training.batch import factors as svd
from training.batch.content import ContentModel
from training.batch.evaluate import artist_matrix, evaluate
from training.batch.listening import DAY_MS, Listening, load
from training.batch.output import (
    MANIFEST,
    FamilyFiles,
    manifest,
    shard_manifest_name,
    write_family,
    write_json,
)
from training.batch.params import BatchParams
from training.batch.popularity import RegionalPrior

log = logging.getLogger("training.batch")
#: Replaces /opt/ml where a SageMaker processing job's files are looked up (tests, local runs).
SM_ROOT_ENV = "SM_ROOT"
RESOURCE_CONFIG = "config/resourceconfig.json"


@dataclass(frozen=True)
class Shard:
    """Which part of the listeners a run scores: ``index`` of ``count``."""

    index: int = 0
    count: int = 1

    @classmethod
    def from_sagemaker(cls, config: Path | None = None) -> Shard:
        """This instance's shard in a SageMaker processing job (its place among the hosts), from
        ``/opt/ml/config/resourceconfig.json``; ``$SM_ROOT`` replaces ``/opt/ml`` (for tests and
        local runs only: SageMaker always mounts /opt/ml)."""
        if config is None:
            config = Path(os.environ.get(SM_ROOT_ENV) or "/opt/ml") / RESOURCE_CONFIG
        document = json.loads(config.read_text())
        hosts = sorted(document["hosts"])
        return cls(hosts.index(document["current_host"]), len(hosts))

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` with ``0 <= i < n``."""
        index, sep, count = text.partition("/")
        if not sep or not index.isdigit() or not count.isdigit():
            raise ValueError(f"--shard: expected i/n such as 0/4, got {text!r}")
        shard = cls(int(index), int(count))
        if shard.count < 1 or shard.index >= shard.count:
            raise ValueError(f"--shard: need 0 <= i < n, got {text!r}")
        return shard


def shard_of(user_id: str, shards: int) -> int:
    """The shard a listener belongs to (docs/batch-format.md)."""
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % shards


def shard_users(listening: Listening, params: BatchParams, shard: Shard) -> np.ndarray:
    """Active listeners (a play within ``active_days`` of the data's end) of this shard."""
    last = listening.last_play_ms()
    active = np.flatnonzero(last >= listening.max_ts - params.active_days * DAY_MS)
    if shard.count == 1:
        return active
    mine = [shard_of(listening.user_ids[u], shard.count) == shard.index for u in active]
    return active[np.asarray(mine, dtype=bool)]


def _timed(label: str, timings: dict[str, float], start: float) -> float:
    now = time.perf_counter()
    timings[label] = round(now - start, 2)
    log.info("%s: %.1f s", label, now - start)
    return now


@dataclass(frozen=True)
class Fitted:
    """What every family is scored from: listening matrices, factors and regional priors."""

    confidence: Any  # listener x song confidence (sparse)
    played: Any  # listener x song, True where played (sparse, sharing the confidence's pattern)
    song_factors: Any
    artist_counts: Any  # listener x artist plays (sparse)
    artist_confidence: Any
    artist_factors: Any
    chart: Any  # listener x song plays within the chart window (sparse)
    song_prior: RegionalPrior
    artist_prior: RegionalPrior
    content: ContentModel  # content scores of the cold songs (new ones too)


def fit(listening: Listening, params: BatchParams) -> Fitted:
    """The song (``params.song_model``) and artist (PureSVD) factor models and the regional
    popularity priors."""
    catalogue, n_artists = listening.catalogue, len(listening.catalogue.artist_ids)
    counts = listening.weights()
    artist_counts = artist_matrix(counts, catalogue.item_artist, n_artists)
    artist_confidence = svd.confidence(artist_counts)
    chart = listening.weights(start_ms=listening.max_ts - params.chart_days * DAY_MS + 1)
    n_regions = len(listening.regions)
    confidence = svd.confidence(counts, copy=False)  # the counts are not needed any more
    del counts
    # every play has a positive count, so the confidence has the played pattern: shared with it
    played = sp.csr_matrix(
        (np.ones(confidence.nnz, dtype=bool), confidence.indices, confidence.indptr),
        shape=confidence.shape,
    )
    return Fitted(
        confidence=confidence,
        played=played,
        song_factors=song_model.fit(confidence, params),
        artist_counts=artist_counts,
        artist_confidence=artist_confidence,
        artist_factors=svd.fit(
            artist_confidence, params.artist_factors, params.svd_iterations, params.seed
        ),
        chart=chart,
        song_prior=RegionalPrior.from_counts(
            chart, listening.user_region, n_regions, params.regional_blend
        ),
        artist_prior=RegionalPrior.from_counts(
            artist_matrix(chart, catalogue.item_artist, n_artists),
            listening.user_region,
            n_regions,
            params.regional_blend,
        ),
        content=ContentModel.build(catalogue, listening.regions, played, params),
    )


def _bar(name: str, total: int, progress: bool) -> tqdm:
    return tqdm(desc=name, total=total, unit=" lists", unit_scale=True, disable=not progress)


def write_user_lists(
    listening: Listening, fitted: Fitted, users: np.ndarray, params: BatchParams,
    version_dir: Path, shard: Shard, progress: bool,
) -> dict[str, FamilyFiles]:  # fmt: skip
    """The per-listener families (personal songs, artists for you) of this shard's listeners."""
    catalogue, written = listening.catalogue, {}
    with _bar("personal", len(users), progress) as b:
        records = families.personal(
            listening.user_ids, users, fitted.confidence, fitted.played, fitted.song_factors,
            fitted.song_prior, catalogue, params, fitted.content,
        )  # fmt: skip
        written["personal"] = write_family(
            version_dir, "personal", _tick(records, b), shard.index, shard.count
        )
    with _bar("artists", len(users), progress) as b:
        records = families.artists_for_users(
            listening.user_ids, users, fitted.artist_confidence, listening.follows,
            fitted.artist_factors, fitted.artist_prior, catalogue, params,
        )  # fmt: skip
        written["artists"] = write_family(
            version_dir, "artists", _tick(records, b), shard.index, shard.count
        )
    return written


def write_shared_lists(
    listening: Listening, fitted: Fitted, params: BatchParams, version_dir: Path, progress: bool
) -> dict[str, FamilyFiles]:
    """The families shard 0 writes for everyone: similar songs and artists, regional charts,
    the catalogue (with the onboarding vocabulary: only shard 0 writes it, so a merged version
    holds exactly one)."""
    catalogue, written = listening.catalogue, {}
    listeners = np.bincount(fitted.played.indices, minlength=listening.n_items)
    seeds = np.flatnonzero((listeners >= params.min_item_plays) & catalogue.item_eligible)
    with _bar("similar-items", len(seeds), progress) as b:
        records = families.similar(
            "item_id", catalogue.item_ids, seeds, cosine.similar_songs(fitted.song_factors),
            catalogue.item_eligible, params.n, families.song_caps(catalogue, params),
        )  # fmt: skip
        written["similar-items"] = write_family(version_dir, "similar-items", _tick(records, b))
    artist_listeners = np.bincount(
        (fitted.artist_counts > 0).indices, minlength=len(catalogue.artist_ids)
    )
    artist_seeds = np.flatnonzero(artist_listeners >= params.min_item_plays)
    with _bar("similar-artists", len(artist_seeds), progress) as b:
        records = families.similar(
            "artist_id", catalogue.artist_ids, artist_seeds,
            cosine.similar_artists(fitted.artist_counts), artist_listeners > 0, params.n,
        )  # fmt: skip
        written["similar-artists"] = write_family(version_dir, "similar-artists", _tick(records, b))
    written["regional"] = write_family(
        version_dir,
        "regional",
        families.regional(
            fitted.chart, listening.user_region, listening.regions, catalogue, params
        ),
    )
    vocabulary = families.vocabulary(catalogue, listening.regions)
    written["catalog"] = write_family(
        version_dir, "catalog", itertools.chain(families.catalog(catalogue), [vocabulary])
    )
    return written


def write_manifest(
    listening: Listening, written: dict[str, FamilyFiles], params: BatchParams,
    version_dir: Path, shard: Shard, metrics: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The version's manifest (or this shard's, merged later)."""
    data_summary = {
        "users": listening.n_users,
        "active_users": len(shard_users(listening, params, Shard())),
        "items": listening.n_items,
        "interactions": len(listening.event_ts),
        "max_ts_ms": listening.max_ts,
    }
    document = manifest(
        version_dir.name, written, data=data_summary, params=params.as_dict(),
        shards=shard.count, metrics=metrics,
    )  # fmt: skip
    if shard.count == 1:
        write_json(version_dir / MANIFEST, document)
    else:
        document["shard"] = shard.index
        write_json(version_dir / shard_manifest_name(shard.index, shard.count), document)
    return document


def run(
    data: Path,
    version_dir: Path,
    params: BatchParams,
    shard: Shard = Shard(),
    progress: bool = True,
    active: Path | None = None,
) -> dict[str, Any]:
    """Compute and write one version (or one shard of it); return its manifest.

    Shard 0 evaluates the lists and applies the batch gate (:mod:`training.batch.gate`) against
    the ``active`` version's directory (None or no manifest there: the first run), writing its
    verdict to ``gate.json`` and the manifest's ``metrics``. A refused version raises
    :class:`~training.batch.gate.GateRefusedError` and gets no manifest.json (a sharded run's shard
    manifest says refused, so the merge refuses it too): it can never be loaded."""
    if active is not None and params.eval_users == 0:
        raise ValueError("the batch gate needs the evaluation: eval_users must be positive")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    listening = load(data, progress=progress)
    t = _timed("read", timings, t)
    fitted = fit(listening, params)
    t = _timed("factorise", timings, t)
    users = shard_users(listening, params, shard)
    written = write_user_lists(listening, fitted, users, params, version_dir, shard, progress)
    t = _timed("per-user lists", timings, t)
    metrics: dict[str, Any] = {}
    if shard.index == 0:
        written |= write_shared_lists(listening, fitted, params, version_dir, progress)
        t = _timed("item, artist and regional lists", timings, t)
    del fitted  # the evaluation fits its own models: the served ones' matrices can go
    if shard.index == 0 and params.eval_users > 0:
        evaluation = evaluate(listening, params)
        t = _timed("evaluation", timings, t)
        verdict = gate.compare(listening, params, evaluation.songs, active)
        write_json(version_dir / gate.GATE_FILE, verdict)
        log.info("batch gate: %s", verdict["reason"])
        metrics = {**evaluation.metrics, "gate": verdict}
        t = _timed("gate", timings, t)
    metrics["timings_s"] = timings
    refused = not metrics.get("gate", {"passed": True})["passed"]
    if refused and shard.count == 1:
        raise gate.GateRefusedError(metrics["gate"])  # no manifest.json: it cannot be loaded
    document = write_manifest(listening, written, params, version_dir, shard, metrics)
    if refused:
        raise gate.GateRefusedError(metrics["gate"])  # the merge refuses its shard manifest
    return document


def _tick(records: Any, bar: tqdm) -> Any:
    for record in records:
        bar.update()
        yield record
