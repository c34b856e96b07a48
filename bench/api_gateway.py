"""Benchmark the API through the local gateway: ``python -m bench.api_gateway [--dir .local]``.

Against a running local stack (``python -m local.up``), per route of :mod:`lambdas.routes`
(personal recommendations once per list type): the maximum closed-loop throughput (``wrk``, one
thread, 8 keep-alive connections) and p50, p90 and p99 at a fixed open-loop rate of half that
maximum (:mod:`bench.loadgen`; at least ``MIN_REQUESTS`` requests, at most ``MAX_OPEN_S`` s),
written into the ``api-gateway`` section of docs/benchmarks.md with a plot. Requests use ids of
the loaded batch version and listeners of the dataset (:func:`find_ids`; the requests:
:mod:`bench.traffic`); every event and onboarding request carries ids of its own, so nothing is
a retry.

Also what a connection costs: ``KEEP_ALIVE_REQUESTS`` sequential requests to
``/v1/artists/{id}/similar``, all on one keep-alive connection and then each on a new one, p50
and p99, in the section's ``api-gateway.keep-alive`` part; ``--keep-alive`` measures only that
and rewrites only that part (a few seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from bench.loadgen import Request, RunResult, run_requests
from bench.report import (
    DEFAULT_DOC,
    REPO_ROOT,
    machine,
    markers,
    read_section,
    write_section,
)
from bench.traffic import Ids, Traffic
from lambdas.store import keys
from lambdas.store.batch_source import BatchSource
from lambdas.store.tables import TABLES
from local import aws
from local.stack import PREFIX, Stack

SECTION = "api-gateway"
IMG = REPO_ROOT / "docs" / "img" / "api_gateway.png"
SERIAL = "__N__"  # replaced by a per-request counter in wrk's requests (unique event ids)
WRK_CONNECTIONS = 8
MIN_REQUESTS, MAX_OPEN_S = 40, 30.0  # per route, open loop
KEEP_ALIVE_SECTION = f"{SECTION}.keep-alive"  # a part of the section, written on its own too
KEEP_ALIVE_REQUESTS = 200
KEEP_ALIVE_TARGET_MS = 5.0  # p50 on a reused connection


# the data behind the requests ---------------------------------------------------------------


def table_name(name: str) -> str:
    return next(spec.physical_name(PREFIX) for spec in TABLES if spec.name == name)


def active_version(stack: Stack) -> str:
    """The batch version the stack serves (the state table's ``active`` item)."""
    item = aws.client("dynamodb", stack.aws_url).get_item(
        TableName=table_name("state"), Key={k: {"S": v} for k, v in keys.ACTIVE.items()}
    )
    if "Item" not in item:
        raise RuntimeError(f"{stack.aws_url}: no batch version is active")
    return str(item["Item"]["version"]["S"])


def version_dir(stack: Stack, version: str) -> Path:
    for manifest in sorted(stack.dir.glob("**/manifest.json")):
        if json.loads(manifest.read_text()).get("version") == version:
            return manifest.parent
    raise FileNotFoundError(f"{stack.dir}: no batch directory of version {version}")


def _keys(
    source: BatchSource, manifest: dict[str, Any], family: str, key: str, n: int
) -> tuple[str, ...]:
    found: list[str] = []
    for entry in manifest["families"][family]["files"]:
        for record in source.records(entry):
            found.append(str(record[key]))
            if len(found) >= n:
                return tuple(found)
    return tuple(found)


def find_ids(stack: Stack, n: int = 300) -> Ids:
    """Up to ``n`` ids of each kind from the stack's active batch version and dataset."""
    source = BatchSource(str(version_dir(stack, active_version(stack))))
    manifest = source.manifest()
    users = next(stack.dir.glob("**/users.parquet"))
    table = pq.read_table(users, columns=["region", "selected_genres"]).slice(0, 5 * n)
    profiles = tuple(
        (str(row["region"]), tuple(row["selected_genres"] or ())[:3])
        for row in table.to_pylist()
        if row["region"]
    )[:n]
    return Ids(
        listeners=_keys(source, manifest, "personal", "user_id", n),
        songs=_keys(source, manifest, "similar-items", "item_id", n),
        artists=_keys(source, manifest, "similar-artists", "artist_id", n),
        profiles=profiles or (("*", ()),),
    )


# the requests (their catalogue: bench.traffic) -----------------------------------------------


def routes(traffic: Traffic) -> dict[str, Callable[[], Request]]:
    """One request maker per route (personal recommendations: one per list type)."""
    return {
        "onboarding": traffic.onboarding,
        "personal songs": traffic.personal_songs,
        "personal artists": traffic.personal_artists,
        "user artists": traffic.user_artists,
        "similar items": traffic.similar_items,
        "similar artists": traffic.similar_artists,
        "events": traffic.events,
        "catalog availability": traffic.availability,
    }


# closed loop: wrk ---------------------------------------------------------------------------


def lua(text: str) -> str:
    """``text`` as a Lua long string: its bytes as they are, no escapes to translate."""
    if "]==]" in text:
        raise ValueError(f"cannot quote {text!r} for Lua")
    return f"[==[{text}]==]"


def wrk_script(requests: list[Request], prefix: str) -> str:
    """A wrk Lua script sending ``requests`` in turn, ``__N__`` in a body replaced by a counter."""
    rows = []
    for r in requests:
        headers = ", ".join(f"[ {lua(k)} ] = {lua(v)}" for k, v in r.headers)
        rows.append(f"{{{lua(r.method)}, {lua(r.path)}, {{{headers}}}, {lua(r.body.decode())}}}")
    return (
        "local requests = {\n  " + ",\n  ".join(rows) + "\n}\n"
        f'local prefix = "{prefix}"\nlocal i = 0\n'
        "request = function()\n"
        "  i = i + 1\n"
        "  local r = requests[(i - 1) % #requests + 1]\n"
        f'  local body = string.gsub(r[4], "{SERIAL}", prefix .. i)\n'
        '  if body == "" then body = nil end\n'
        "  return wrk.format(r[1], r[2], r[3], body)\n"
        "end\n"
    )


@dataclass(frozen=True)
class ClosedLoop:
    rps: float
    requests: int
    errors: int  # non-2xx answers and socket errors


def parse_wrk(output: str) -> ClosedLoop:
    rps, requests, errors = 0.0, 0, 0
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(words[1])
        elif "requests in" in line:
            requests = int(words[0])
        elif line.strip().startswith("Non-2xx"):
            errors += int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            errors += sum(int(w.rstrip(",")) for w in words[3::2])
    return ClosedLoop(rps, requests, errors)


def closed_loop(url: str, requests: list[Request], seconds: int, prefix: str) -> ClosedLoop:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "requests.lua"
        script.write_text(wrk_script(requests, prefix))
        out = subprocess.run(
            ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
             "-s", str(script), url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    return parse_wrk(out)


# the benchmark ------------------------------------------------------------------------------


@dataclass
class RouteResult:
    route: str
    max_rps: float
    closed_errors: int
    rate: float
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    open_errors: int


def wrk_requests(traffic: Traffic, route: str, n: int = 200) -> list[Request]:
    make = routes(traffic)[route]
    if route == "events":
        return [traffic.events(serial=SERIAL) for _ in range(n)]
    # onboarding: n listeners, each with their own token (a listener's token onboards only
    # them), onboarding again and again as wrk cycles through the requests
    return [make() for _ in range(n)]


def measure_max(stack: Stack, traffic: Traffic, seconds: int) -> dict[str, ClosedLoop]:
    found = {}
    for route in routes(traffic):
        requests = wrk_requests(traffic, route)
        closed_loop(stack.gateway_url, requests, 1, f"w{uuid.uuid4().hex[:6]}-")  # warm-up
        found[route] = closed_loop(
            stack.gateway_url, requests, seconds, f"m{uuid.uuid4().hex[:6]}-"
        )
        print(f"{route}: {found[route].rps:.0f} req/s closed loop", flush=True)
    return found


def measure_latency(
    stack: Stack, traffic: Traffic, route: str, rate: float, seconds: float
) -> RunResult:
    make = routes(traffic)[route]
    requests = [make() for _ in range(int(rate * seconds))]
    return run_requests(stack.gateway_url, requests, rate, seconds, deadline_s=seconds + 30)


def open_seconds(rate: float, at_least: float) -> float:
    """``at_least`` seconds, longer for a slow route (``MIN_REQUESTS``), up to ``MAX_OPEN_S``."""
    return max(at_least, min(MAX_OPEN_S, MIN_REQUESTS / rate))


def events_table_items(stack: Stack) -> int:
    """Items in the events table (events and idempotency markers of every run so far)."""
    client = aws.client("dynamodb", stack.aws_url)
    return int(client.describe_table(TableName=table_name("events"))["Table"]["ItemCount"])


def aws_call_ms(stack: Stack, calls: int = 20) -> float:
    """Median time of one DynamoDB GetItem to the stack's local AWS (the floor of every call)."""
    client = aws.client("dynamodb", stack.aws_url)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        client.get_item(TableName=table_name("state"),
                        Key={k: {"S": v} for k, v in keys.ACTIVE.items()})  # fmt: skip
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def benchmark(stack: Stack, closed_s: int, open_s: int) -> list[RouteResult]:
    traffic = Traffic(stack, find_ids(stack), run_id=f"gw-{uuid.uuid4().hex[:8]}")
    maxima = measure_max(stack, traffic, closed_s)
    results = []
    for route, best in maxima.items():
        fixed = half_rate(best.rps)
        run = measure_latency(stack, traffic, route, fixed, open_seconds(fixed, open_s))
        ok = ~np.isnan(run.latencies_ms)
        p50, p90, p99 = (float(v) for v in np.percentile(run.latencies_ms[ok], (50, 90, 99)))
        errors = int(np.sum((run.statuses < 200) | (run.statuses >= 300)))
        achieved = len(run.statuses) / run.seconds
        results.append(
            RouteResult(route, best.rps, best.errors, fixed, achieved, p50, p90, p99, errors)
        )
        print(f"{route}: p50 {p50:.1f} p90 {p90:.1f} p99 {p99:.1f} ms at {fixed:g} req/s, "
              f"{errors} errors", flush=True)  # fmt: skip
    return results


def half_rate(max_rps: float) -> float:
    """Half of a route's maximum, rounded down to 0.5 request per second (at least 0.5)."""
    return max(0.5, int(max_rps) / 2)


def plot(results: list[RouteResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.route for r in results]
    y = np.arange(len(names))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for k, (label, attr) in enumerate((("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"))):
        left.barh(y + (k - 1) * 0.27, [getattr(r, attr) for r in results], 0.27, label=label)
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_xscale("log")
    left.set_xlabel("latency (ms, log), open loop at half of the route's max")
    left.legend(fontsize=8)
    left.grid(axis="x", alpha=0.3)
    right.barh(y, [r.max_rps for r in results], color="tab:gray")
    for k, r in enumerate(results):
        right.annotate(f" {r.max_rps:.0f}", (r.max_rps, k), va="center", fontsize=8)
    right.set_xlabel(f"max throughput (req/s), wrk -t1 -c{WRK_CONNECTIONS}")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle("The API through the local gateway, per route")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# what a connection costs -------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionRun:
    """Sequential requests: each one's latency (ms), the connections they used and how many
    did not answer 200."""

    label: str
    latencies_ms: np.ndarray
    connections: int
    errors: int

    def percentiles(self) -> tuple[float, float]:
        """p50 and p99 (ms)."""
        p50, p99 = np.percentile(self.latencies_ms, (50, 99))
        return float(p50), float(p99)


def _timed(connection: http.client.HTTPConnection, request: Request) -> tuple[float, int]:
    """One request's latency (ms: from sending it to the last byte of its answer; a connection
    not yet open is opened, and timed, first) and its status."""
    started = time.perf_counter()
    connection.request(request.method, request.path, request.body or None, dict(request.headers))
    response = connection.getresponse()
    response.read()
    return (time.perf_counter() - started) * 1000, response.status


def sequential(url: str, requests: list[Request], reuse: bool, label: str) -> ConnectionRun:
    """``requests`` one after the other, all on one keep-alive connection (``reuse``, opened
    before the first is timed) or each on a new connection, closed after its answer."""
    address = url.split("://", 1)[1].rstrip("/")
    shared = http.client.HTTPConnection(address, timeout=30)
    shared.connect()
    latencies, connections, errors, last = [], 1 if reuse else 0, 0, shared.sock
    try:
        for request in requests:
            connection = shared if reuse else http.client.HTTPConnection(address, timeout=30)
            elapsed_ms, status = _timed(connection, request)
            latencies.append(elapsed_ms)
            errors += status != 200
            if not reuse:
                connection.close()
                connections += 1
            elif shared.sock is not last:  # the server closed it: http.client opened another
                connections, last = connections + 1, shared.sock
    finally:
        shared.close()
    return ConnectionRun(label, np.array(latencies), connections, errors)


def keep_alive(stack: Stack) -> tuple[ConnectionRun, ConnectionRun]:
    """``KEEP_ALIVE_REQUESTS`` requests to ``/v1/artists/{id}/similar`` on one keep-alive
    connection, then the same requests on a new connection each, after a pass that fills the
    handler's record cache with their ids (the figures are the gateway's and the handler's)."""
    traffic = Traffic(stack, find_ids(stack), run_id=f"ka-{uuid.uuid4().hex[:8]}")
    requests = [traffic.similar_artists() for _ in range(KEEP_ALIVE_REQUESTS)]
    sequential(stack.gateway_url, requests, True, "warm-up")
    runs = (
        sequential(stack.gateway_url, requests, True, "one keep-alive connection"),
        sequential(stack.gateway_url, requests, False, "a new connection per request"),
    )
    for run in runs:
        p50, p99 = run.percentiles()
        print(f"similar artists, {run.label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
              f"{run.connections} connections, {run.errors} errors", flush=True)  # fmt: skip
    return runs


def keep_alive_markdown(runs: tuple[ConnectionRun, ...], command: str, loads: str) -> str:
    """The keep-alive part of the section."""
    reused_p50 = runs[0].percentiles()[0]
    met = "met" if reused_p50 < KEEP_ALIVE_TARGET_MS else "not met"
    lines = [
        "### One connection against a new one per request",
        "",
        f"Command: `{command}` (against `python -m local.up`); load average (1 min) at the "
        f"start and the end: {loads}  ",
        f"Date: {dt.date.today().isoformat()}",
        "",
        f"{KEEP_ALIVE_REQUESTS} sequential `GET /v1/artists/{{id}}/similar?limit=10` requests "
        "with real ids, from one client process (`http.client`), each timed from sending it to "
        "the last byte of its answer (a new connection's TCP connect included). The same "
        "requests went once before (not timed), so the handler reads its records from its "
        "cache: the figures are the local gateway's (uvicorn with httptools and uvloop, each "
        "answer in one write, the handler on its function's worker thread, the listener's "
        "token verified), the handler's own time and one DynamoDB call, the PutItem that "
        "records the answer as issued (what its impressions and clicks are attributed by, "
        "docs/security.md; about 4 ms on the stack's moto server, see above). Before answers "
        "were recorded (2026-12-06, an Intel Xeon), the same p50 was 0.6 ms.",
        "",
        "| connections | requests | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        p50, p99 = run.percentiles()
        lines.append(f"| {run.label} ({run.connections}) | {len(run.latencies_ms)} | "
                     f"{p50:.2f} | {p99:.2f} | {run.errors} |")  # fmt: skip
    lines += ["", f"Target: p50 under {KEEP_ALIVE_TARGET_MS:g} ms on the reused connection: {met}."]
    return "\n".join(lines)


def nested(name: str, body: str) -> str:
    """``body`` between the markers of section ``name``, to sit inside another section."""
    start, end = markers(name)
    return f"{start}\n{body.strip()}\n{end}"


def write_keep_alive(body: str, doc: Path) -> None:
    """Set the keep-alive part of the section (added at the section's end if not there yet)."""
    if read_section(KEEP_ALIVE_SECTION, doc) is not None:
        write_section(KEEP_ALIVE_SECTION, body, doc)
        return
    section = read_section(SECTION, doc) or ""
    write_section(SECTION, f"{section}\n\n{nested(KEEP_ALIVE_SECTION, body)}", doc)


def run_keep_alive(stack: Stack, command: str, doc: Path) -> int:
    """Only the keep-alive measurement (``--keep-alive``): printed and written into its part."""
    load_at_start = load_average()
    runs = keep_alive(stack)
    write_keep_alive(keep_alive_markdown(runs, command, f"{load_at_start} / {load_average()}"), doc)
    errors = sum(run.errors for run in runs)
    print(f"wrote {doc} ({KEEP_ALIVE_SECTION}); {errors} errors")
    return 1 if errors else 0


# the report ----------------------------------------------------------------------------------


def machine_line() -> str:
    m = machine()
    return f"{m['cpus']} cores, {m['memory']}, {m['cpu']}, {m['system']}, Python {m['python']}"


def load_average() -> str:
    """The machine's 1-minute load average now (it is shared: other work competes for it)."""
    return f"{os.getloadavg()[0]:.1f}"


def markdown(
    results: list[RouteResult],
    command: str,
    closed_s: int,
    open_s: int,
    loads: str,
    aws_ms: float,
    events: int,
    connection_part: str,
) -> str:
    lines = [
        "## The API through the local gateway",
        "",
        f"Command: `{command}` (against `python -m local.up`)  ",
        f"Machine: {machine_line()}; load average (1 min) at the start and the end: {loads} "
        "(the machine is shared)  ",
        f"Date: {dt.date.today().isoformat()}",
        "",
        "What the figures include: the client on the same 2 cores, loopback TCP, the local "
        "gateway (`local/gateway.py`: one Python process, uvicorn with httptools and uvloop, "
        "each answer in one write, a worker thread per function running one invocation at a "
        "time as a Lambda container does, an access log line per call), the API Gateway proxy "
        "event, the handler in that process "
        "(Powertools, pydantic), its DynamoDB calls over HTTP to moto (another Python process) "
        "and, for onboarding, the inference server. Not included: API Gateway and Lambda "
        "themselves, cold starts (the functions are warm), the network. The ids are real (300 "
        "listeners, songs and artists of the loaded version, cycled): the fast routes go round "
        "them many times and then read the handlers' record caches, as a warm Lambda serving "
        "popular ids does, while the slow ones (a few requests a second for at most 30 s) "
        "mostly meet listeners for the first time and read every record from DynamoDB.",
        "",
        f"Max throughput: `wrk -t1 -c{WRK_CONNECTIONS} -d{closed_s}s`, closed loop, after 1 s "
        f"of warm-up. Latency: `bench/loadgen.py`, open loop at half of the route's maximum, "
        f"{open_s} s per route (longer for a slow route: at least {MIN_REQUESTS} requests, at "
        f"most {MAX_OPEN_S:g} s), 16 connections, every request timed. One DynamoDB call to "
        f"the stack's moto server (GetItem, median of 20) took {aws_ms:.1f} ms after the run: "
        "each route makes one to a dozen of those per request, which dominates the figures. "
        "Events write one TransactWriteItems per event (the event and its idempotency marker); "
        "the stack's moto server copies only the items a transaction writes, so that route "
        f"does not slow down as the table grows ({events:,} items at the end of this run).",
        "",
        "| route | max req/s | errors | rate req/s | p50 ms | p90 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.route} | {r.max_rps:,.0f} | {r.closed_errors} | {r.achieved_rps:.1f} | "
            f"{r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | {r.open_errors} |"
        )
    lines += ["", f"![per-route latency and throughput](img/{IMG.name})", "",
              nested(KEEP_ALIVE_SECTION, connection_part)]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_gateway",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--dir", default=".local", help="the running local stack's directory")
    parser.add_argument("--closed-seconds", type=int, default=5)
    parser.add_argument("--open-seconds", type=int, default=8)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="measure only one connection against new ones (seconds) and write only that part",
    )
    args = parser.parse_args(argv)
    stack = Stack.load(args.dir)
    arguments = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m bench.api_gateway", *arguments])
    if args.keep_alive:
        return run_keep_alive(stack, command, args.doc)
    load_at_start = load_average()
    runs = keep_alive(stack)
    results = benchmark(stack, args.closed_seconds, args.open_seconds)
    aws_ms = aws_call_ms(stack)
    loads = f"{load_at_start} / {load_average()}"
    plot(results, IMG)
    write_section(
        SECTION,
        markdown(
            results,
            command,
            args.closed_seconds,
            args.open_seconds,
            loads,
            aws_ms,
            events_table_items(stack),
            keep_alive_markdown(runs, command, loads),
        ),
        args.doc,
    )
    errors = sum(r.closed_errors + r.open_errors for r in results) + sum(r.errors for r in runs)
    print(f"wrote {args.doc} ({SECTION}) and {IMG}; {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
