"""Benchmark loading a batch version into DynamoDB: ``python -m bench.dynamodb_load``.

Loads the same batch version into DynamoDB on a moto server of its own (on a free port) three ways,
each into its own tables: the loader (``lambdas.store.loader.load_version``: BatchWriteItem of 25
items, unprocessed items retried, 8 threads), the loader with one thread, and a naive loop of one
``put_item`` per item. Counts the HTTP requests each sends (botocore's ``before-send`` event),
checks that every table holds every record, and writes the ``dynamodb-load`` section of
docs/benchmarks.md with items/s, the speed-up, records and bytes, and what the request counts mean
at 5-10 ms per request in AWS (moto's service time is not DynamoDB's).

The version comes from ``--batch DIR`` or is computed by ``python -m training.batch`` on the
shared bench world of ``--users`` listeners (cached under .local/bench/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import DEFAULT_SEED, ensure_world, world_dir
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section
from lambdas.store.batch_source import BatchSource
from lambdas.store.loader import BATCH_SIZE, Tables, list_items, load_version
from lambdas.store.tables import TABLES, create_table_request, table
from local.aws import count_items
from local.ports import free_port

SECTION = "dynamodb-load"
IMAGE = REPO_ROOT / "docs" / "img" / "dynamodb_load.png"
LATENCIES_MS = (5.0, 10.0)  # a realistic DynamoDB request from Lambda in the same region
LOADER_WORKERS = 8  # lambdas.store.loader's default
NAIVE = "naive put_item loop"


@dataclass
class LoadRun:
    """One load of the whole version: what it wrote, how long it took, what it asked for."""

    mode: str
    workers: int
    records: int  # items written
    seconds: float
    requests: dict[str, int] = field(default_factory=dict)
    stored: int = 0  # items found in the lists table afterwards
    version_records: int = 0  # records of the whole version (more than ``records`` for a sample)

    @property
    def items_per_s(self) -> float:
        return self.records / max(self.seconds, 1e-9)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def write_requests(self) -> int:
        """The requests that wrote list items (PutItem markers and the switch excluded)."""
        if self.mode == NAIVE:
            return self.requests.get("PutItem", 0)
        return self.requests.get("BatchWriteItem", 0)

    @property
    def version_requests(self) -> int:
        """Write requests for the whole version (scaled up from a sample)."""
        scale = max(self.version_records, self.records) / max(self.records, 1)
        return math.ceil(self.write_requests * scale)

    def projected_seconds(self, latency_ms: float) -> float:
        """Time of the whole version's list writes if each request took ``latency_ms``, with
        ``workers`` in flight."""
        return math.ceil(self.version_requests / self.workers) * latency_ms / 1000


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, by DynamoDB operation (retries included)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, request: Any, **_: Any) -> None:
        target = str(request.headers.get("X-Amz-Target", b""), "ascii", "replace")
        with self._lock:
            self.counts[target.rpartition(".")[2] or "unknown"] += 1

    def __enter__(self) -> RequestCounter:
        self.client.meta.events.register("before-send.dynamodb", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("before-send.dynamodb", self._count)


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (strings in UTF-8, numbers about
    one byte per two digits plus one)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, str):
            size += len(value.encode())
        else:
            size += (len(str(abs(value))) + 1) // 2 + 1
    return size


def version_items(source: BatchSource, expires_at: int = 0) -> Iterator[dict[str, Any]]:
    """Every lists-table item of the version, as the loader builds them."""
    manifest = source.manifest()
    for family, listing in manifest["families"].items():
        for entry in listing["files"]:
            yield from list_items(family, manifest["version"], source.records(entry), expires_at)


def create_tables(dynamodb: Any, prefix: str) -> Tables:
    """The lists and state tables under ``prefix`` (created on the given boto3 resource)."""
    for spec in TABLES:
        if spec.name in ("lists", "state"):
            dynamodb.meta.client.create_table(**create_table_request(spec, prefix))
    return Tables(
        lists=dynamodb.Table(table("lists").physical_name(prefix)),
        state=dynamodb.Table(table("state").physical_name(prefix)),
    )


def load_naive(source: BatchSource, lists: Any, limit: int | None = None) -> int:
    """One ``put_item`` per item, in order, on one thread (the first ``limit`` items only, if
    given); the number of items written."""
    written = 0
    expires_at = int(time.time()) + 30 * 86400
    for item in version_items(source, expires_at):
        if limit is not None and written >= limit:
            break
        lists.put_item(Item=item)
        written += 1
    return written


def timed_load(
    source: BatchSource, tables: Tables, mode: str, workers: int, limit: int | None = None
) -> LoadRun:
    """Load the version into ``tables`` one way, counting its requests (the naive loop: at most
    ``limit`` items)."""
    records = sum(listing["records"] for listing in source.manifest()["families"].values())
    written = records
    with RequestCounter(tables.lists.meta.client) as counter:
        started = time.perf_counter()
        if mode == NAIVE:
            written = load_naive(source, tables.lists, limit)
        else:
            load_version(source, tables, workers=workers, progress=False)
        seconds = time.perf_counter() - started
    run = LoadRun(mode, workers, written, seconds, dict(counter.counts), version_records=records)
    run.stored = count_items(tables.lists)
    return run


def compare(
    source: BatchSource,
    dynamodb: Any,
    workers: int = LOADER_WORKERS,
    naive_limit: int | None = None,
) -> list[LoadRun]:
    """The loader with ``workers`` threads, with one, and the naive loop (over the first
    ``naive_limit`` items, if given), each on fresh tables."""
    modes = [("BatchWriteItem loader", workers), ("BatchWriteItem loader", 1), (NAIVE, 1)]
    runs = []
    for i, (mode, n) in enumerate(modes):
        tables = create_tables(dynamodb, f"bench-load-{i}")
        runs.append(timed_load(source, tables, mode, n, naive_limit))
    return runs


def ensure_batch(users: int, seed: int) -> Path:
    """The batch version of the shared bench world of ``users`` (computed once, then cached)."""
    root = world_dir(users, seed).with_name(world_dir(users, seed).name.replace("world", "lists"))
    version = root / "bench"
    if not (version / "manifest.json").is_file():
        world = ensure_world(users, seed)
        command = [sys.executable, "-m", "training.batch", "--data", str(world), "--out"]
        command += [str(root), "--version", "bench", "--no-progress"]
        subprocess.run(command, check=True, cwd=REPO_ROOT)
    return version


def plot(runs: Sequence[LoadRun], path: Path = IMAGE) -> Path:
    """A bar chart of items/s per mode, labelled with the request counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.mode}\n{r.workers} thread{'s' if r.workers > 1 else ''}" for r in runs]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.barh(labels, [r.items_per_s for r in runs], color=["#2a7", "#7b5", "#c54"])
    for bar, run in zip(bars, runs, strict=True):
        ax.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2,
            f" {run.items_per_s:,.0f} items/s, {run.version_requests:,} write requests",
            va="center", fontsize=8,
        )  # fmt: skip
    ax.set_xlabel("items written per second (moto server on this machine)")
    ax.set_xlim(0, max(r.items_per_s for r in runs) * 1.6)
    ax.invert_yaxis()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(
    runs: Sequence[LoadRun],
    total_bytes: int,
    command: str,
    what: str,
    load: tuple[float, float, float] | None = None,
) -> str:
    """The ``dynamodb-load`` section (``load``: the load average before the runs)."""
    m = machine()
    shared = (
        f" Load average before the runs: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
        + (
            " (other processes shared the cores: the times are pessimistic)."
            if load[0] > 1.5
            else "."
        )
        if load
        else ""
    )
    naive = next(r for r in runs if r.mode == NAIVE)
    best = runs[0]
    records = best.version_records
    sample = (
        f" The naive loop wrote the version's first {naive.records:,} items only (it takes "
        "minutes for the whole version on this machine); its items/s is that sample's."
        if naive.records < records
        else ""
    )
    lines = [
        "## DynamoDB loading",
        "",
        f"Command: `{command}`.",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.{shared}",
        "",
        f"The same batch version ({what}: {records:,} records, "
        f"{total_bytes / 1024**2:,.1f} MB of DynamoDB items, {total_bytes / records:,.0f} bytes "
        "on average) loaded into DynamoDB on a moto server on this machine, each way into "
        "tables of its own: the loader (`lambdas/store/loader.py`: BatchWriteItem of "
        f"{BATCH_SIZE} items, unprocessed items retried, files read and checked, a marker per "
        "file, the switch), the same with one thread, and a naive loop of one `put_item` per "
        "item. Requests are HTTP requests sent (botocore's `before-send`, retries included); "
        "every table held every record it was given afterwards." + sample,
        "",
        "| mode | threads | records | stored | wall time | items/s | speed-up | write requests "
        "| all requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.mode} | {run.workers} | {run.records:,} | {run.stored:,} | "
            f"{run.seconds:.1f} s | {run.items_per_s:,.0f} | "
            f"{run.items_per_s / naive.items_per_s:.1f}× | {run.write_requests:,} | "
            f"{run.total_requests:,} |"
        )
    lines += [
        "",
        "moto's figures are not DynamoDB's: moto answers in well under a millisecond of network "
        "but spends this machine's CPU (shared with the loader) on every item, so the speed-up "
        "above is mostly the per-request overhead saved. In AWS the time is dominated by the "
        "service's latency per request, so the request count is what matters. At a realistic "
        f"{LATENCIES_MS[0]:.0f}-{LATENCIES_MS[1]:.0f} ms per request (the same for both kinds, "
        "which flatters the naive loop: a BatchWriteItem takes somewhat longer than one "
        "PutItem):",
        "",
        "| mode | threads | write requests for the whole version | "
        + " | ".join(f"at {ms:.0f} ms per request" for ms in LATENCIES_MS)
        + " |",
        "|---|---:|---:|" + "---:|" * len(LATENCIES_MS),
    ]
    for run in runs:
        cells = " | ".join(_duration(run.projected_seconds(ms)) for ms in LATENCIES_MS)
        lines.append(f"| {run.mode} | {run.workers} | {run.version_requests:,} | {cells} |")
    ratio = naive.version_requests / max(best.version_requests, 1)
    lines += [
        "",
        f"The loader makes {ratio:.0f}× fewer write requests than the naive loop "
        f"({best.version_requests:,} against {naive.version_requests:,}) and keeps {best.workers} "
        "in flight. Write capacity (on-demand write request units, 1 per KB of item) is the "
        "same either way.",
        "",
        f"![items/s by mode](img/{IMAGE.name})",
    ]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dynamodb_load", description=__doc__)
    parser.add_argument("--users", type=int, default=20_000, help="listeners of the bench world")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch", type=Path, help="a batch version directory (else computed)")
    parser.add_argument("--workers", type=int, default=LOADER_WORKERS)
    parser.add_argument(
        "--naive-items", type=int, default=5000,
        help="the naive loop writes only this many items (0: the whole version)",
    )  # fmt: skip
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args(argv)

    from local import aws

    version = args.batch or ensure_batch(args.users, args.seed)
    what = f"`{version}`" if args.batch else f"the {args.users:,}-listener world's lists"
    source = BatchSource(str(version))
    total_bytes = sum(item_bytes(item) for item in version_items(source))
    load = os.getloadavg()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-dynamodb-") as tmp:
        child, _ = aws.start(Path(tmp) / "moto.log", port)
        try:
            dynamodb = aws.client("dynamodb", f"http://{aws.HOST}:{port}", kind="resource")
            runs = compare(source, dynamodb, args.workers, args.naive_items or None)
        finally:
            if child is not None:
                child.stop()
    shown = " ".join(["python -m bench.dynamodb_load", *(sys.argv[1:] if argv is None else argv)])
    text = markdown(runs, total_bytes, shown, what, load)
    print(text)
    if not args.no_write:
        plot(runs)
        write_section(SECTION, text, args.doc)
    return 0 if all(r.stored == r.records for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
