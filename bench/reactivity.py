"""Reactivity of the real-time layer, measured offline: ``python -m bench.reactivity``.

The batch job runs on the interactions before a cut time; each listener who has a batch list and
plays within the next ``--window-days`` is then replayed event by event (plays, skips, likes and
follows, in time order). After each event the lists the API would serve are computed by the
served code (``lambdas.logic.rerank``, ``lambdas.logic.content``, ``lambdas.logic.rules``) from
the listener's recent events, exactly as the API reads them (the latest 50 within 30 days), and
compared with what the listener plays next:

- **songs for you** and **similar songs** (``/v1/items/{id}/similar?user_id=`` after a play):
  recall@20 and NDCG@20 of the next 20 distinct songs the listener plays that they had never
  played before (skips are not plays);
- **artists for you**: the same with the next 20 distinct artists new to the listener.

Stability: the share of the previous top 20 that one event replaced (the song acted on left
out: a played song leaves the list by rule). Policy parameters are chosen on a validation half of
the listeners (by a hash of the id) and reported on the other half, with 95 % bootstrap
intervals over listeners.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.report import REPO_ROOT
from lambdas.logic import rerank
from lambdas.logic.content import CANDIDATES_PER_RESULT, recent_items
from lambdas.logic.rerank import Reaction, geometric
from lambdas.logic.rules import Scored, pick_songs, ranked
from lambdas.store.batch_source import BatchSource
from training.data.dataset_io import has_table, read_table, write_table

K = 20
DAY_MS = 86_400_000
RECENT_LIMIT = 50  # what the API reads of a listener's events (Store.recent_events)
RECENT_TTL_MS = 30 * DAY_MS  # how long the events table keeps an event (EVENT_TTL_DAYS)
PER_ARTIST, PER_ALBUM = 2, 1  # the API's defaults (lambdas/api/recommendations.py)
SIMILAR_PER_ALBUM = 100  # /similar caps artists only
KINDS = ("play", "like", "skip", "follow")
IMAGE = REPO_ROOT / "docs" / "img" / "reactivity.png"


# --------------------------------------------------------------------------------------------
# inputs: a dataset cut in time, the batch job's lists, each listener's events


def cut_dataset(src: Path, out: Path, cut_ms: int) -> None:
    """``src`` as it was at ``cut_ms``: every table, interactions and follows before the cut."""
    for name in ("users", "items", "artists", "stations"):
        write_table(out, name, read_table(src, name))
    for name in ("interactions", "follows"):
        if has_table(src, name):
            table = read_table(src, name)
            write_table(out, name, table.filter(pc.less(table["ts"].cast(pa.int64()), cut_ms)))


def run_batch(data: Path, out: Path) -> Path:
    """The batch job (``python -m training.batch``, its evaluation off) on ``data``; the version
    directory it wrote."""
    command = [sys.executable, "-m", "training.batch", "--data", str(data), "--out", str(out)]
    command += ["--version", "cut", "--eval-users", "0", "--no-progress"]
    subprocess.run(command, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    return out / "cut"


@dataclass
class Version:
    """A batch version's lists as the API reads them (ids and scores, best first)."""

    personal: dict[str, list[Scored]]
    artists: dict[str, list[Scored]]
    similar_items: dict[str, list[Scored]]
    similar_artists: dict[str, list[Scored]]
    catalog: dict[str, dict[str, Any]]  # songs

    def artist_of(self, item: str) -> str | None:
        entry = self.catalog.get(item)
        return None if entry is None else str(entry["artist_id"])


def read_version(version_dir: Path, users: set[str] | None = None) -> Version:
    """A version through the loader's reader (checksums checked); per-user lists only for
    ``users`` when given."""
    source = BatchSource(str(version_dir))
    manifest = source.manifest()
    found: dict[str, list[dict[str, Any]]] = {}
    for family, listing in manifest["families"].items():
        found[family] = [r for entry in listing["files"] for r in source.records(entry)]

    def lists(family: str, key: str) -> dict[str, list[Scored]]:
        return {
            str(r[key]): ranked(r)
            for r in found.get(family, [])
            if users is None or key != "user_id" or r[key] in users
        }

    return Version(
        personal=lists("personal", "user_id"),
        artists=lists("artists", "user_id"),
        similar_items=lists("similar-items", "item_id"),
        similar_artists=lists("similar-artists", "artist_id"),
        catalog={r["id"]: r for r in found.get("catalog", []) if r.get("kind") == "item"},
    )


@dataclass(frozen=True)
class Act:
    """One event of a listener: ``kind`` is play, like, skip or follow; ``artist`` is the
    song's (or the followed) artist."""

    ts: int
    kind: str
    item: str | None
    artist: str

    def served(self) -> dict[str, Any]:
        """The event as the API stores it (the app sends no artist with a play)."""
        if self.kind == "follow":
            return {"type": "follow", "artist_id": self.artist}
        return {"type": self.kind, "item_id": self.item}


@dataclass
class Timeline:
    """A listener at one cut: ``acts`` in time order, the first ``start`` before the cut, then
    the ``replayed`` ones of the window, then the rest (only ever a target)."""

    user: str
    acts: list[Act]
    start: int
    replayed: int
    unit: str = ""  # the listener and the cut: what the bootstrap resamples

    @property
    def end(self) -> int:
        return self.start + self.replayed


def timelines(
    data: Path, cut_ms: int, window_ms: int, users: set[str] | None = None
) -> list[Timeline]:
    """Every listener with at least one play (or like) both before the cut and in the window,
    their acts sorted by time (a follow after the play at the same time)."""
    inter = read_table(data, "interactions", columns=["user_id", "item_id", "ts", "event"])
    ts = inter["ts"].cast(pa.int64())
    listens = pc.not_equal(inter["event"], "skip")
    before = pc.unique(inter.filter(pc.and_(listens, pc.less(ts, cut_ms)))["user_id"])
    window = pc.and_(pc.greater_equal(ts, cut_ms), pc.less(ts, cut_ms + window_ms))
    during = inter.filter(pc.and_(listens, window))["user_id"]
    chosen = pc.unique(during.filter(pc.is_in(during, value_set=before)))
    if users is not None:
        chosen = chosen.filter(pc.is_in(chosen, value_set=pa.array(sorted(users), pa.string())))
    mine = inter.filter(pc.is_in(inter["user_id"], value_set=chosen))
    items = read_table(data, "items", columns=["item_id", "artist_id"])
    artist_of = dict(zip(items["item_id"].to_pylist(), items["artist_id"].to_pylist(), strict=True))
    acts: dict[str, list[tuple[int, int, Act]]] = {u: [] for u in chosen.to_pylist()}
    for u, song, t, kind in zip(
        mine["user_id"].to_pylist(), mine["item_id"].to_pylist(),
        mine["ts"].cast(pa.int64()).to_pylist(), mine["event"].to_pylist(), strict=True,
    ):  # fmt: skip
        acts[u].append((t, 0, Act(t, kind, song, artist_of[song])))
    if has_table(data, "follows"):
        follows = read_table(data, "follows")
        f_ts = follows["ts"].cast(pa.int64()).to_pylist()
        for u, a, t in zip(follows["user_id"].to_pylist(), follows["artist_id"].to_pylist(), f_ts,
                           strict=True):  # fmt: skip
            if u in acts:
                acts[u].append((t, 1, Act(t, "follow", None, a)))
    out = []
    for u in sorted(acts):
        ordered = [a for _, _, a in sorted(acts[u], key=lambda x: (x[0], x[1]))]
        start = sum(a.ts < cut_ms for a in ordered)
        replayed = sum(cut_ms <= a.ts < cut_ms + window_ms for a in ordered)
        out.append(Timeline(u, ordered, start, replayed, f"{u}@{cut_ms}"))
    return out


# --------------------------------------------------------------------------------------------
# pure pieces: recent events, targets, metrics, stability


def recent_events(acts: Sequence[Act], upto: int) -> list[dict[str, Any]]:
    """What the API reads after the act at ``upto``: the latest :data:`RECENT_LIMIT` events
    within :data:`RECENT_TTL_MS`, newest first."""
    now = acts[upto].ts
    out = []
    for act in reversed(acts[max(0, upto + 1 - RECENT_LIMIT) : upto + 1]):
        if act.ts <= now - RECENT_TTL_MS:
            break
        out.append(act.served())
    return out


def next_new(
    acts: Sequence[Act], upto: int, key: str, exclude: Iterable[str] = (), k: int = K
) -> list[str]:
    """The next ``k`` distinct songs (``key="item"``) or artists (``"artist"``) played after
    the act at ``upto`` that were never played up to it (nor are in ``exclude``)."""
    known: set[str] = {getattr(a, key) for a in acts[: upto + 1] if a.kind in ("play", "like")}
    known.update(exclude)
    out: list[str] = []
    for act in acts[upto + 1 :]:
        value = getattr(act, key)
        if act.kind in ("play", "like") and value not in known:
            known.add(value)
            out.append(value)
            if len(out) == k:
                break
    return out


def recall_ndcg(shown: Sequence[str], relevant: Sequence[str], k: int = K) -> tuple[float, float]:
    """Recall@k and NDCG@k (binary gains) of ``shown`` against ``relevant`` (not empty)."""
    wanted = set(relevant)
    gains = [1.0 if s in wanted else 0.0 for s in shown[:k]]
    dcg = sum(g / np.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / np.log2(i + 2) for i in range(min(len(wanted), k)))
    return sum(gains) / len(wanted), dcg / ideal


def replaced(before: Sequence[str], after: Sequence[str], acted: str | None = None) -> float:
    """The share of ``before`` (without ``acted``) that is not in ``after``."""
    kept = [x for x in before if x != acted]
    if not kept:
        return 0.0
    now = set(after)
    return sum(x not in now for x in kept) / len(kept)


# --------------------------------------------------------------------------------------------
# the lists, computed after each event


@dataclass
class Step:
    """What the API knows after one event: the listener's recent events (newest first) and the
    active version's lists."""

    user: str
    events: list[dict[str, Any]]
    version: Version
    heard: set[str] = field(init=False)
    seeds: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.heard, self.seeds = recent_items(self.events)

    @property
    def followed(self) -> set[str]:
        return {str(e["artist_id"]) for e in self.events if e.get("type") == "follow"}


Method = Callable[[Step], list[str]]
SimilarMethod = Callable[[str, Step], list[str]]


def pick_ids(
    candidates: Sequence[Scored], exclude: set[str], catalog: Mapping[str, Mapping[str, Any]],
    per_artist: int = PER_ARTIST, per_album: int = PER_ALBUM,
) -> list[str]:  # fmt: skip
    """The served business rules over the first ``CANDIDATES_PER_RESULT x K`` candidates not
    excluded (lambdas.logic.content.songs): the ids of the top :data:`K`."""
    pool = [c for c in candidates if c[0] not in exclude][: K * CANDIDATES_PER_RESULT]
    chosen = pick_songs(pool, catalog, {}, limit=K, max_per_artist=per_artist,
                        max_per_album=per_album)  # fmt: skip
    return [c["id"] for c in chosen]


def batch_songs(step: Step) -> list[str]:
    """The batch list alone (what was just heard left out)."""
    return pick_ids(step.version.personal.get(step.user, []), step.heard, step.version.catalog)


def today_songs(step: Step) -> list[str]:
    """Today's personal list (lambdas.logic.personal.personal_list): the batch list blended
    with the songs similar to the latest three plays."""
    v = step.version
    similar = [v.similar_items[s] for s in step.seeds if s in v.similar_items]
    mixed = rerank.blend(v.personal.get(step.user, []), similar)
    return pick_ids(mixed, step.heard, v.catalog)


def batch_artists(step: Step) -> list[str]:
    """The batch list of artists without the followed ones (today's served list)."""
    followed = step.followed
    return [a for a, _ in step.version.artists.get(step.user, []) if a not in followed][:K]


def today_similar(item: str, step: Step) -> list[str]:
    """Today's ``/v1/items/{item}/similar?user_id=``: the song's similar list without what the
    listener just heard."""
    v = step.version
    return pick_ids(
        v.similar_items.get(item, []), step.heard | {item}, v.catalog, per_album=SIMILAR_PER_ALBUM
    )


# --------------------------------------------------------------------------------------------
# the served re-ranking under any setting (lambdas.logic.rerank.Reaction)


def songs_with(reaction: Reaction) -> Method:
    """Songs for you under ``reaction``: lambdas.logic.personal.personal_list's composition
    (the catalogue gives skips their artists)."""

    def method(step: Step) -> list[str]:
        v = step.version
        artist_of = v.artist_of if reaction.skip_demotion else None
        mixed = rerank.rerank_songs(v.personal.get(step.user, []), step.events, v.similar_items,
                                    reaction, artist_of)  # fmt: skip
        return pick_ids(mixed, step.heard, v.catalog)

    return method


def artists_with(reaction: Reaction) -> Method:
    """Artists for you under ``reaction`` (seeds: the artists of the latest plays and the
    artists followed), the followed left out."""

    def method(step: Step) -> list[str]:
        v = step.version
        mixed = rerank.rerank_artists(v.artists.get(step.user, []), step.events,
                                      v.similar_artists, v.artist_of, reaction)  # fmt: skip
        followed = step.followed
        return [a for a, _ in mixed if a not in followed][:K]

    return method


def similar_with(reaction: Reaction) -> SimilarMethod:
    """``/v1/items/{item}/similar?user_id=`` under ``reaction``: the song's similar list
    re-ranked by the listener's other latest plays and their batch list."""

    def method(item: str, step: Step) -> list[str]:
        v = step.version
        artist_of = v.artist_of if reaction.skip_demotion else None
        mixed = rerank.rerank_similar(item, v.similar_items.get(item, []), step.events,
                                      v.similar_items, v.personal.get(step.user, []), reaction,
                                      artist_of)  # fmt: skip
        return pick_ids(mixed, step.heard | {item}, v.catalog, per_album=SIMILAR_PER_ALBUM)

    return method


# --------------------------------------------------------------------------------------------
# the replay


@dataclass
class Methods:
    songs: dict[str, Method] = field(default_factory=dict)
    artists: dict[str, Method] = field(default_factory=dict)
    similar: dict[str, SimilarMethod] = field(default_factory=dict)


@dataclass
class Rows:
    """One row per event, list family and method."""

    unit: list[str] = field(default_factory=list)
    family: list[str] = field(default_factory=list)
    method: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)
    changed: list[float] = field(default_factory=list)
    known: list[float] = field(default_factory=list)
    next_hit: list[float] = field(default_factory=list)

    def add(self, unit: str, family: str, method: str, kind: str, metrics: tuple[float, float],
            changed: float, known: float, next_hit: float) -> None:  # fmt: skip
        self.unit.append(unit)
        self.family.append(family)
        self.method.append(method)
        self.kind.append(kind)
        self.recall.append(metrics[0])
        self.ndcg.append(metrics[1])
        self.changed.append(changed)
        self.known.append(known)
        self.next_hit.append(next_hit)

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.__dict__)


NAN = (float("nan"), float("nan"))


def replay(tl: Timeline, version: Version, methods: Methods, rows: Rows) -> None:
    """Every replayed event of ``tl``: each method's list after it, its metrics against the
    next new plays, and how much of the list before it the event replaced."""
    previous: dict[tuple[str, str], list[str]] = {}
    acts = tl.acts
    played: dict[str, set[str]] = {"item": set(), "artist": set()}
    for act in acts[: tl.start - 1]:
        if act.kind in ("play", "like"):
            played["item"].add(str(act.item))
            played["artist"].add(act.artist)
    for upto in range(tl.start - 1, tl.end):
        step = Step(tl.user, recent_events(acts, upto), version)
        act, first = acts[upto], upto == tl.start - 1
        if act.kind in ("play", "like"):
            played["item"].add(str(act.item))
            played["artist"].add(act.artist)
        songs = [] if first else next_new(acts, upto, "item")
        followed = {a.artist for a in acts[: upto + 1] if a.kind == "follow"}
        artists = [] if first else next_new(acts, upto, "artist", followed)
        for family, found, targets, acted, key in (
            ("songs", methods.songs, songs, act.item, "item"),
            ("artists", methods.artists, artists, act.artist if act.kind == "follow" else None,
             "artist"),
        ):  # fmt: skip
            for name, method in found.items():
                shown = method(step)
                if not first:
                    metrics = recall_ndcg(shown, targets) if targets else NAN
                    change = replaced(previous[family, name], shown, acted)
                    known = _share(shown, played[key])
                    hit = float(targets[0] in shown) if targets else float("nan")
                    rows.add(tl.unit, family, name, act.kind, metrics, change, known, hit)
                previous[family, name] = shown
        if first or not songs or act.kind not in ("play", "like"):
            continue
        if act.item not in version.similar_items:
            continue
        for name, similar in methods.similar.items():
            shown = similar(act.item, step)
            rows.add(tl.unit, "similar", name, act.kind, recall_ndcg(shown, songs), float("nan"),
                     _share(shown, played["item"]), float(songs[0] in shown))  # fmt: skip


def _share(shown: Sequence[str], known: set[str]) -> float:
    return sum(s in known for s in shown) / len(shown) if shown else float("nan")


# --------------------------------------------------------------------------------------------
# data sets, cuts and slices


@dataclass(frozen=True)
class Dataset:
    """A data set and how it is cut: batch runs ``cuts_days`` before its last event, each
    followed by ``window_days`` of replayed events."""

    name: str
    data: Path
    cuts_days: tuple[float, ...]
    window_days: float


@dataclass
class Cut:
    cut_ms: int
    version: Version
    timelines: list[Timeline]
    popularity: Counter[str]  # plays per song before the cut


def last_ts(data: Path) -> int:
    return int(
        pc.max(read_table(data, "interactions", columns=["ts"])["ts"]).cast(pa.int64()).as_py()
    )


def slice_of(user: str) -> str:
    """``validation`` or ``test``: half the listeners each, by a hash of the id (a listener is
    in the same slice at every cut)."""
    digest = int(hashlib.sha256(f"reactivity:{user}".encode()).hexdigest()[:8], 16)
    return "validation" if digest % 2 == 0 else "test"


def prepare(dataset: Dataset, work: Path, max_units: int | None = None) -> list[Cut]:
    """Per cut: the data before it, the batch job's lists, the replayed listeners (those with a
    batch list; at most ``max_units`` per slice and cut, a seeded sample)."""
    end, cuts = last_ts(dataset.data), []
    for back in dataset.cuts_days:
        cut_ms = int(end - back * DAY_MS)
        before = work / f"{dataset.name}-{back:g}"
        cut_dataset(dataset.data, before / "data", cut_ms)
        version_dir = run_batch(before / "data", before / "batch")
        found = timelines(dataset.data, cut_ms, int(dataset.window_days * DAY_MS))
        version = read_version(version_dir, {tl.user for tl in found})
        found = [tl for tl in found if tl.user in version.personal]
        if max_units is not None:
            found = _sample(found, max_units)
        plays = read_table(before / "data", "interactions", columns=["item_id", "event"])
        counts = pc.value_counts(plays.filter(pc.not_equal(plays["event"], "skip"))["item_id"])
        popularity = Counter({c["values"]: c["counts"] for c in counts.to_pylist()})
        cuts.append(Cut(cut_ms, version, found, popularity))
    return cuts


def _sample(found: list[Timeline], per_slice: int) -> list[Timeline]:
    rng = np.random.default_rng(0)
    out: list[Timeline] = []
    for name in ("validation", "test"):
        mine = [tl for tl in found if slice_of(tl.user) == name]
        keep = rng.choice(len(mine), min(per_slice, len(mine)), replace=False)
        out += [mine[i] for i in sorted(keep)]
    return out


def run_slice(cuts: Sequence[Cut], name: str, methods: Methods) -> Any:
    """Replay every listener of slice ``name`` at every cut; the rows as a data frame."""
    rows = Rows()
    for cut in cuts:
        for tl in cut.timelines:
            if slice_of(tl.user) == name:
                replay(tl, cut.version, methods, rows)
    return rows.frame()


# --------------------------------------------------------------------------------------------
# the grid, the choice, the summaries

STABILITY_P90 = 0.25  # one play may replace at most a quarter of the list, 9 times in 10
FLOOR = 0.95  # no data set may lose more than 5 % of its reference's NDCG@20


def label(r: Reaction) -> str:
    parts = [f"session {r.session_weight:g}", f"{r.seeds} seeds"]
    if r.recency and r.seeds > 1:
        parts.append(f"decay {r.recency[1] / r.recency[0]:g}")
    if r.only_base:
        parts.append("re-rank only")
    if r.personal_weight:
        parts.append(f"personal {r.personal_weight:g}")
    if r.skip_demotion:
        parts.append(f"skip {r.skip_demotion:g}")
    return ", ".join(parts)


SEEDS = ((3, 0.7), (10, 0.8))


def grid(family: str) -> list[Reaction]:
    """The first stage's settings of a family (skip demotion comes second, on the best)."""
    out = []
    for n, decay in SEEDS:
        recency = geometric(n, decay)
        if family == "songs":
            out += [Reaction(1.0, g, recency, only_base=b)
                    for g in (0.1, 0.25, 0.5, 1.0, 2.0) for b in (False, True)]  # fmt: skip
        elif family == "artists":
            # up to 8: item-kNN similarities (session 13) are smaller than factor cosines
            out += [Reaction(1.0, g, recency) for g in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)]
        else:
            out += [Reaction(1.0, g, recency, only_base=True, personal_weight=p)
                    for g in (0.0, 0.1, 0.25, 0.5) for p in (0.0, 0.1, 0.25)
                    if g or p]  # fmt: skip
    return out


def summary(frame: Any) -> Any:
    """Per family and method: recall@20, NDCG@20 and next-song hit (means over listeners of
    their means over events), and the share replaced by a play (median and 90th percentile)."""
    scored = frame.dropna(subset=["recall"])
    per_unit = scored.groupby(["family", "method", "unit"])[["recall", "ndcg", "next_hit"]].mean()
    out = per_unit.groupby(["family", "method"]).mean()
    plays = frame[frame.kind == "play"].dropna(subset=["changed"])
    changed = plays.groupby(["family", "method"])["changed"]
    out["median"] = changed.median()
    out["p90"] = changed.quantile(0.9)
    out["units"] = per_unit.groupby(["family", "method"]).size()
    return out


def choose(
    summaries: Mapping[str, Any], family: str, reference: str, candidates: Sequence[str],
    target: float = STABILITY_P90, floor: float = FLOOR,
) -> str:  # fmt: skip
    """The candidate with the best mean NDCG@20 relative to ``reference`` over the data sets,
    among those within the stability ``target`` and above ``floor`` x the reference on every
    data set; the reference when none is."""
    best, best_score = reference, 1.0
    for name in candidates:
        ratios = []
        for table in summaries.values():
            if (family, name) not in table.index:
                continue
            row, ref = table.loc[(family, name)], table.loc[(family, reference)]
            stable = not row["p90"] > target  # NaN (no stability for /similar) passes
            ratios.append(row["ndcg"] / ref["ndcg"] if stable and ref["ndcg"] > 0 else 0.0)
        if ratios and min(ratios) >= floor and float(np.mean(ratios)) > best_score:
            best, best_score = name, float(np.mean(ratios))
    return best


REFERENCE = {"songs": "batch", "artists": "batch", "similar": "today"}
SERVED = {"songs": rerank.SONGS, "artists": rerank.ARTISTS, "similar": rerank.SIMILAR}
BOOTSTRAP = 1000


def baselines() -> Methods:
    return Methods(
        songs={"batch": batch_songs, "today": today_songs},
        artists={"batch": batch_artists},
        similar={"today": today_similar},
    )


def first_stage() -> tuple[Methods, dict[str, dict[str, Reaction]]]:
    methods, settings = baselines(), dict[str, dict[str, Reaction]]()
    for family, build in (("songs", songs_with), ("artists", artists_with),
                          ("similar", similar_with)):  # fmt: skip
        settings[family] = {label(r): r for r in grid(family)}
        getattr(methods, family).update({n: build(r) for n, r in settings[family].items()})
    return methods, settings


def second_stage(
    best: Mapping[str, Reaction | None],
) -> tuple[Methods, dict[str, dict[str, Reaction]]]:
    """Skip demotion added to each family's best first-stage setting."""
    methods, settings = Methods(), dict[str, dict[str, Reaction]]()
    for family, build in (("songs", songs_with), ("artists", artists_with),
                          ("similar", similar_with)):  # fmt: skip
        base = best.get(family)
        if base is None:
            settings[family] = {}
            continue
        found = {label(r): r for r in (replace(base, skip_demotion=d) for d in (0.1, 0.3, 1.0))}
        settings[family] = found
        getattr(methods, family).update({n: build(r) for n, r in found.items()})
    return methods, settings


def validate(prepared: Mapping[str, Sequence[Cut]], log: Callable[[str], None]) -> dict[str, Any]:
    """Both stages on every data set's validation slice; the chosen setting per family."""
    import pandas as pd

    methods, settings = first_stage()
    frames = {}
    for name, cuts in prepared.items():
        started = time.monotonic()
        frames[name] = run_slice(cuts, "validation", methods)
        log(f"{name}: validation, first stage: {time.monotonic() - started:.0f} s")
    summaries = {name: summary(f) for name, f in frames.items()}
    best: dict[str, Reaction | None] = {}
    for family, found in settings.items():
        chosen = choose(summaries, family, REFERENCE[family], list(found))
        best[family] = found.get(chosen)
    methods2, settings2 = second_stage(best)
    for name, cuts in prepared.items():
        frames[name] = pd.concat([frames[name], run_slice(cuts, "validation", methods2)])
    summaries = {name: summary(f) for name, f in frames.items()}
    chosen_settings: dict[str, Reaction | None] = {}
    for family in settings:
        candidates = {**settings[family], **settings2[family]}
        chosen = choose(summaries, family, REFERENCE[family], list(candidates))
        chosen_settings[family] = candidates.get(chosen)
    return {"summaries": summaries, "chosen": chosen_settings}


def final_methods(chosen: Mapping[str, Reaction | None]) -> Methods:
    methods = baselines()
    for family, build in (("songs", songs_with), ("artists", artists_with),
                          ("similar", similar_with)):  # fmt: skip
        reaction = chosen.get(family)
        if reaction is not None:
            getattr(methods, family)["proposed"] = build(reaction)
    return methods


def bootstrap(frame: Any, family: str, seed: int = 0, n: int = BOOTSTRAP) -> dict[str, Any]:
    """Per method: the means of recall@20 and NDCG@20 over listeners with 95 % percentile
    intervals (listeners resampled), and the paired relative difference to the reference."""
    scored = frame[frame.family == family].dropna(subset=["recall"])
    per_unit = scored.groupby(["unit", "method"])[["recall", "ndcg"]].mean().unstack("method")
    per_unit = per_unit.dropna()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(per_unit), size=(n, len(per_unit)))
    reference = REFERENCE[family]
    out: dict[str, Any] = {"units": len(per_unit)}
    for method in per_unit["ndcg"].columns:
        entry: dict[str, Any] = {}
        for metric in ("recall", "ndcg"):
            values = per_unit[metric][method].to_numpy()
            means = values[idx].mean(axis=1)
            entry[metric] = [float(values.mean()), *map(float, np.percentile(means, [2.5, 97.5]))]
            ref = per_unit[metric][reference].to_numpy()
            lift = means / np.maximum(ref[idx].mean(axis=1), 1e-12) - 1.0
            entry[f"{metric}_lift"] = [float(values.mean() / max(ref.mean(), 1e-12) - 1.0),
                                       *map(float, np.percentile(lift, [2.5, 97.5]))]  # fmt: skip
        out[method] = entry
    return out


def stability(frame: Any) -> dict[str, Any]:
    """Per family, method and event kind: the share of the list one event replaced (median,
    90th percentile, events)."""
    out: dict[str, Any] = {}
    rated = frame.dropna(subset=["changed"])
    for (family, method, kind), group in rated.groupby(["family", "method", "kind"]):
        values = group["changed"].to_numpy()
        out.setdefault(family, {}).setdefault(method, {})[kind] = {
            "median": float(np.median(values)), "p90": float(np.percentile(values, 90)),
            "events": len(values),
        }  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# probes: the two complaints, on every test listener at the cut

HISTORY_BINS = ((1, 20), (21, 100), (101, 10**9))


def history_plays(tl: Timeline) -> int:
    return sum(a.kind in ("play", "like") for a in tl.acts[: tl.start])


def _bin(plays: int) -> str:
    for low, high in HISTORY_BINS:
        if low <= plays <= high:
            return f"{low}-{high}" if high < 10**9 else f">{low - 1}"
    return "0"


def genre_songs(cut: Cut, per_genre: int = 3) -> dict[str, list[str]]:
    """Each genre's most played songs before the cut that have a similar list."""
    by_genre: dict[str, list[str]] = {}
    for item, _ in cut.popularity.most_common():
        entry = cut.version.catalog.get(item)
        if entry is None or item not in cut.version.similar_items:
            continue
        found = by_genre.setdefault(str(entry["genre"]), [])
        if len(found) < per_genre:
            found.append(item)
    return {g: s for g, s in by_genre.items() if len(s) == per_genre}


def probes(cuts: Sequence[Cut], methods: Mapping[str, Method], name: str = "test") -> Any:
    """Per test listener and method: the share of the list that is the genre they play least
    after three plays of its most played songs (``foreign``), and the share of the rest of the
    list replaced by a play of its first song (``listed``), at the cut."""
    import pandas as pd

    rows = []
    for cut in cuts:
        songs_of = genre_songs(cut)
        catalog = cut.version.catalog
        for tl in cut.timelines:
            if slice_of(tl.user) != name:
                continue
            before = recent_events(tl.acts, tl.start - 1)
            played = Counter(
                catalog[a.item]["genre"] for a in tl.acts[: tl.start]
                if a.kind in ("play", "like") and a.item in catalog
            )  # fmt: skip
            genre = min(songs_of, key=lambda g: (played.get(g, 0), g))
            injected = [{"type": "play", "item_id": s} for s in songs_of[genre]] + before
            for method_name, method in methods.items():
                shown = method(Step(tl.user, before, cut.version))
                foreign = method(Step(tl.user, injected, cut.version))
                share = sum(catalog[s]["genre"] == genre for s in foreign) / max(len(foreign), 1)
                listed = float("nan")
                if shown:
                    after = method(Step(tl.user, [{"type": "play", "item_id": shown[0]}, *before],
                                        cut.version))  # fmt: skip
                    listed = replaced(shown, after, shown[0])
                rows.append((tl.unit, method_name, _bin(history_plays(tl)), share, listed))
    return pd.DataFrame(rows, columns=["unit", "method", "history", "foreign", "listed"])


# --------------------------------------------------------------------------------------------
# report

FAMILY_TITLES = {"songs": "songs for you", "artists": "artists for you",
                 "similar": "similar songs (after a play)"}  # fmt: skip
METHOD_TITLES = {"batch": "batch list alone", "today": "today's blend",
                 "proposed": "**proposed**"}  # fmt: skip


def _ci(entry: Sequence[float], digits: int = 4) -> str:
    return f"{entry[0]:.{digits}f} ({entry[1]:.{digits}f}–{entry[2]:.{digits}f})"


def _pct(entry: Sequence[float]) -> str:
    return f"{entry[0]:+.0%} ({entry[1]:+.0%} to {entry[2]:+.0%})"


def results_table(result: Mapping[str, Any]) -> list[str]:
    """One data set's test table: list x method."""
    lines = [
        "| list | method | recall@20 (95 % CI) | NDCG@20 (95 % CI) | NDCG vs reference | "
        "next song in top 20 | replaced by a play: median / p90 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for family in ("songs", "artists", "similar"):
        boot = result["bootstrap"].get(family, {})
        table = result["summary"]
        for method in ("batch", "today", "proposed"):
            if method not in boot:
                continue
            row = table[family][method]
            entry = boot[method]
            lift = "" if method == REFERENCE[family] else _pct(entry["ndcg_lift"])
            p90 = row.get("p90")
            stable = "" if p90 is None or p90 != p90 else f"{row['median']:.0%} / {p90:.0%}"
            lines.append(
                f"| {FAMILY_TITLES[family]} | {METHOD_TITLES[method]} | {_ci(entry['recall'])} | "
                f"{_ci(entry['ndcg'])} | {lift} | {row['next_hit']:.3f} | {stable} |"
            )
    return lines


def stability_table(result: Mapping[str, Any]) -> list[str]:
    lines = ["| list | method | " + " | ".join(KINDS) + " |", "|---|---|" + "---:|" * len(KINDS)]
    for family in ("songs", "artists"):
        for method, kinds in result["stability"].get(family, {}).items():
            cells = [
                f"{kinds[k]['median']:.0%} / {kinds[k]['p90']:.0%}" if k in kinds else "–"
                for k in KINDS
            ]
            lines.append(f"| {FAMILY_TITLES[family]} | {METHOD_TITLES[method]} | "
                         + " | ".join(cells) + " |")  # fmt: skip
    return lines


def probe_table(result: Mapping[str, Any]) -> list[str]:
    lines = [
        "| method | plays before the cut | listeners | least-played genre after 3 plays of it: "
        "median / mean share | one play of the first song replaces: median / p90 |",
        "|---|---|---:|---:|---:|",
    ]
    for row in result["probes"]:
        lines.append(
            f"| {METHOD_TITLES[row['method']]} | {row['history']} | {row['units']} | "
            f"{row['foreign_median']:.0%} / {row['foreign_mean']:.0%} | "
            f"{row['listed_median']:.0%} / {row['listed_p90']:.0%} |"
        )
    return lines


def probe_summary(frame: Any) -> list[dict[str, Any]]:
    out = []
    for (method, history), group in frame.groupby(["method", "history"], sort=False):
        out.append({
            "method": method, "history": history, "units": len(group),
            "foreign_median": float(group["foreign"].median()),
            "foreign_mean": float(group["foreign"].mean()),
            "listed_median": float(group["listed"].median()),
            "listed_p90": float(group["listed"].quantile(0.9)),
        })  # fmt: skip
    everyone = frame.groupby("method", sort=False)
    for method, group in everyone:
        out.append({
            "method": method, "history": "all", "units": len(group),
            "foreign_median": float(group["foreign"].median()),
            "foreign_mean": float(group["foreign"].mean()),
            "listed_median": float(group["listed"].median()),
            "listed_p90": float(group["listed"].quantile(0.9)),
        })  # fmt: skip
    order = {m: i for i, m in enumerate(METHOD_TITLES)}
    bins = {b: i for i, b in enumerate([_bin(lo) for lo, _ in HISTORY_BINS] + ["all"])}
    return sorted(out, key=lambda r: (order.get(r["method"], 9), bins.get(r["history"], 9)))


def _records(table: Any) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (family, method), row in table.iterrows():
        out.setdefault(family, {})[method] = {k: float(v) for k, v in row.items()}
    return out


def plot(document: Mapping[str, Any], path: Path) -> Path:
    """Top: each data set's validation settings of songs and artists for you, NDCG@20 relative
    to the batch list against the share of the list one play replaces (90th percentile), the
    stability target dashed. Bottom: the test NDCG@20 of each list and method with 95 %
    intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(document["datasets"])
    fig, axes = plt.subplots(2, len(names), figsize=(5.2 * len(names), 7.4), squeeze=False)
    colours = {"batch": "#777777", "today": "#d62728", "proposed": "#1f77b4"}
    for col, name in enumerate(names):
        result = document["datasets"][name]
        ax = axes[0][col]
        for family, marker, light, dark in (("songs", "o", "#9ecae1", colours["proposed"]),
                                            ("artists", "^", "#fdd0a2", "#e6550d")):  # fmt: skip
            rows = result["validation"][family]
            ref = rows["batch"]["ndcg"]
            chosen = document["chosen_labels"].get(family)
            for method, row in rows.items():
                x, y = row["p90"], row["ndcg"] / ref
                colour = {"batch": colours["batch"], "today": colours["today"]}.get(
                    method, dark if method == chosen else light
                )
                big = colour != light
                ax.scatter([x], [y], color=colour, marker=marker, s=40 if big else 14, zorder=3)
                if big and method != "batch":
                    tag = "today" if method == "today" else f"proposed ({family})"
                    ax.annotate(tag, (x, y), textcoords="offset points", xytext=(6, -10),
                                fontsize=8)  # fmt: skip
            if family == "songs":
                ax.annotate("batch alone", (0.0, 1.0), textcoords="offset points",
                            xytext=(6, 4), fontsize=8)  # fmt: skip
        ax.axvline(STABILITY_P90, color="#555555", linestyle="--", linewidth=1)
        ax.set_xlabel("share of the top 20 one play replaces (90th percentile)")
        ax.set_ylabel("NDCG@20 / the batch list's")
        ax.set_title(f"{name}: validation settings (songs o, artists ^)", fontsize=9)
        ax = axes[1][col]
        ticks, labels = [], []
        position = 0.0
        for family in ("songs", "artists", "similar"):
            boot = result["bootstrap"].get(family, {})
            for method in ("batch", "today", "proposed"):
                if method not in boot:
                    continue
                mean, low, high = boot[method]["ndcg"]
                ax.bar(position, mean, color=colours[method], width=0.8)
                ax.errorbar(position, mean, yerr=[[mean - low], [high - mean]], color="black",
                            capsize=3, linewidth=1)  # fmt: skip
                ticks.append(position)
                labels.append(f"{family}\n{method}")
                position += 1
            position += 0.6
        ax.set_xticks(ticks, labels, fontsize=7)
        ax.set_ylabel("NDCG@20 of the next new plays (test)")
        ax.set_title(f"{name}: test listeners, 95 % intervals", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(document: Mapping[str, Any]) -> str:
    lines = [f"Command: `{document['command']}`", ""]
    chosen = document["chosen"]
    lines += [
        "Chosen on the validation listeners (applied to the test listeners below; "
        f"served: {'yes' if document['served_is_chosen'] else '**no**'}):",
        "",
    ]
    for family, reaction in chosen.items():
        text = (
            "none (the reference is best)"
            if reaction is None
            else document["chosen_labels"][family]
        )
        lines.append(f"- {FAMILY_TITLES[family]}: {text}")
    for name, result in document["datasets"].items():
        lines += ["", f"#### {name}", "", result["protocol"], ""]
        lines += results_table(result)
        lines += ["", "Share of the top 20 one event replaced (median / p90), per event kind:", ""]
        lines += stability_table(result)
        lines += ["", "Probes at the cut (test listeners):", ""]
        lines += probe_table(result)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# the run


def evaluate(
    datasets: Sequence[Dataset], work: Path, max_units: int | None = None,
    log: Callable[[str], None] = print, command: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Prepare every data set, choose on the validation slices, report on the test slices."""
    from dataclasses import asdict

    prepared = {}
    for dataset in datasets:
        started = time.monotonic()
        prepared[dataset.name] = prepare(dataset, work, max_units)
        units = sum(len(c.timelines) for c in prepared[dataset.name])
        log(f"{dataset.name}: {units} listener-cuts prepared in {time.monotonic() - started:.0f} s")
    validation = validate(prepared, log)
    chosen = validation["chosen"]
    methods = final_methods(chosen)
    document: dict[str, Any] = {
        "command": command,
        "k": K,
        "stability_p90_target": STABILITY_P90,
        "floor": FLOOR,
        "chosen": {f: None if r is None else asdict(r) for f, r in chosen.items()},
        "chosen_labels": {f: None if r is None else label(r) for f, r in chosen.items()},
        "served": {f: asdict(r) for f, r in SERVED.items()},
        "served_is_chosen": all(chosen.get(f) == r for f, r in SERVED.items()),
        "datasets": {},
    }
    for dataset in datasets:
        cuts = prepared[dataset.name]
        started = time.monotonic()
        frame = run_slice(cuts, "test", methods)
        probe_frame = probes(cuts, methods.songs)
        test_units = frame[frame.family == "songs"]["unit"].nunique()
        events = int(((frame.family == "songs") & (frame.method == "batch")).sum())
        validation_units = sum(
            slice_of(tl.user) == "validation" for c in cuts for tl in c.timelines
        )
        document["datasets"][dataset.name] = {
            "protocol": (
                f"{len(cuts)} cuts ({', '.join(f'{d:g}' for d in dataset.cuts_days)} days before "
                f"the last event), each followed by {dataset.window_days:g} day(s) of replayed "
                f"events; {validation_units:,} validation and {test_units:,} test listener-cuts, "
                f"{events:,} test events."
            ),
            "validation": _records(validation["summaries"][dataset.name]),
            "summary": _records(summary(frame)),
            "bootstrap": {f: bootstrap(frame, f) for f in ("songs", "artists", "similar")},
            "stability": stability(frame),
            "probes": probe_summary(probe_frame),
        }
        log(f"{dataset.name}: test in {time.monotonic() - started:.0f} s")
    return document


def _clean(value: Any) -> Any:
    """NaN (a figure that does not apply) as null, for strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _days(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reactivity", description=__doc__)
    parser.add_argument("--world", type=Path, help="a synthetic world (training.data.world)")
    parser.add_argument("--ml100k", type=Path, help="MovieLens 100K, imported")
    parser.add_argument("--world-cuts", type=_days, default=(60.0, 90.0, 120.0, 150.0))
    parser.add_argument("--world-window", type=float, default=1.0, help="days replayed")
    parser.add_argument("--ml-cuts", type=_days,
                        default=(30.0, 60.0, 90.0, 120.0, 150.0, 180.0))  # fmt: skip
    parser.add_argument("--ml-window", type=float, default=7.0, help="days replayed")
    parser.add_argument("--units", type=int, default=None,
                        help="at most this many listeners per slice and cut")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None, help=f"e.g. {IMAGE}")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    datasets = []
    if args.world:
        datasets.append(Dataset("Synthetic world", args.world, args.world_cuts, args.world_window))
    if args.ml100k:
        datasets.append(Dataset("MovieLens 100K", args.ml100k, args.ml_cuts, args.ml_window))
    if not datasets:
        parser.error("give --world DIR and/or --ml100k DIR")
    command = "python -m bench.reactivity " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="reactivity-") as tmp:
        document = evaluate(datasets, Path(tmp), args.units, command=command)
    text = markdown(document)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(_clean(document), indent=1, default=str))
    if args.markdown:
        args.markdown.write_text(text)
    if args.plot:
        plot(document, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
