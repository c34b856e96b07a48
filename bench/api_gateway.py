"""Benchmark the API through the local gateway: ``python -m bench.api_gateway [--dir .local]``.

Against a running local stack (``python -m local.up``), per route of :mod:`lambdas.routes`
(personal recommendations once per list type): the maximum closed-loop throughput (``wrk``, one
thread, 8 keep-alive connections) and p50, p90 and p99 at a fixed open-loop rate of half that
maximum (:mod:`bench.loadgen`; at least ``MIN_REQUESTS`` requests, at most ``MAX_OPEN_S`` s),
written into the ``api-gateway`` section of docs/benchmarks.md with a plot. Requests use ids of
the loaded batch version and listeners of the dataset; every event and onboarding request
carries ids of its own, so nothing is a retry.

Also the request catalogue of the load test (:mod:`bench.load_test`): :class:`Traffic`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow.parquet as pq

from bench.loadgen import Request, RunResult, run_requests
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section
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
EVENT_TYPES = {"play": 60, "skip": 18, "like": 6, "follow": 3, "impression": 9, "click": 4}
LOAD_EXPERIMENT = "load-test"  # impressions and clicks count here, not in a real experiment


# the data behind the requests ---------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """Ids that exist in the running stack: listeners with personal lists, songs and artists
    with similar lists, and (region, selected genres) of the dataset's listeners."""

    listeners: tuple[str, ...]
    songs: tuple[str, ...]
    artists: tuple[str, ...]
    profiles: tuple[tuple[str, tuple[str, ...]], ...]


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


# the requests -------------------------------------------------------------------------------


@dataclass
class Traffic:
    """Realistic requests with real ids; event and onboarding ids are unique to this run
    (``run_id``: this run's stored events can be told from others'). ``new_listeners_only``:
    events only for listeners this run onboarded (on a shared stack whose real listeners other
    tests watch)."""

    stack: Stack
    ids: Ids
    run_id: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex[:8]}")
    seed: int = 7
    new_listeners_only: bool = False

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.serial = 0
        self.onboarded: list[str] = []

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return (("x-api-key", self.stack.api_key), ("Content-Type", "application/json"))

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _get(self, path: str, label: str) -> Request:
        return Request("GET", path, headers=self.headers, label=label)

    def onboarding(self) -> Request:
        region, genres = self.rng.choice(self.ids.profiles)
        user = f"{self.run_id}-u{self._next()}"
        self.onboarded.append(user)
        body = {"user_id": user, "age": self.rng.randint(14, 70),
                "gender": self.rng.choice("fmx"), "region": region,
                "selected_genres": list(genres), "limit": 10}  # fmt: skip
        return Request("POST", "/v1/onboarding/recommendations", json.dumps(body).encode(),
                       self.headers, "onboarding")  # fmt: skip

    def personal_songs(self) -> Request:
        user = quote(self.rng.choice(self.ids.listeners))
        return self._get(f"/v1/users/{user}/recommendations?kind=songs&limit=10", "personal songs")

    def personal_artists(self) -> Request:
        user = quote(self.rng.choice(self.ids.listeners))
        path = f"/v1/users/{user}/recommendations?kind=artists&limit=10"
        return self._get(path, "personal artists")

    def user_artists(self) -> Request:
        user = quote(self.rng.choice(self.ids.listeners))
        return self._get(f"/v1/users/{user}/artists?limit=10", "user artists")

    def similar_items(self) -> Request:
        song = quote(self.rng.choice(self.ids.songs))
        user = quote(self.rng.choice(self.ids.listeners))
        return self._get(f"/v1/items/{song}/similar?user_id={user}&limit=10", "similar items")

    def similar_artists(self) -> Request:
        artist = quote(self.rng.choice(self.ids.artists))
        return self._get(f"/v1/artists/{artist}/similar?limit=10", "similar artists")

    def event_listener(self) -> str:
        if self.new_listeners_only or (self.onboarded and self.rng.random() < 0.3):
            if not self.onboarded:
                self.onboarding()  # a new listener of this run's to play as
            return self.rng.choice(self.onboarded)
        return self.rng.choice(self.ids.listeners)

    def event_body(
        self, user: str, n: int, serial: str | None = None
    ) -> dict[str, list[dict[str, object]]]:
        """A session's ``n`` events: plays, skips, likes, follows, impressions and clicks."""
        types = self.rng.choices(list(EVENT_TYPES), list(EVENT_TYPES.values()), k=n)
        now = int(time.time() * 1000)
        events = []
        for i, kind in enumerate(types):
            event_id = f"{self.run_id}-e{serial or self._next()}-{i}"
            event: dict[str, object] = {"event_id": event_id, "user_id": user, "type": kind,
                                        "ts": now - (n - i) * 30_000}  # fmt: skip
            if kind == "follow":
                event["artist_id"] = self.rng.choice(self.ids.artists)
            elif kind in ("impression", "click"):
                event["recommendation_id"] = f"{self.run_id}-r{self.rng.randrange(10**6)}"
                event["experiment"] = LOAD_EXPERIMENT
                event["variant"] = self.rng.choice(("model", "rules"))
            else:
                event["item_id"] = self.rng.choice(self.ids.songs)
            events.append(event)
        return {"events": events}

    def events(self, serial: str | None = None) -> Request:
        """1 to 5 events of one listener (``serial``: a placeholder for wrk's counter)."""
        return self.events_of_listener(serial)[0]

    def events_of_listener(self, serial: str | None = None) -> tuple[Request, str, tuple[str, ...]]:
        """An events request, its listener and its event ids."""
        user = self.event_listener()
        body = self.event_body(user, self.rng.choice((1, 1, 2, 3, 5)), serial)
        ids = tuple(str(event["event_id"]) for event in body["events"])
        request = Request("POST", "/v1/events", json.dumps(body).encode(), self.headers, "events")
        return request, user, ids

    def availability(self) -> Request:
        song = quote(self.rng.choice(self.ids.songs))
        headers = (("x-admin-key", self.stack.admin_key), ("Content-Type", "application/json"))
        return Request("PUT", f"/v1/catalog/items/{song}/availability", b'{"available": true}',
                       headers, "catalog availability")  # fmt: skip


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
    if route == "onboarding":  # a new listener per request
        return [_with_serial_user(make()) for _ in range(n)]
    return [make() for _ in range(n)]


def _with_serial_user(request: Request) -> Request:
    body = json.loads(request.body)
    body["user_id"] = f"{body['user_id']}-{SERIAL}"
    return Request(request.method, request.path, json.dumps(body).encode(), request.headers,
                   request.label)  # fmt: skip


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
        "gateway (`local/gateway.py`: one Python process, `ThreadingHTTPServer`, a thread per "
        "connection, one invocation at a time per function as in a Lambda container, an access "
        "log line per call), the API Gateway proxy event, the handler in that process "
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
    lines += ["", f"![per-route latency and throughput](img/{IMG.name})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_gateway",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--dir", default=".local", help="the running local stack's directory")
    parser.add_argument("--closed-seconds", type=int, default=5)
    parser.add_argument("--open-seconds", type=int, default=8)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    stack = Stack.load(args.dir)
    load_at_start = load_average()
    results = benchmark(stack, args.closed_seconds, args.open_seconds)
    aws_ms = aws_call_ms(stack)
    loads = f"{load_at_start} / {load_average()}"
    plot(results, IMG)
    arguments = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m bench.api_gateway", *arguments])
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
        ),
        args.doc,
    )
    errors = sum(r.closed_errors + r.open_errors for r in results)
    print(f"wrote {args.doc} ({SECTION}) and {IMG}; {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
