"""Strong baselines for "recommended for you": ``python -m bench.batch_baselines
[--users 100000] [--movielens PATH] [--json FILE] [--no-write]``.

Runs every method of :mod:`training.batch.baselines.methods` (popularity, regional popularity,
our PureSVD plain and as served, implicit ALS, BPR, EASE, item-kNN) on the synthetic world of
``--users`` listeners (.local/bench/, shared with the other benches) and on MovieLens 100K
(imported from ``--movielens`` into a temporary directory), on the split and metrics of
training/batch/evaluate.py. Settings are chosen on a validation slice carved from the training
days; the test figures get 95 % paired bootstrap intervals over the evaluated listeners, for
each method and for its difference with the served method. Prints a table, and unless
``--no-write`` writes the ``### Strong baselines`` section of docs/model.md (under "## Batch
personalisation") and docs/img/batch_baselines.png.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bench.common import DEFAULT_SEED, ML100K, ensure_world
from bench.report import REPO_ROOT, machine, markers, replace_section, repo_relative
from training.batch.baselines import ease
from training.batch.baselines.compare import Outcome, measure
from training.batch.baselines.methods import METHODS, SERVED, Method, by_name
from training.batch.baselines.metrics import (
    item_home_region,
    paired_bootstrap,
    relevant_local_share,
)
from training.batch.baselines.split import Split, evaluation_split, validation_split
from training.batch.baselines.tuning import Choice, choose
from training.batch.listening import Listening, load
from training.batch.params import BatchParams

SECTION = "batch-baselines"
DOC = REPO_ROOT / "docs" / "model.md"
IMAGE = REPO_ROOT / "docs" / "img" / "batch_baselines.png"
CHAPTER = "## Batch personalisation"
AFTER = "### Evaluation"  # the section goes after this one, inside the chapter
WORLD_HOLDOUT_DAYS = 7  # as the served job's evaluation
ML_HOLDOUT_DAYS = 30  # MovieLens squeezes ratings into two months (docs/model.md)


@dataclass
class DatasetResult:
    """Every method's figures on one dataset."""

    name: str
    command: str
    shape: dict[str, int]
    holdout_days: int
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    choices: dict[str, Choice] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    relevant_local: float | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        methods = {}
        for name, outcome in self.outcomes.items():
            choice = self.choices.get(name)
            methods[name] = {
                **outcome.summary(),
                "intervals": self.intervals.get(name, {}),
                "validation": choice.trials if choice else [],
                "tuning_s": round(choice.seconds, 2) if choice else 0.0,
            }
        return {
            "name": self.name,
            "command": self.command,
            "shape": self.shape,
            "holdout_days": self.holdout_days,
            "served": SERVED,
            "methods": methods,
            "skipped": self.skipped,
            "relevant_local_share": self.relevant_local,
            "seconds": round(self.seconds, 1),
        }


def available_bytes() -> int:
    """Memory the kernel says is available now (MemAvailable), else the total."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _summary(split: Split) -> dict[str, int]:
    return {
        "listeners": int(split.train.shape[0]),
        "songs": int(split.train.shape[1]),
        "fitted": len(split.fitted),
        "evaluated": len(split.users),
        "validation_evaluated": 0,
    }


def run_dataset(
    name: str,
    command: str,
    listening: Listening,
    params: BatchParams,
    methods: Sequence[Method],
    resamples: int = 1000,
    progress: bool = True,
) -> DatasetResult:
    """Tune every method on the validation slice, then measure it on the test split."""
    started = time.perf_counter()
    test = evaluation_split(listening, params)
    validation = validation_split(listening, params)
    home = item_home_region(listening.catalogue, listening.regions)
    shape = {**_summary(test), "validation_evaluated": len(validation.users)}
    result = DatasetResult(name, command, shape, params.holdout_days)
    if len(test.users) == 0 or len(validation.users) == 0:
        result.skipped = {
            m.name: "no listener discovered a song in the held-out days" for m in methods
        }
        return result
    test_data, validation_data = test.data(), validation.data()
    for method in methods:
        if not method.fits(len(test.fitted), listening.n_items, available_bytes()):
            need = ease.peak_bytes(listening.n_items) / 1024**3
            result.skipped[method.name] = (
                f"needs about {need:,.0f} GB for {listening.n_items:,} songs; "
                f"{available_bytes() / 1024**3:.0f} GB available"
            )
            continue
        choice = choose(method, validation, home, validation_data, progress)
        result.choices[method.name] = choice
        outcome = measure(method, choice.settings, test, home, test_data)
        result.outcomes[method.name] = outcome
        if progress:
            summary = outcome.summary()
            print(
                f"  {method.name}: recall@20 {summary['recall@20']:.4f}, "
                f"ndcg@20 {summary['ndcg@20']:.4f}, fit {outcome.fit_s:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    if SERVED in result.outcomes:
        for metric, attribute in (("recall@20", "recall"), ("ndcg@20", "ndcg")):
            values = {n: getattr(o, attribute) for n, o in result.outcomes.items()}
            boot = paired_bootstrap(values, SERVED, resamples, params.seed)
            for method_name, intervals in boot.items():
                result.intervals.setdefault(method_name, {})[metric] = {
                    k: v.as_list() for k, v in intervals.items()
                }
    if (home >= 0).any():
        truth = relevant_local_share(test.relevant[test.users], home, test.user_region[test.users])
        result.relevant_local = float(truth.mean())
    result.seconds = time.perf_counter() - started
    return result


# --- the table and the section (from the JSON-able figures, so runs can be merged) ---------

Figures = dict[str, Any]  # DatasetResult.as_dict()
Run = dict[str, Any]  # one run's payload: conditions and its datasets' figures


def _settings(settings: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in settings.items()
    )


def _ci(triple: Sequence[float], signed: bool = False) -> str:
    mean, low, high = triple
    if signed:
        return f"{mean:+.4f} ({low:+.4f} to {high:+.4f})"
    return f"{mean:.4f} ({low:.4f}–{high:.4f})"


def table(figures: Figures) -> list[str]:
    """The markdown table of one dataset: a row per method, the served one in bold."""
    local = figures.get("relevant_local_share") is not None
    lines = [
        "| method | settings (chosen on validation) | recall@20 (95 % CI) | NDCG@20 (95 % CI) "
        "| recall@20 − served | NDCG@20 − served | coverage |"
        + (" local share |" if local else "")
        + " fit s |",
        "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if local else "") + "---:|",
    ]
    for name, method in figures["methods"].items():
        served = name == figures.get("served", SERVED)
        recall = method["intervals"].get("recall@20", {})
        ndcg = method["intervals"].get("ndcg@20", {})
        row = [
            f"**{name}** (served)" if served else name,
            _settings(method["settings"]) or "—",
            _ci(recall["mean"]) if recall else f"{method['recall@20']:.4f}",
            _ci(ndcg["mean"]) if ndcg else f"{method['ndcg@20']:.4f}",
            "—" if served or not recall else _ci(recall["difference"], signed=True),
            "—" if served or not ndcg else _ci(ndcg["difference"], signed=True),
            f"{method['coverage']:.1%}",
        ]
        if local:
            row.append(f"{method['local_share']:.1%}")
        row.append(f"{method['fit_s']:.1f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def reading(figures: Figures) -> str:
    """One factual sentence: the best other method at recall@20 against the served one."""
    methods = figures["methods"]
    served = figures.get("served", SERVED)
    others = [n for n in methods if n != served]
    if served not in methods or not others:
        return ""
    best = max(others, key=lambda n: methods[n]["recall@20"])
    mean, low, high = methods[best]["intervals"]["recall@20"]["difference"]
    if low > 0:
        verdict = "ahead of the served method beyond noise"
    elif high < 0:
        verdict = "behind the served method beyond noise"
    else:
        verdict = "level with the served method within noise"
    return (
        f"Best other method at recall@20: **{best}**, {verdict} "
        f"({mean:+.4f}, 95 % interval {low:+.4f} to {high:+.4f})."
    )


def tuning_lines(figures: Figures) -> list[str]:
    """Per tuned method: the chosen settings, the grid's size and its validation range."""
    lines = []
    for name, method in figures["methods"].items():
        trials = method.get("validation", [])
        if not trials:
            continue
        recalls = [t["recall@20"] for t in trials]
        lines.append(
            f"{name} {_settings(method['settings'])} (of {len(trials)}; validation "
            f"recall@20 {min(recalls):.4f}–{max(recalls):.4f}, {method['tuning_s']:.0f} s)"
        )
    return lines


def ease_measured(datasets: Sequence[Figures]) -> str:
    """The largest measured EASE fit, as a sentence (empty without one)."""
    fits = [
        (d["shape"]["songs"], d["methods"]["ease"]["fit_s"])
        for d in datasets
        if "ease" in d["methods"]
    ]
    if not fits:
        return ""
    songs, seconds = max(fits)
    return f" Measured here: {seconds:.0f} s for {songs:,} songs (one BLAS thread)."


def conditions(run: Run) -> str:
    """How one run was made: command, time, memory, date, machine and its load."""
    m = run["machine"]
    names = ", ".join(d["name"] for d in run["datasets"])
    return (
        f"`{run['command']}` ({names}): {run['seconds'] / 60:.0f} min, peak RSS "
        f"{run['peak_rss_bytes'] / 1024**3:.1f} GB, {run['date']}, {m['cpus']} CPUs "
        f"({m['cpu']}), {m['memory']}, Python {m['python']}, {m['system']}; shared with other "
        f"work: load average {run['load_average']} (`uptime`) at the start, so fit times are "
        f"upper bounds; {run.get('blas_threads', 1)} BLAS thread, the `implicit` package's own "
        "threads on both cores."
    )


PROTOCOL = (
    "Every method ranks, for each evaluated listener, every song they had not played before the"
    " cutoff, on the split and metrics of [Evaluation](#evaluation) "
    "(`training/batch/evaluate.py`: the same sample of listeners, the same rows to fit on, "
    "recall@20 and NDCG@20 of the new songs held out; code in `training/batch/baselines/`). "
    "Settings are chosen on a **validation slice carved from the training days** (the same "
    "protocol with the cutoff one holdout earlier, its held-out days ending at the test cutoff;"
    " best recall@20, NDCG@20 breaking ties; the grids in `training/batch/baselines/methods.py`"
    " were widened once where a first run's validation choice sat on an edge); the test days "
    "give only the figures below. Intervals: 95 % percentile bootstrap over the evaluated "
    "listeners ({resamples:,} resamples), *paired* for the difference with the served method "
    "(every method on the same resampled listeners). *Coverage*: the share of the catalogue in "
    "at least one evaluated list. *Local share*: the share of a list's songs by local acts of "
    "the listener's own region (national acts carry a country code; MovieLens has no local "
    "acts, so no column). *Fit s*: seconds to fit on the test split's training side (tuning not"
    " included). ALS and BPR are the `implicit` package (0.7.3, optional extra `baselines`: a "
    "bench dependency, not in the batch image); EASE, item-kNN and the rest are NumPy/SciPy."
)


def markdown(runs: Sequence[Run]) -> str:
    """The ``### Strong baselines`` section from one or more runs' payloads."""
    datasets = [d for run in runs for d in run["datasets"]]
    memory = runs[0]["machine"]["memory"] if runs else "unknown"
    total = 24 * 1024**3 if memory == "unknown" else int(float(memory.split()[0]) * 1024**3)
    resamples = runs[0].get("resamples", 1000) if runs else 1000
    lines = ["### Strong baselines", ""]
    lines += [f"Command: {conditions(run)}" for run in runs]
    lines += ["", PROTOCOL.format(resamples=resamples), ""]
    for figures in datasets:
        shape = figures["shape"]
        lines += [
            f"**{figures['name']}** ({shape['listeners']:,} listeners, {shape['songs']:,} songs; "
            f"{shape['evaluated']:,} test listeners, {shape['validation_evaluated']:,} on "
            f"validation; fitted on {shape['fitted']:,}; last {figures['holdout_days']} days "
            f"held out; {figures['command']}):",
            "",
            *table(figures),
            "",
            reading(figures),
        ]
        if figures.get("relevant_local_share") is not None:
            lines[-1] += (
                f" Reference: {figures['relevant_local_share']:.1%} of the held-out new songs "
                "are by local acts of the listener's region."
            )
        tuned = tuning_lines(figures)
        if tuned:
            lines += ["", "Chosen on validation: " + "; ".join(tuned) + "."]
        for name, reason in figures.get("skipped", {}).items():
            lines += ["", f"{name} left out: {reason}."]
        lines.append("")
    limit = ease.largest_catalogue(int(total * 0.8))
    lines += [
        f"![recall@20 with 95 % intervals per method and data set](img/{IMAGE.name})",
        "",
        "**Where EASE stops fitting.** Its fit holds a dense songs × songs float64 Gram "
        "matrix, inverted in place, and the float32 weights: "
        f"{ease.PEAK_BYTES_PER_CELL} bytes per pair of songs, "
        f"{ease.peak_bytes(10_000) / 1024**3:.1f} GB at 10,000 songs, "
        f"{ease.peak_bytes(100_000) / 1024**3:,.0f} GB at the 1M-listener world's 100,000. "
        f"On this {memory} machine that is about {limit:,} songs at most (80 % of the memory), "
        "and the n³ inverse grows a thousandfold for every tenfold catalogue."
        + ease_measured(datasets)
        + " Past that, EASE needs the catalogue cut to its most played songs or a sparse "
        "approximation.",
    ]
    notes = [note for run in runs for note in run.get("notes", [])]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def place(document: str, body: str) -> str:
    """``document`` with the section set: replaced between its markers when present, else
    inserted after "### Evaluation" inside "## Batch personalisation" (at the chapter's end
    without it, at the document's end without the chapter)."""
    start, _ = markers(SECTION)
    if start in document:
        return replace_section(document, SECTION, body)
    block = replace_section("", SECTION, body).strip("\n") + "\n\n"
    chapter = document.find(f"\n{CHAPTER}\n")
    if chapter < 0:
        return replace_section(document, SECTION, body)
    end = document.find("\n## ", chapter + len(CHAPTER) + 2)
    end = len(document) if end < 0 else end + 1
    after = document.find(f"\n{AFTER}\n", chapter, end)
    if after >= 0:
        following = document.find("\n### ", after + len(AFTER) + 2, end)
        if following >= 0:
            return document[: following + 1] + block + document[following + 1 :]
    return document[:end].rstrip("\n") + "\n\n" + block + document[end:]


def write_doc(body: str, path: Path = DOC) -> Path:
    """Set the section in ``path`` (read, changed and replaced at once)."""
    document = path.read_text() if path.is_file() else ""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(place(document, body))
    tmp.replace(path)
    return path


def plot(datasets: Sequence[Figures], path: Path = IMAGE) -> Path:
    """Recall@20 per method with its 95 % interval, one panel per data set; the served
    method's bar in red, and its value dashed across the panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [d for d in datasets if d["methods"]]
    fig, axes = plt.subplots(
        1, max(1, len(shown)), figsize=(5.2 * max(1, len(shown)), 3.6), squeeze=False
    )
    for ax, figures in zip(axes[0], shown, strict=False):
        methods = figures["methods"]
        served = figures.get("served", SERVED)
        names = list(methods)
        means = [methods[n]["recall@20"] for n in names]
        bounds = [methods[n]["intervals"].get("recall@20", {}).get("mean") for n in names]
        lows = [m - b[1] if b else 0.0 for m, b in zip(means, bounds, strict=True)]
        highs = [b[2] - m if b else 0.0 for m, b in zip(means, bounds, strict=True)]
        colours = ["#c33" if n == served else "#37a" for n in names]
        ax.barh(names, means, xerr=[lows, highs], color=colours, capsize=3)
        if served in methods:
            ax.axvline(methods[served]["recall@20"], color="#c33", linestyle="--", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_xlabel("recall@20 (95 % interval)")
        title = f"{figures['name']}\n{figures['shape']['evaluated']:,} test listeners"
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_table(datasets: Sequence[Figures]) -> None:
    for figures in datasets:
        print(f"\n{figures['name']} ({figures['seconds']:.0f} s)")
        print("\n".join(table(figures)))
        print(reading(figures))
        for name, reason in figures.get("skipped", {}).items():
            print(f"{name} left out: {reason}")


# --- the data sets ----------------------------------------------------------------------------


def world(
    directory: Path,
    command: str,
    params: BatchParams,
    methods: Sequence[Method],
    resamples: int,
    progress: bool,
) -> DatasetResult:
    listening = load(directory, progress=progress)
    name = f"Synthetic world, {listening.n_users:,} listeners"
    return run_dataset(name, command, listening, params, methods, resamples, progress)


def movielens(src: Path, params: BatchParams, methods: Sequence[Method], resamples: int,
              progress: bool) -> DatasetResult:  # fmt: skip
    from training.data.datasets.movielens import import_movielens

    with tempfile.TemporaryDirectory(prefix="bench-baselines-ml-") as tmp:
        import_movielens(src, Path(tmp) / "ml")
        listening = load(Path(tmp) / "ml", progress=progress)
    command = "`python -m training.data.datasets.movielens --src ml-100k --out ML`"
    return run_dataset("MovieLens 100K", command, listening, params, methods, resamples, progress)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_baselines", description=__doc__)
    parser.add_argument("--users", type=int, default=100_000, help="the bench world's listeners")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--world", type=Path, help="a world directory instead of the bench's")
    parser.add_argument("--no-world", action="store_true", help="MovieLens only")
    parser.add_argument("--movielens", type=Path, default=ML100K, help="raw MovieLens 100K")
    parser.add_argument("--no-movielens", action="store_true")
    parser.add_argument("--holdout-days", type=int, default=WORLD_HOLDOUT_DAYS, help="world")
    parser.add_argument("--methods", nargs="+", help=f"a subset of {[m.name for m in METHODS]}")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--render",
        type=Path,
        nargs="+",
        help="run nothing: write the section and plot from these --json files (runs merged)",
    )
    parser.add_argument("--no-write", action="store_true", help="no doc section, no plot")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--plot", type=Path, default=IMAGE)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads (1: on a shared 2-core machine two spinning BLAS threads made the "
        "dense inverses 50 times slower; implicit's own threads still use every core)",
    )
    parser.add_argument("--no-progress", action="store_true")
    return parser


def _command(args: argparse.Namespace) -> str:
    """The bench command as a reader would type it (no machine paths)."""
    command = "python -m bench.batch_baselines"
    if args.users != 100_000:
        command += f" --users {args.users}"
    if args.world:
        command += f" --world {repo_relative(args.world)}"
    if args.holdout_days != WORLD_HOLDOUT_DAYS:
        command += f" --holdout-days {args.holdout_days}"
    if args.no_world:
        command += " --no-world"
    if args.no_movielens:
        command += " --no-movielens"
    if args.methods:
        command += " --methods " + " ".join(args.methods)
    return command


def measure_all(args: argparse.Namespace) -> Run:
    """Run the comparison on the data sets ``args`` names; the run's payload."""
    names = args.methods
    if names is not None and SERVED not in names:
        names = [SERVED, *names]  # the differences are taken against it
    methods = by_name(names)
    progress = not args.no_progress
    load_average = "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    started = time.perf_counter()
    results: list[DatasetResult] = []
    notes = []
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        if not args.no_world:
            if args.world:
                directory, made = args.world, f"the world in `{repo_relative(args.world)}`"
            else:
                directory = ensure_world(args.users, args.seed)
                made = f"`python -m training.data.world --users {args.users} --seed {args.seed}`"
            params = BatchParams(holdout_days=args.holdout_days)
            results.append(world(directory, made, params, methods, args.resamples, progress))
        if not args.no_movielens:
            if (args.movielens / "u.data").is_file():
                params = BatchParams(holdout_days=ML_HOLDOUT_DAYS)
                ml = movielens(args.movielens, params, methods, args.resamples, progress)
                results.append(ml)
            else:
                notes.append(f"MovieLens 100K left out: not found at `{args.movielens}`.")
    return {
        "command": _command(args),
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "load_average": load_average,
        "blas_threads": args.blas_threads,
        "resamples": args.resamples,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "datasets": [r.as_dict() for r in results],
        "notes": notes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render:
        runs = [json.loads(path.read_text()) for path in args.render]
    else:
        run = measure_all(args)
        runs = [run]
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(run, indent=2, default=_jsonable))
    datasets = [d for run in runs for d in run["datasets"]]
    print_table(datasets)
    for note in (n for run in runs for n in run.get("notes", [])):
        print(note)
    if not args.no_write and datasets:
        write_doc(markdown(runs), args.doc)
        plot(datasets, args.plot)
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value)}")


if __name__ == "__main__":
    sys.exit(main())
