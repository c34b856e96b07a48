"""Inference server benchmark: ``python -m bench.inference [--model-dir DIR] [--workers 1 2]``.

For our server (``python -m container.serve``) and two references serving the same model the
same way, each at the same numbers of workers: the Flask app under gunicorn
(:mod:`bench.reference_server`, SageMaker's bring-your-own-container example) and the FastAPI app
on uvicorn (:mod:`bench.reference_fastapi`, what teams pick today):

1. maximum throughput: ``wrk`` (closed loop, 1 thread, 8 connections) on single-instance requests;
2. latency at half of that server's own maximum: :mod:`bench.loadgen`, open loop at a fixed
   rate, every request timed; and ours also at each reference's rate (half of that reference's
   maximum), so that ours and each reference's tails are compared under the same traffic;

and, as the floor, the model's own prediction time for one already-encoded row
(``Booster.predict``), the encoder's time, and both together in-process. Writes the
``inference`` section of docs/benchmarks.md and ``docs/img/inference_latency.png`` (and
``inference_concurrency.png``). Needs ``wrk`` (the Debian package of that name). A short check
that it all runs: ``--model-dir DIR --workers 1 --seconds 1 --sweep-seconds 1 --no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import IO

import numpy as np

from bench.loadgen import LoadResult, run_load
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section
from container.serve import command as serve_command
from local.ports import free_port

LISTENER = {"age": 24, "gender": "f", "region": "us-tx", "selected_genres": ["Hip Hop", "R&B"]}
SECTION = "inference"
IMG_DIR = REPO_ROOT / "docs" / "img"
IMG = "inference_latency.png"
IMG_CONCURRENCY = "inference_concurrency.png"
CONCURRENCY = (1, 4, 8, 16, 64)  # wrk connections of the throughput sweep
SWEEP_SECONDS = 3
REFERENCES = {"flask": "Flask", "fastapi": "FastAPI"}  # kind: short name, measured in this order
LABELS = {
    "flask": "Flask + gunicorn sync",
    "fastapi": "FastAPI + uvicorn",
    "ours": "ours (uvicorn + ASGI)",
}


@dataclass
class Run:
    server: str
    workers: int
    max_rps: float
    rate: float
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    latencies_ms: np.ndarray
    by_concurrency: dict[int, float]  # closed-loop req/s at each number of connections
    # reference kind: (rate, p50, p99) at half of that reference's maximum (ours only)
    same_load: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 120
) -> None:
    """Wait for ``/ping`` to answer 200; on failure, show the end of the server's ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.returncode}; stderr:\n{_tail_of(log)}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server not ready in {timeout:.0f} s; stderr:\n{_tail_of(log)}")


def _tail_of(log: IO[bytes], size: int = 2000) -> str:
    """The last ``size`` bytes of a server's log file."""
    log.seek(0, os.SEEK_END)
    log.seek(max(0, log.tell() - size))
    return log.read().decode(errors="replace")


def flask_command(port: int, workers: int) -> list[str]:
    """The Flask reference under gunicorn's sync workers (the model directory from the env)."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return [
        gunicorn, "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{port}",
        "--log-level", "warning", "bench.reference_server:create_app()",
    ]  # fmt: skip


def fastapi_command(port: int, workers: int) -> list[str]:
    """The FastAPI reference on uvicorn's worker processes (the model directory from the env)."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
        "bench.reference_fastapi:create_app",
    ]  # fmt: skip


def server_command(kind: str, model_dir: Path, port: int, workers: int) -> list[str]:
    """The command line that starts server ``kind`` ("ours" or a key of :data:`REFERENCES`)."""
    if kind == "ours":
        return serve_command(model_dir, port, workers)
    if kind == "flask":
        return flask_command(port, workers)
    if kind == "fastapi":
        return fastapi_command(port, workers)
    raise ValueError(f"unknown server {kind!r}")


@contextmanager
def serving(kind: str, model_dir: Path, workers: int) -> Iterator[str]:
    """Run server ``kind`` on a free loopback port until the block ends; yields its URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MUSICREC_MODEL_DIR": str(model_dir)}
    cmd = server_command(kind, model_dir, port, workers)
    with tempfile.TemporaryFile() as log:  # the server's stderr, shown if it does not start
        process = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, log)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def max_throughput(url: str, body_file: Path, seconds: int, connections: int = 8) -> float:
    script = body_file.with_suffix(".lua")
    body = json.dumps(body_file.read_text())
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {body}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            url + "/invocations",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"wrk printed no throughput:\n{out}")


def latency_at(url: str, rate: float, seconds: int) -> LoadResult:
    """Every request's latency at ``rate`` single-instance requests per second (open loop)."""
    return run_load(url, "/invocations", json.dumps(LISTENER).encode(), rate, seconds)


def measure(
    kind: str,
    model_dir: Path,
    workers: int,
    body_file: Path,
    seconds: int,
    other_rates: dict[str, float] | None = None,
    sweep_seconds: int = SWEEP_SECONDS,
) -> Run:
    """Max throughput, latency at half of it, the concurrency sweep and latency at each of
    ``other_rates`` (by reference kind) too."""
    other_rates = other_rates or {}
    with serving(kind, model_dir, workers) as url:
        max_throughput(url, body_file, 2)  # warm-up
        max_rps = max_throughput(url, body_file, seconds)
        rate = max_rps / 2
        load = latency_at(url, rate, seconds)
        same = {ref: latency_at(url, r, seconds) for ref, r in other_rates.items()}
        sweep = {c: max_throughput(url, body_file, sweep_seconds, c) for c in CONCURRENCY}
    p50, p90, p99 = load.percentiles(50, 90, 99)
    errors = sum(n for result in (load, *same.values())
                 for status, n in result.statuses.items() if status != 200)  # fmt: skip
    same_load = {ref: _tail(other_rates[ref], result) for ref, result in same.items()}
    return Run(
        kind, workers, max_rps, rate, load.achieved_rps, p50, p90, p99, errors, load.latencies_ms,
        sweep, same_load,
    )  # fmt: skip


def _tail(rate: float, result: LoadResult) -> tuple[float, float, float]:
    """``(rate, p50, p99)`` of one open-loop run."""
    p50, p99 = result.percentiles(50, 99)
    return rate, p50, p99


def floor(model_dir: Path, repeat: int = 3000) -> dict[str, float]:
    """Median microseconds: Booster.predict on one encoded row; encoding; both via the predictor."""
    from container.predictor import load_predictor
    from training.model.features import encode_instances

    predictor = load_predictor(model_dir)
    spec, booster = predictor.artifact.spec, predictor.artifact.booster
    row = encode_instances(spec, [LISTENER]).matrix

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        for _ in range(200):
            fn()
        samples = []
        for _ in range(repeat):
            start = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - start)
        return median(samples) / 1000

    return {
        "booster_predict_us": timed(lambda: booster.predict(row)),
        "encode_us": timed(lambda: encode_instances(spec, [LISTENER])),
        "predictor_us": timed(lambda: predictor.rank([LISTENER], 3)),
        "trees": float(booster.num_trees()),
    }


def train_model(users: int) -> Path:
    """A model trained on a synthetic world of ``users`` listeners (cached under .local/bench)."""
    root = REPO_ROOT / ".local" / "bench" / f"world-{users}"
    model = root.with_name(f"model-{users}")
    if not (model / "model.tar.gz").is_file():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "training.data.world",
                "--users",
                str(users),
                "--seed",
                "7",
                "--out",
                str(root),
            ],
            check=True,
            cwd=REPO_ROOT,
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "training.model.train",
                "--data",
                str(root),
                "--model-dir",
                str(model),
            ],
            cwd=REPO_ROOT,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError("training failed")
    return model


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        values = np.sort(run.latencies_ms)
        ax.plot(
            values,
            np.linspace(0, 1, len(values)),
            label=f"{label(run)}, {run.workers} worker(s) @ {run.rate:,.0f} req/s",
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("share of requests")
    ax.set_title("Single-instance latency at half of each server's maximum throughput")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def label(run: Run) -> str:
    return LABELS[run.server]


def plot_concurrency(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        levels = sorted(run.by_concurrency)
        ax.plot(levels, [run.by_concurrency[c] for c in levels], marker="o",
                label=f"{label(run)}, {run.workers} worker(s)")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent connections (wrk, closed loop)")
    ax.set_ylabel("requests per second")
    ax.set_title("Single-instance throughput by concurrency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def concurrency_table(runs: list[Run]) -> list[str]:
    """Throughput (req/s) by concurrent connections, one row per server and worker count."""
    levels = sorted({c for run in runs for c in run.by_concurrency})
    lines = ["| server | workers | " + " | ".join(f"c={c}" for c in levels) + " |",
             "|---|---:|" + "---:|" * len(levels)]  # fmt: skip
    for run in runs:
        cells = " | ".join(f"{run.by_concurrency.get(c, float('nan')):,.0f}" for c in levels)
        lines.append(f"| {label(run)} | {run.workers} | {cells} |")
    return lines


def _machine_line() -> str:
    m = machine()
    return f"{m['cpus']} cores, {m['memory']}, {m['cpu']}, {m['system']}, Python {m['python']}"


def comparison(ours: Run, ref: Run) -> str:
    """One line: ours against reference ``ref`` at the same number of workers."""
    name = REFERENCES[ref.server]
    same = ""
    if ref.server in ours.same_load:
        rate, p50, p99 = ours.same_load[ref.server]
        same = (
            f"under the same traffic ({rate:,.0f} req/s, half of {name}'s maximum) p99 "
            f"{p99:.2f} ms against {ref.p99_ms:.2f} ms (p50 {p50:.2f} against {ref.p50_ms:.2f}); "
        )
    return (
        f"- ours vs {name}, {ours.workers} worker(s): {ours.max_rps / ref.max_rps:.2f}× the "
        f"throughput; {same}each at half of its own maximum, p99 {ours.p99_ms:.2f} ms against "
        f"{ref.p99_ms:.2f} ms."
    )


def comparisons(runs: list[Run]) -> list[str]:
    """Ours against each reference, reference by reference, at each number of workers."""
    ours = {r.workers: r for r in runs if r.server == "ours"}
    refs = {(r.server, r.workers): r for r in runs if r.server in REFERENCES}
    return [comparison(ours[workers], refs[kind, workers])
            for kind in REFERENCES for workers in sorted(ours)
            if (kind, workers) in refs]  # fmt: skip


def markdown(
    runs: list[Run],
    base: dict[str, float],
    model_dir: Path,
    command: str,
    sweep_seconds: int = SWEEP_SECONDS,
) -> str:
    lines = [
        "## Inference server",
        "",
        f"Command: `{command}`  ",
        f"Machine: {_machine_line()}  ",
        f"Date: {dt.date.today().isoformat()}  ",
        f"Model: `{model_dir.name}`, {base['trees']:.0f} trees. Requests: one instance each "
        f"(`{json.dumps(LISTENER)}`), over loopback; the load generator runs on the same "
        "2 cores as the server.",
        "",
        "The floor (in-process, median of 3,000 calls):",
        "",
        "| what | µs |",
        "|---|---:|",
        f"| LightGBM `Booster.predict`, one encoded row | {base['booster_predict_us']:.0f} |",
        f"| feature encoding of one instance | {base['encode_us']:.1f} |",
        f"| encode + predict + rank (`GenrePredictor.rank`) | {base['predictor_us']:.0f} |",
        "",
        "Over HTTP. Max throughput from `wrk -t1 -c8`; latency from `bench/loadgen.py` "
        "(open loop, 16 keep-alive connections) at half of *that server's* max throughput, "
        "every request timed:",
        "",
        "| server | workers | max req/s | req/s per worker | load req/s | p50 ms | p90 ms | "
        "p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        name = label(run)
        lines.append(
            f"| {name} | {run.workers} | {run.max_rps:,.0f} | {run.max_rps / run.workers:,.0f} | "
            f"{run.achieved_rps:,.0f} | {run.p50_ms:.2f} | {run.p90_ms:.2f} | {run.p99_ms:.2f} | "
            f"{run.errors} |"
        )
    lines += ["", "Ours against each reference at the same number of workers:", "",
              *comparisons(runs), "", f"![latency CDF](img/{IMG})", "",
              f"Throughput by concurrency: wrk, closed loop, {sweep_seconds} s per point "
              "(the load generator shares the 2 cores):", "", *concurrency_table(runs), "",
              f"![throughput by concurrency](img/{IMG_CONCURRENCY})"]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="default: train on a 100,000-user world")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10, help="per max-throughput/latency run")
    parser.add_argument("--sweep-seconds", type=int, default=SWEEP_SECONDS,
                        help="per point of the concurrency sweep")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--img-dir", type=Path, default=IMG_DIR, help="where the plots go")
    args = parser.parse_args(argv)
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            print(f"bench.inference: needs `{tool}` (apt-get install wrk)", file=sys.stderr)
            return 2
    model_dir = args.model_dir or train_model(args.users)
    base = floor(model_dir)
    runs = measure_all(model_dir, args.workers, args.seconds, args.sweep_seconds)
    command = "python -m bench.inference " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(runs, base, model_dir, command.strip(), args.sweep_seconds)
    print(text)
    if not args.no_write:
        plot(runs, args.img_dir / IMG)
        plot_concurrency(runs, args.img_dir / IMG_CONCURRENCY)
        write_section(SECTION, text, args.doc)
    return 0


def measure_all(
    model_dir: Path, worker_counts: list[int], seconds: int, sweep_seconds: int
) -> list[Run]:
    """Each reference, then ours (also at each reference's rate), at each number of workers."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_text(json.dumps(LISTENER))
        for workers in worker_counts:
            rates: dict[str, float] = {}
            for kind in (*REFERENCES, "ours"):
                other = rates if kind == "ours" else None
                run = measure(kind, model_dir, workers, body_file, seconds, other, sweep_seconds)
                if kind in REFERENCES:
                    rates[kind] = run.rate
                print(
                    f"{kind} x{workers}: max {run.max_rps:,.0f} req/s; at {run.rate:,.0f} "
                    f"req/s p50 {run.p50_ms:.2f} p99 {run.p99_ms:.2f} ms, errors {run.errors}",
                    file=sys.stderr,
                )
                runs.append(run)
    return runs


if __name__ == "__main__":
    sys.exit(main())
