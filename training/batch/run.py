"""One batch run: read the dataset, fit the factor models, write every family and the manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from training.batch import factors as svd
from training.batch import families
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


@dataclass(frozen=True)
class Shard:
    """Which part of the listeners a run scores: ``index`` of ``count``."""

    index: int = 0
    count: int = 1

    @classmethod
    def from_sagemaker(cls, config: Path = Path("/opt/ml/config/resourceconfig.json")) -> Shard:
        """This instance's shard in a SageMaker processing job (its place among the hosts)."""
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


def run(
    data: Path,
    version_dir: Path,
    params: BatchParams,
    shard: Shard = Shard(),
    progress: bool = True,
) -> dict[str, Any]:
    """Compute and write one version (or one shard of it); return its manifest."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    listening = load(data, progress=progress)
    catalogue = listening.catalogue
    t = _timed("read", timings, t)
    counts = listening.weights()
    played = (counts > 0).astype(np.float32)
    confidence = svd.confidence(counts)
    song_factors = svd.fit(confidence, params.factors, params.svd_iterations, params.seed)
    artist_counts = artist_matrix(counts, catalogue.item_artist, len(catalogue.artist_ids))
    artist_confidence = svd.confidence(artist_counts)
    artist_factors = svd.fit(
        artist_confidence, params.artist_factors, params.svd_iterations, params.seed
    )
    chart = listening.weights(start_ms=listening.max_ts - params.chart_days * DAY_MS + 1)
    n_regions = len(listening.regions)
    song_prior = RegionalPrior.from_counts(
        chart, listening.user_region, n_regions, params.regional_blend
    )
    artist_prior = RegionalPrior.from_counts(
        artist_matrix(chart, catalogue.item_artist, len(catalogue.artist_ids)),
        listening.user_region, n_regions, params.regional_blend,
    )  # fmt: skip
    t = _timed("factorise", timings, t)
    users = shard_users(listening, params, shard)
    written: dict[str, FamilyFiles] = {}

    def bar(name: str, total: int) -> tqdm:
        return tqdm(desc=name, total=total, unit=" lists", unit_scale=True, disable=not progress)

    with bar("personal", len(users)) as b:
        records = families.personal(
            listening.user_ids, users, confidence, played, song_factors, song_prior, catalogue,
            params,
        )  # fmt: skip
        written["personal"] = write_family(
            version_dir, "personal", _tick(records, b), shard.index, shard.count
        )
    with bar("artists", len(users)) as b:
        records = families.artists_for_users(
            listening.user_ids, users, artist_confidence, listening.follows, artist_factors,
            artist_prior, catalogue, params,
        )  # fmt: skip
        written["artists"] = write_family(
            version_dir, "artists", _tick(records, b), shard.index, shard.count
        )
    t = _timed("per-user lists", timings, t)
    metrics: dict[str, Any] = {}
    if shard.index == 0:
        listeners = np.bincount(played.indices, minlength=listening.n_items)
        seeds = np.flatnonzero((listeners >= params.min_item_plays) & catalogue.item_eligible)
        with bar("similar-items", len(seeds)) as b:
            records = families.similar(
                "item_id", catalogue.item_ids, seeds, song_factors, catalogue.item_eligible,
                params.n, families.song_caps(catalogue, params),
            )  # fmt: skip
            written["similar-items"] = write_family(version_dir, "similar-items", _tick(records, b))
        artist_listeners = np.bincount(
            (artist_counts > 0).indices, minlength=len(catalogue.artist_ids)
        )
        artist_seeds = np.flatnonzero(artist_listeners >= params.min_item_plays)
        allowed = artist_listeners > 0
        with bar("similar-artists", len(artist_seeds)) as b:
            records = families.similar(
                "artist_id", catalogue.artist_ids, artist_seeds, artist_factors, allowed, params.n
            )
            written["similar-artists"] = write_family(
                version_dir, "similar-artists", _tick(records, b)
            )
        written["regional"] = write_family(
            version_dir,
            "regional",
            families.regional(chart, listening.user_region, listening.regions, catalogue, params),
        )
        written["catalog"] = write_family(version_dir, "catalog", families.catalog(catalogue))
        t = _timed("item, artist and regional lists", timings, t)
        if params.eval_users > 0:
            metrics = evaluate(listening, params)
            t = _timed("evaluation", timings, t)
    data_summary = {
        "users": listening.n_users,
        "active_users": len(shard_users(listening, params, Shard())),
        "items": listening.n_items,
        "interactions": len(listening.event_ts),
        "max_ts_ms": listening.max_ts,
    }
    document = manifest(
        version_dir.name,
        written,
        data=data_summary,
        params=params.as_dict(),
        shards=shard.count,
        metrics={**metrics, "timings_s": timings} if metrics else {"timings_s": timings},
    )
    if shard.count == 1:
        write_json(version_dir / MANIFEST, document)
    else:
        document["shard"] = shard.index
        write_json(version_dir / shard_manifest_name(shard.index, shard.count), document)
    return document


def _tick(records: Any, bar: tqdm) -> Any:
    for record in records:
        bar.update()
        yield record
