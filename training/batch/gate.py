"""The batch gate: may this batch version replace the active one?

Both versions are scored on the same held-out plays, paired per listener:

- **the held-out plays**: the evaluation's (:mod:`training.batch.evaluate`): the songs listeners
  played for the first time in the last ``holdout_days``, from the first instant the active
  version has not seen (its manifest's ``data.max_ts_ms``; with daily runs and a 7-day holdout,
  the last day only): a song the active version saw played is out of its lists by rule, so
  counting it would penalise the active version for what it knew;
- **the active version**: its served `personal` lists (its files), as the API would show them
  at that instant: without the songs the listener has played since, nor those unavailable now;
- **the new version**: its `personal` lists for the same listeners, computed by the code that
  writes its served lists (:func:`training.batch.families.personal`: the same algorithm,
  parameters and business rules) from a model fitted on the plays before that instant: the
  evaluation's own model when the window is the evaluation's, else one fitted the same way
  (:func:`training.batch.evaluate.fit_held_out`) on the plays the active version saw. The new
  version's files cannot be scored: they were computed from every play, the held-out ones
  included, so they hold none of them;
- recall@20 and NDCG@20 per listener (the evaluation's seeded sample of at most ``eval_users``),
  and the 95 % interval of the difference (new minus active) from a paired bootstrap
  (:func:`training.batch.baselines.metrics.paired_bootstrap`).

The version is **refused** when it is worse than the active one beyond noise on either metric
(the whole interval below zero). It passes, with a note saying why nothing was compared, when
there is no active version (the first run), when the active version has seen every play of this
dataset (a rerun on the same data: no play is held out from it), or when fewer than
:data:`MIN_LISTENERS` listeners can be compared.

What this compares, and why it is still the right gate: the active version's lists were
computed from older data, and served as they are; the new version's from the same plays, or,
when the active version is older than the held-out days, from the plays up to them (more than
the active one saw: the comparison then leans towards the new version). So it measures the new
code, configuration and data against what is serving, on plays neither saw, and it does not ask
for an improvement: it catches a broken or degraded version (a bug, bad data, a worse
configuration), whose lists lose to what is serving by more than noise.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import scipy.sparse as sp

from training.batch import families
from training.batch.baselines.metrics import paired_bootstrap, per_user
from training.batch.evaluate import HeldOut, K, cutoff_ms, fit_held_out, new_columns
from training.batch.listening import DAY_MS, Listening
from training.batch.output import MANIFEST
from training.batch.params import BatchParams

GATE_FILE = "gate.json"
METRICS: tuple[str, ...] = (f"recall@{K}", f"ndcg@{K}")
MIN_LISTENERS = 30  # fewer paired listeners: a percentile bootstrap interval is unreliable
RESAMPLES = 1000
_USER_PREFIX = b'{"user_id":"'  # how output.write_family writes a `personal` record


class GateRefusedError(RuntimeError):
    """The new version is worse than the active one beyond noise; ``verdict`` says how."""

    def __init__(self, verdict: dict[str, Any]) -> None:
        super().__init__(f"batch gate: {verdict['reason']}")
        self.verdict = verdict


@dataclass(frozen=True)
class Active:
    """The active version: its directory, name and manifest's last play (``data.max_ts_ms``)."""

    version_dir: Path
    version: str
    data_end_ms: int | None
    manifest: dict[str, Any]

    @classmethod
    def read(cls, version_dir: Path) -> Active | None:
        """The version at ``version_dir`` (None without a manifest.json: no active version)."""
        path = version_dir / MANIFEST
        if not path.is_file():
            return None
        manifest = json.loads(path.read_text())
        end = manifest.get("data", {}).get("max_ts_ms")
        return cls(
            version_dir, str(manifest["version"]), None if end is None else int(end), manifest
        )

    def lists(self, users: set[str]) -> dict[str, list[str]]:
        """The `personal` lists (ranked song ids) of ``users`` who have one."""
        lists: dict[str, list[str]] = {}
        for entry in self.manifest["families"].get("personal", {}).get("files", []):
            for line in _lines(self.version_dir / entry["path"]):
                user = _user_of(line)
                if user is None or user in users:
                    record = orjson.loads(line)
                    if record["user_id"] in users:
                        lists[record["user_id"]] = record["ids"]
        return lists


def _lines(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as handle:
        yield from handle


def _user_of(line: bytes) -> str | None:
    """The record's user id read without parsing the whole line (None: parse it)."""
    if not line.startswith(_USER_PREFIX):
        return None
    end = line.find(b'"', len(_USER_PREFIX))
    user = line[len(_USER_PREFIX) : end]
    return None if end < 0 or b"\\" in user else user.decode()


def _padded(lists: list[list[int]], pad: int) -> np.ndarray:
    """Lists of column indices as a users x K matrix, short lists padded with ``pad``."""
    out = np.full((len(lists), K), pad, dtype=np.int64)
    for row, columns in enumerate(lists):
        out[row, : min(K, len(columns))] = columns[:K]
    return out


def active_top(
    lists: dict[str, list[str]], user_ids: np.ndarray, listening: Listening, seen: sp.csr_matrix
) -> np.ndarray:
    """The active version's first K songs of each listener (``lists``: its `personal` lists) as
    the API would serve them now: songs unknown to this catalogue, unavailable or untitled now,
    or in ``seen`` (played before the compared window), left out."""
    catalogue = listening.catalogue
    column = {item: i for i, item in enumerate(catalogue.item_ids)}
    eligible = catalogue.item_eligible
    top = []
    for user_id, row in zip(user_ids, seen, strict=True):
        played = set(row.indices.tolist())
        served = (column.get(item, -1) for item in lists[user_id])
        top.append([c for c in served if c >= 0 and eligible[c] and c not in played][:K])
    return _padded(top, listening.n_items)


def new_top(
    held: HeldOut, users: np.ndarray, listening: Listening, seen: sp.csr_matrix,
    params: BatchParams,
) -> np.ndarray:  # fmt: skip
    """The new version's first K songs of each listener: its served code (business rules
    included) on ``held``, the model fitted on the plays before the compared window, songs in
    ``seen`` (played before the window) left out."""
    column = {item: i for i, item in enumerate(listening.catalogue.item_ids)}
    records = families.personal(
        listening.user_ids, users, held.all_rows(listening.n_users), seen, held.model,
        held.prior, listening.catalogue, replace(params, n=K), held.content,
    )  # fmt: skip
    by_user = {r["user_id"]: [column[item] for item in r["ids"]] for r in records}
    return _padded([by_user.get(u, []) for u in listening.user_ids[users]], listening.n_items)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _verdict(passed: bool, reason: str, active: str | None, **extra: Any) -> dict[str, Any]:
    return {"passed": passed, "reason": reason, "active_version": active, **extra, "checks": []}


def _describe(check: dict[str, Any], active: str) -> str:
    low, high = check["interval"]
    return (
        f"{check['metric']} {check['new']:.4f} vs {check['active']:.4f} (active {active}),"
        f" difference {check['difference']:+.4f} (95% CI {low:+.4f} to {high:+.4f})"
    )


def compare(
    listening: Listening,
    params: BatchParams,
    held: HeldOut | None,
    active_dir: Path | None,
) -> dict[str, Any]:
    """The gate's verdict: ``passed``, ``reason``, ``active_version``, the compared
    ``listeners`` and window, and per metric a check (``metric``, ``active``, ``new``,
    ``difference``, ``interval``, ``passed``). ``held`` is the evaluation's fit of the songs
    (:attr:`training.batch.evaluate.Evaluation.songs`)."""
    active = None if active_dir is None else Active.read(active_dir)
    if active is None:
        where = "given" if active_dir is None else f"at {active_dir}"
        return _verdict(True, f"passed: no active version {where} (first run)", None)
    cutoff = cutoff_ms(listening, params)
    start = cutoff if active.data_end_ms is None else max(cutoff, active.data_end_ms + 1)
    if start > listening.max_ts:
        reason = (
            f"passed: not compared: the active version {active.version} saw every play of this"
            f" dataset (up to {_iso(listening.max_ts)}), so none is held out from it"
        )
        return _verdict(True, reason, active.version)
    before, after = listening.weights(end_ms=start), listening.weights(start_ms=start)
    relevant = new_columns(before, after)
    if start > cutoff:  # the active version saw some held-out days: the new one sees them too
        chart = listening.weights(start_ms=start - params.chart_days * DAY_MS, end_ms=start)
        songs = (listening.catalogue, listening.regions)
        held = fit_held_out(
            before, relevant, listening.user_region, chart, params.factors, params, songs
        )
    sample = np.zeros(0, dtype=np.int64) if held is None else held.users
    lists = active.lists({str(u) for u in listening.user_ids[sample]})
    has_list = np.array([str(u) in lists for u in listening.user_ids[sample]], dtype=bool)
    users = sample[(relevant[sample].getnnz(axis=1) > 0) & has_list]
    window = {
        "listeners": len(users),
        "held_out_from": _iso(start),
        "held_out_to": _iso(listening.max_ts),
    }
    if held is None or len(users) < MIN_LISTENERS:
        reason = (
            f"passed: not compared: {len(users)} listeners with an active list played a new"
            f" song since {_iso(start)}, fewer than {MIN_LISTENERS}"
        )
        return _verdict(True, reason, active.version, **window)
    seen = (before[users] > 0).astype(np.float32).tocsr()
    truth = sp.hstack([relevant[users], sp.csr_matrix((len(users), 1))]).tocsr()  # pad: a miss
    ranked = {
        "active": active_top(lists, listening.user_ids[users], listening, seen),
        "new": new_top(held, users, listening, before > 0, params),
    }
    scored = {name: per_user(top, truth) for name, top in ranked.items()}
    checks = []
    for index, metric in enumerate(METRICS):
        values = {name: figures[index] for name, figures in scored.items()}
        boot = paired_bootstrap(values, "active", RESAMPLES, params.seed)
        difference = boot["new"]["difference"]
        checks.append({
            "metric": metric,
            "active": round(boot["active"]["mean"].mean, 6),
            "new": round(boot["new"]["mean"].mean, 6),
            "difference": round(difference.mean, 6),
            "interval": [round(difference.low, 6), round(difference.high, 6)],
            "passed": not difference.high < 0,
        })  # fmt: skip
    failed = [c for c in checks if not c["passed"]]
    if failed:
        head = "refused: worse than the active version beyond noise"
    else:
        head = f"passed: not worse than the active version beyond noise ({len(users)} listeners)"
    reason = f"{head}: " + "; ".join(_describe(c, active.version) for c in failed or checks)
    return {**_verdict(not failed, reason, active.version, **window), "checks": checks}
