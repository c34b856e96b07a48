"""Similar songs and artists, measured: ``python -m bench.similar_items [--world DIR]
[--ml100k DIR] [--json FILE] [--no-write]``.

Next-play prediction (:mod:`training.batch.similar_eval`) on the batch evaluation's time split:
for every listener's consecutive plays ``s -> t`` in the held-out days, is ``t`` in the list
similar to ``s``? The served lists (:mod:`training.batch.cosine`) against item-kNN, raw
co-occurrence, lift, next-play counts, content and popularity, on the 100k-listener bench world
(``.local/bench/``, or ``--world``) and MovieLens 100K (``--ml100k``; consecutive ratings stand in
for plays). Settings are chosen on a validation slice one holdout earlier; intervals are paired
bootstraps over listeners. Prints the tables and, unless ``--no-write``, writes the
``### Similar songs, measured`` section of docs/model.md and docs/img/similar_items.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from bench.batch_baselines import _ci, _settings  # the strong baselines' cell formats
from bench.common import DEFAULT_SEED, ML100K, ensure_world
from bench.report import REPO_ROOT, machine, markers, replace_section, repo_relative
from training.batch import similar_eval
from training.batch.listening import Listening, load
from training.batch.params import BatchParams
from training.batch.similar_eval import METRICS, SERVED, beats_served

SECTION = "similar-items"
AFTER_SECTION = "batch-baselines"  # the section goes right after this one when it is there
DOC = REPO_ROOT / "docs" / "model.md"
IMAGE = REPO_ROOT / "docs" / "img" / "similar_items.png"
WORLD_HOLDOUT_DAYS = 7  # as the served job's evaluation
ML_HOLDOUT_DAYS = 30  # as bench.batch_baselines: MovieLens squeezes ratings into two months
FAMILIES = ("similar-items", "similar-artists")
LABELS = {"similar-items": "songs", "similar-artists": "artists"}

Figures = dict[str, Any]  # one data set: name, command, gap, families' FamilyResult.as_dict()


def run_dataset(
    name: str,
    command: str,
    listening: Listening,
    params: BatchParams,
    gap_ms: int | None,
    resamples: int,
    progress: bool,
) -> Figures:
    """Both families on one data set."""
    started = time.perf_counter()
    report = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
    results = [
        similar_eval.compare(listening, family, params, gap_ms, None, resamples, report).as_dict()
        for family in FAMILIES
    ]
    return {
        "name": name,
        "command": command,
        "listeners": listening.n_users,
        "songs": listening.n_items,
        "artists": len(listening.catalogue.artist_ids),
        "holdout_days": params.holdout_days,
        "gap_minutes": None if gap_ms is None else gap_ms / 60_000,
        "families": results,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- the tables, the section and the plot ------------------------------------------------------


def table(result: dict[str, Any]) -> list[str]:
    """One family's markdown table: a row per method, the served one in bold."""
    lines = [
        "| method | settings | HitRate@10 | HitRate@20 (95 % CI) | MRR@20 (95 % CI) "
        "| HitRate@20 − served | MRR@20 − served | coverage |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in result["methods"].items():
        served = name == result.get("served", SERVED)
        ci = m["intervals"]
        lines.append(
            "| "
            + " | ".join(
                [
                    f"**{name}**" if served else name,
                    _settings(m["settings"]) or "—",
                    f"{m['hit@10']:.4f}",
                    _ci(ci["hit@20"]["mean"]),
                    _ci(ci["mrr@20"]["mean"]),
                    "—" if served else _ci(ci["hit@20"]["difference"], signed=True),
                    "—" if served else _ci(ci["mrr@20"]["difference"], signed=True),
                    f"{m['coverage']:.1%}",
                ]
            )
            + " |"
        )
    return lines


def reading(result: dict[str, Any]) -> str:
    """One factual sentence: the best method at HitRate@20, and who beats the served lists."""
    methods = result["methods"]
    if not methods:
        return "No transition to evaluate."
    best = max(methods, key=lambda n: (methods[n]["hit@20"], methods[n]["mrr@20"]))
    better = beats_served(result)
    sentence = f"Best at HitRate@20: **{best}** ({methods[best]['hit@20']:.4f})."
    if better:
        sentence += " Above the served lists beyond noise: " + ", ".join(better) + "."
    else:
        sentence += " No method is above the served lists beyond noise."
    return sentence


def _difference(result: dict[str, Any], name: str, metric: str) -> list[float]:
    return list(result["methods"][name]["intervals"][metric]["difference"])


def verdict(datasets: Sequence[Figures], metric: str = "hit@20") -> list[str]:
    """Per family, across every data set: the methods above the served lists beyond noise on
    all of them, and those above on some and level (never below) on the rest."""
    lines = []
    for family in FAMILIES:
        results = [r for d in datasets for r in d["families"] if r["family"] == family]
        results = [r for r in results if r["methods"]]
        if not results:
            continue
        names = [n for n in results[0]["methods"] if n != SERVED]
        names = [n for n in names if all(n in r["methods"] for r in results)]
        above = [n for n in names if all(_difference(r, n, metric)[1] > 0 for r in results)]
        level = [
            n
            for n in names
            if n not in above
            and all(_difference(r, n, metric)[2] >= 0 for r in results)
            and any(_difference(r, n, metric)[1] > 0 for r in results)
        ]
        lines.append(
            f"Similar {LABELS[family]}, {metric.replace('hit', 'HitRate').replace('mrr', 'MRR')}"
            f" over {len(results)} data set(s): above the served lists beyond noise on every one: "
            f"{', '.join(above) or 'none'}; above on some and level on the rest: "
            f"{', '.join(level) or 'none'}."
        )
    return lines


def _heading(figures: Figures, result: dict[str, Any]) -> str:
    gap = figures["gap_minutes"]
    gap_text = "any gap" if gap is None else f"at most {gap:g} min apart"
    return (
        f"**{figures['name']}, similar {LABELS[result['family']]}** "
        f"({result['transitions']:,} held-out transitions of {result['listeners']:,} listeners, "
        f"{gap_text}, last {figures['holdout_days']} days; {result['left_out']:,} more from seeds "
        f"without a list left out; {result['validation_transitions']:,} on validation; "
        f"{figures['command']}):"
    )


PROTOCOL = (
    "**Why next-play.** The list is shown next to the song being played, so the direct question"
    " is: *after playing s, which different song did the listener play next?* On the batch "
    "evaluation's time split ([Evaluation](#evaluation): the last days held out, every method "
    "fitted on the plays before the cutoff), each listener's consecutive plays `s -> t` in the "
    "held-out days (skips passed over; `t ≠ s`; at most 30 minutes apart on the world, the usual"
    " session cut, any gap on MovieLens, whose consecutive ratings stand in for plays and whose "
    "importer re-times them over two months) count a hit when `t` is in the first *k* of "
    "`similar(s)`. HitRate@k and MRR@20 are averaged over a listener's transitions, then over "
    "listeners. Held-out co-listening (songs played by the same listeners after the cutoff) was "
    "the other candidate; it was left aside because it measures what `personal` already "
    "measures (a listener's next discoveries) and rewards broadly popular songs, while next-play "
    "asks what the list is for. Artists: the same on the artists of consecutive plays, the two "
    "different. Every method lists only what the served job may list (eligible songs, at most "
    "2 per artist and 1 per album; artists with a listener), never the seed, for the served "
    "job's seeds (songs and artists with at least 5 listeners). Methods "
    "(`training/batch/similar_eval.py`): **cosine (served)** is "
    "`training.batch.families.similar` itself with the served similarity "
    "(`training/batch/cosine.py`; songs: the cosine of the ALS factors, 32 of them; artists: "
    "item-kNN, the cosine of their `log(1 + plays)` listener columns, since session 13); "
    "*svd-cosine* PureSVD's with the rank chosen on validation; "
    "*item-knn* cosine of "
    "the listener columns (`baselines/knn.py`; with binary plays this ranks as co-occurrence "
    "over the square root of the candidate's listeners); *cooccurrence* listeners of both; "
    "*lift* co-occurrence over the candidate's listeners to a power (1: lift, ranking as PMI); "
    "*sequential* how often `t` followed `s` in the training days, item-kNN cosine after them; "
    "*content* the seed's artist, then its genre, by plays; *genre-popularity*; *popularity*. "
    "Settings: chosen on a validation slice one holdout earlier (best HitRate@20). Intervals: "
    "95 % percentile bootstrap over listeners ({resamples:,} resamples), paired for the "
    "difference with the served lists. Coverage: the share of listable songs (artists) in at "
    "least one evaluated list. Read the world with its generator in mind: a session there is "
    "one genre and its next song is by the same artist 45 % of the time "
    "(`training/data/world/listening.py`), which favours *content* and *genre-popularity*; "
    "MovieLens plants nothing of the kind (its pseudo-artists are genre and decade)."
)


def conditions(run: dict[str, Any]) -> str:
    m = run["machine"]
    return (
        f"`{run['command']}`: {run['seconds'] / 60:.1f} min, peak RSS "
        f"{run['peak_rss_bytes'] / 1024**3:.1f} GB, {run['date']}, {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}; load average "
        f"{run['load_average']} at the start (shared with other work), 1 BLAS thread."
    )


def markdown(run: dict[str, Any]) -> str:
    """The ``### Similar songs, measured`` section."""
    lines = ["### Similar songs, measured", "", f"Command: {conditions(run)}", ""]
    lines += [PROTOCOL.format(resamples=run["resamples"]), ""]
    for figures in run["datasets"]:
        for result in figures["families"]:
            lines += [_heading(figures, result), "", *table(result), "", reading(result), ""]
    datasets = run["datasets"]
    lines += [
        "**Across the data sets.** " + " ".join(verdict(datasets) + verdict(datasets, "mrr@20"))
    ]
    lines += ["", f"![HitRate@20 with 95 % intervals per method](img/{IMAGE.name})", ""]
    lines += run.get("notes", [])
    return "\n".join(lines).rstrip() + "\n"


def place(document: str, body: str) -> str:
    """``document`` with the section set: replaced between its markers when present, else
    right after the strong baselines' section (appended without it)."""
    start, _ = markers(SECTION)
    _, after = markers(AFTER_SECTION)
    if start in document or after not in document:
        return replace_section(document, SECTION, body)
    block = replace_section("", SECTION, body).strip("\n")
    at = document.index(after) + len(after)
    return document[:at] + "\n\n" + block + document[at:]


def write_doc(body: str, path: Path = DOC) -> Path:
    document = path.read_text() if path.is_file() else ""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(place(document, body))
    tmp.replace(path)
    return path


def plot(datasets: Sequence[Figures], path: Path = IMAGE) -> Path:
    """HitRate@20 per method with its 95 % interval: a panel per data set and family, the
    served lists in red and dashed across the panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(d, r) for d in datasets for r in d["families"] if r["methods"]]
    columns = max(1, len(FAMILIES))
    rows = max(1, -(-len(panels) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    for ax, (figures, result) in zip(axes.ravel(), panels, strict=False):
        methods = result["methods"]
        names = list(methods)
        means = [methods[n]["hit@20"] for n in names]
        bounds = [methods[n]["intervals"]["hit@20"]["mean"] for n in names]
        errors = [[m - b[1] for m, b in zip(means, bounds, strict=True)],
                  [b[2] - m for m, b in zip(means, bounds, strict=True)]]  # fmt: skip
        colours = ["#c33" if n == SERVED else "#37a" for n in names]
        ax.barh(names, means, xerr=errors, color=colours, capsize=3)
        ax.axvline(methods[SERVED]["hit@20"], color="#c33", linestyle="--", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_xlabel("HitRate@20 of the next play (95 % interval)")
        ax.set_title(
            f"{figures['name']}: similar {LABELS[result['family']]}\n"
            f"{result['transitions']:,} transitions, {result['listeners']:,} listeners",
            fontsize=9,
        )
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_tables(datasets: Sequence[Figures]) -> None:
    for figures in datasets:
        for result in figures["families"]:
            print(f"\n{figures['name']}, {result['family']} ({figures['seconds']:.0f} s)")
            print("\n".join(table(result)) if result["methods"] else "no transitions")
            print(reading(result))


# --- the data sets ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.similar_items", description=__doc__)
    parser.add_argument("--users", type=int, default=100_000, help="the bench world's listeners")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--world", type=Path, help="a world directory instead of the bench's")
    parser.add_argument("--no-world", action="store_true", help="MovieLens only")
    parser.add_argument("--ml100k", type=Path, default=ML100K, help="raw MovieLens 100K")
    parser.add_argument("--no-movielens", action="store_true")
    parser.add_argument("--holdout-days", type=int, default=WORLD_HOLDOUT_DAYS, help="world")
    parser.add_argument(
        "--gap-minutes", type=float, default=similar_eval.SESSION_GAP_MS / 60_000, help="world"
    )
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--no-write", action="store_true", help="no doc section, no plot")
    parser.add_argument(
        "--render", type=Path, help="run nothing: the tables, section and plot from a --json file"
    )
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--plot", type=Path, default=IMAGE)
    parser.add_argument("--no-progress", action="store_true")
    return parser


def _command(args: argparse.Namespace) -> str:
    """The bench command as a reader would type it (no machine paths)."""
    command = "python -m bench.similar_items"
    if args.users != 100_000:
        command += f" --users {args.users}"
    if args.world:
        command += f" --world {repo_relative(args.world)}"
    if args.holdout_days != WORLD_HOLDOUT_DAYS:
        command += f" --holdout-days {args.holdout_days}"
    if args.gap_minutes * 60_000 != similar_eval.SESSION_GAP_MS:
        command += f" --gap-minutes {args.gap_minutes:g}"
    for flag in ("no_world", "no_movielens"):
        if getattr(args, flag):
            command += " --" + flag.replace("_", "-")
    return command


def measure_all(args: argparse.Namespace) -> dict[str, Any]:
    progress = not args.no_progress
    load_average = "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    started = time.perf_counter()
    datasets, notes = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        if not args.no_world:
            if args.world:
                directory, made = args.world, f"the world in `{repo_relative(args.world)}`"
            else:
                directory = ensure_world(args.users, args.seed)
                made = f"`python -m training.data.world --users {args.users} --seed {args.seed}`"
            listening = load(directory, progress=progress)
            params = BatchParams(holdout_days=args.holdout_days)
            name = f"World {listening.n_users:,}"
            gap = round(args.gap_minutes * 60_000)
            datasets.append(
                run_dataset(name, made, listening, params, gap, args.resamples, progress)
            )
        if not args.no_movielens:
            if (args.ml100k / "u.data").is_file():
                from training.data.datasets.movielens import import_movielens

                with tempfile.TemporaryDirectory(prefix="bench-similar-ml-") as tmp:
                    import_movielens(args.ml100k, Path(tmp) / "ml")
                    listening = load(Path(tmp) / "ml", progress=progress)
                made = "`python -m training.data.datasets.movielens --src ml-100k --out ML`"
                params = BatchParams(holdout_days=ML_HOLDOUT_DAYS)
                datasets.append(
                    run_dataset(
                        "MovieLens 100K", made, listening, params, None, args.resamples, progress
                    )
                )
            else:
                notes.append(f"MovieLens 100K left out: not found at `{args.ml100k}`.")
    return {
        "command": _command(args),
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "load_average": load_average,
        "resamples": args.resamples,
        "metrics": list(METRICS),
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "datasets": datasets,
        "notes": notes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run = json.loads(args.render.read_text()) if args.render else measure_all(args)
    if args.json and not args.render:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(run, indent=2))
    print_tables(run["datasets"])
    for line in [*verdict(run["datasets"]), *verdict(run["datasets"], "mrr@20"), *run["notes"]]:
        print(line)
    if not args.no_write and run["datasets"]:
        write_doc(markdown(run), args.doc)
        plot(run["datasets"], args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
