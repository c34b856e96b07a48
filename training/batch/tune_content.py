"""``python -m training.batch.tune_content --data DIR [--holdout-days N] [--json OUT]``: choose the
content blend for cold songs (:mod:`training.batch.content`) on a validation slice and report it
on the test days.

The protocol is the evaluation's (:mod:`training.batch.evaluate`: the same listeners' sample,
recall@20 and NDCG@20 of the songs they played for the first time in the held-out days), twice:

- **validation**: the cutoff one holdout earlier, its held-out days ending at the test cutoff;
  every setting of :data:`GRID` is scored, overall and on the held-out plays of cold songs;
- **choice**: among the settings whose overall recall@20 is not below the no-content blend's
  beyond noise (the upper end of the 95 % paired bootstrap interval of the difference is not
  below zero: the batch gate's test), the best recall@20 on cold songs (overall recall@20, then
  the smaller weight, breaking ties); the places for never-played songs (``new_slots``, a
  product rule) are off during the choice;
- **test**: on the last ``holdout_days``, no content, the chosen content blend, and that blend
  with ``new_slots`` as given (as served), 95 % paired bootstrap intervals over the listeners
  against no content (the helper of the strong baselines).

It fits the held-out models once per split (the SVD), so it costs about two batch evaluations.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.batch.baselines.metrics import paired_bootstrap, per_user
from training.batch.content import ContentModel
from training.batch.evaluate import HeldOut, K, fit_held_out, new_columns
from training.batch.families import BLOCK_CELLS
from training.batch.listening import DAY_MS, Listening, load
from training.batch.params import BatchParams
from training.batch.rank import top_candidates

#: cold_share x content_weight x content_genre x content_region tried on validation.
GRID: dict[str, tuple[float, ...]] = {
    "cold_share": (0.00005, 0.0002, 0.0005),
    "content_weight": (0.0, 0.25, 0.5, 1.0),
    "content_genre": (0.0, 1.0),
    "content_region": (0.0, 0.25),
}
RESAMPLES = 1000


def _ranked(held: HeldOut, users: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """Each listener's first K songs by ``held``'s served scores, played songs left out."""
    step = max(1, BLOCK_CELLS // max(1, seen.shape[1]))
    out = []
    for start in range(0, len(users), step):
        block = users[start : start + step]
        scores = np.array(held.scores(block), dtype=np.float32)
        rows, cols = seen[block].nonzero()
        scores[rows, cols] = -np.inf
        out.append(top_candidates(scores, K))
    return np.vstack(out)


class Split:
    """One time split: the held-out fit (its SVD reused for every setting) and the truths."""

    def __init__(self, listening: Listening, params: BatchParams, cutoff: int, end: int) -> None:
        self.train = listening.weights(end_ms=cutoff)
        new = new_columns(self.train, listening.weights(start_ms=cutoff, end_ms=end))
        chart = listening.weights(start_ms=cutoff - params.chart_days * DAY_MS, end_ms=cutoff)
        self.songs = (listening.catalogue, listening.regions)
        held = fit_held_out(
            self.train, new, listening.user_region, chart, params.factors, params, self.songs
        )
        if held is None:
            raise SystemExit("no listener played a new song in the held-out days")
        self.held, self.users = held, held.users
        self.relevant = new[self.users]
        self.seen = self.train

    def figures(self, params: BatchParams) -> dict[str, np.ndarray]:
        """Per listener: recall@K and NDCG@K overall; on cold songs (NaN without a cold play)."""
        content = ContentModel.build(*self.songs, self.train > 0, params)
        ranked = _ranked(replace(self.held, content=content), self.users, self.seen)
        recall, ndcg = per_user(ranked, self.relevant)
        mask = np.zeros(self.relevant.shape[1], dtype=np.float32)
        mask[content.cold] = 1.0
        cold = (self.relevant @ sp.diags(mask)).tocsr()
        cold.eliminate_zeros()
        has = cold.getnnz(axis=1) > 0
        cold_recall, cold_ndcg = np.full(len(ranked), np.nan), np.full(len(ranked), np.nan)
        if has.any():
            cold_recall[has], cold_ndcg[has] = per_user(ranked[has], cold[has])
        return {"recall": recall, "ndcg": ndcg, "cold_recall": cold_recall, "cold_ndcg": cold_ndcg}


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def _settings() -> list[dict[str, float]]:
    names = list(GRID)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*GRID.values())]


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The chosen validation row (see the module's docstring)."""
    fine = [r for r in rows if r["recall_difference"][1] >= 0]
    return max(
        fine,
        key=lambda r: (np.nan_to_num(r["cold_recall"]), r["recall"], -r["content_weight"]),
    )


def _intervals(
    split: Split, base: BatchParams, others: dict[str, BatchParams], seed: int
) -> dict[str, Any]:
    """Test figures of no content and the others, with paired intervals against it."""
    figures = {"none": split.figures(base)}
    figures |= {name: split.figures(p) for name, p in others.items()}
    out: dict[str, Any] = {"users": len(split.users)}
    for metric in ("recall", "ndcg", "cold_recall", "cold_ndcg"):
        keep = np.isfinite(figures["none"][metric])
        values = {name: f[metric][keep] for name, f in figures.items()}
        boot = paired_bootstrap(values, "none", RESAMPLES, seed)
        out[metric] = {
            "listeners": int(keep.sum()),
            **{name: [boot[name]["mean"].mean, *boot[name]["mean"].as_list()[1:]]
               for name in figures},
            **{f"{name} - none": boot[name]["difference"].as_list() for name in others},
        }  # fmt: skip
    return out


def tune(listening: Listening, params: BatchParams) -> dict[str, Any]:
    """Validation grid, the choice, and the test figures (see the module's docstring)."""
    hold = params.holdout_days * DAY_MS
    test_cutoff = listening.max_ts - hold + 1
    validation = Split(listening, params, test_cutoff - hold, test_cutoff)
    rows = []
    base = validation.figures(replace(params, content_weight=0.0, new_slots=0))["recall"]
    for setting in _settings():
        setting_params = replace(params, new_slots=0, **setting)  # type: ignore[arg-type]
        figures = validation.figures(setting_params)
        boot = paired_bootstrap({"base": base, "x": figures["recall"]}, "base", RESAMPLES)
        rows.append({
            **setting, **{name: _mean(v) for name, v in figures.items()},
            "recall_difference": boot["x"]["difference"].as_list()[1:],
        })  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr)
    chosen = choose(rows)
    setting = {name: chosen[name] for name in GRID}
    test = Split(listening, params, test_cutoff, listening.max_ts + 1)
    chosen_params = replace(params, **setting)  # type: ignore[arg-type]
    none = replace(chosen_params, content_weight=0.0, new_slots=0)
    content = replace(chosen_params, new_slots=0)
    return {
        "validation": {"users": len(validation.users), "grid": rows},
        "chosen": setting,
        "test": _intervals(test, none, {"content": content, "served": chosen_params}, params.seed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.batch.tune_content")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--holdout-days", type=int, default=BatchParams().holdout_days)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    params = BatchParams(holdout_days=args.holdout_days)
    result = tune(load(args.data, progress=False), params)
    text = json.dumps(result, indent=1)
    if args.json is not None:
        args.json.write_text(text)
    print(json.dumps({"chosen": result["chosen"], "test": result["test"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
