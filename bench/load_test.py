"""The load test: ``python -m bench.load_test [--minutes 5] [--rate R] [--dir .local]``.

Sustained mixed traffic against a running local stack (``python -m local.up``): onboarding,
personal recommendations, similar songs and artists and events in a fixed mix, real ids of the
loaded data, realistic event bodies (sessions of 1 to 5 plays, skips, likes, follows,
impressions and clicks), open loop at ``--rate`` requests per second (:mod:`bench.loadgen`),
after measuring the gateway's closed-loop maximum on the same mix with wrk; the rate defaults to
half of that maximum (as the inference benchmark's latency runs do). The local stack's moto
server (:mod:`local.moto_server`) keeps an event's transaction as cheap with thousands of
events stored as with none, so the rate can last (plain moto copied the whole events table for
each, and a load test stalled within minutes).
Bounded in requests (rate × duration) and in time (what has not answered 60 s after the end
fails). Reports non-2xx answers per route, latency percentiles per 10-s window (plotted to
docs/img/load_latency.png) and checks that nothing was lost: the events stored in the events
table equal the events posted with a 2xx answer. Exits 1 on any error or lost event; writes the
``load`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.api_gateway import (
    SERIAL,
    closed_loop,
    events_table_items,
    find_ids,
    load_average,
    machine_line,
    routes,
    table_name,
)
from bench.loadgen import Request, RunResult, run_requests
from bench.report import DEFAULT_DOC, REPO_ROOT, write_section
from bench.traffic import Ids, Traffic
from lambdas.store import keys
from local import aws
from local.stack import Stack

SECTION = "load"
IMG = REPO_ROOT / "docs" / "img" / "load_latency.png"
WINDOW_S = 10.0
GRACE_S = 60.0  # after the last request is issued, how long answers are waited for
DEFAULT_RATE = 5.0  # requests per second, when the maximum is not measured (--no-max)
TIMEOUT_S = 29.0  # per request: API Gateway's integration timeout
# share of requests per route: listeners open the app (recommendations), browse (similar),
# play (events, one request per session of 1 to 5 events), a few are new (onboarding)
MIX = {
    "onboarding": 6,
    "personal songs": 22,
    "personal artists": 6,
    "user artists": 6,
    "similar items": 14,
    "similar artists": 6,
    "events": 40,
}


@dataclass
class Plan:
    """The run's requests in order, and per events request its listener and event ids."""

    requests: list[Request] = field(default_factory=list)
    events: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


def plan(traffic: Traffic, total: int, mix: dict[str, int] = MIX, seed: int = 7) -> Plan:
    """``total`` requests drawn from ``mix``, every route among the first ones."""
    rng = random.Random(seed)
    makers = routes(traffic)
    first = rng.sample(list(mix), len(mix))[:total]
    chosen = first + rng.choices(list(mix), list(mix.values()), k=total - len(first))
    out = Plan()
    for i, route in enumerate(chosen):
        if route == "events":
            request, user, ids = traffic.events_of_listener()
            out.events[i] = (user, ids)
        else:
            request = makers[route]()
        out.requests.append(request)
    return out


def ok(statuses: np.ndarray) -> np.ndarray:
    return (statuses >= 200) & (statuses < 300)


def errors_by_route(result: RunResult) -> dict[str, dict[int, int]]:
    """Non-2xx answers (0: no answer) per route."""
    found: dict[str, dict[int, int]] = {}
    for label, status in zip(result.labels, result.statuses.tolist(), strict=True):
        if not 200 <= status < 300:
            counts = found.setdefault(label, {})
            counts[status] = counts.get(status, 0) + 1
    return found


def accepted_events(result: RunResult, planned: Plan) -> set[str]:
    """The ids of the events posted with a 2xx answer."""
    good = ok(result.statuses)
    return {event_id for i, (_, ids) in planned.events.items() if good[i] for event_id in ids}


def stored_events(stack: Stack, users: list[str], run_id: str) -> set[str]:
    """The ids of this run's events in the events table, over ``users`` (a query each)."""
    client = aws.client("dynamodb", stack.aws_url)
    table = table_name("events")

    def stored(user: str) -> set[str]:
        found: set[str] = set()
        kwargs = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "begins_with(event_id, :run)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.user_events_pk(user)},
                ":run": {"S": f"{run_id}-"},
            },
            "ProjectionExpression": "event_id",
        }
        while True:
            page = client.query(**kwargs)
            found.update(item["event_id"]["S"] for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    with ThreadPoolExecutor(4) as pool:
        return set().union(*pool.map(stored, users))


@dataclass(frozen=True)
class Window:
    start_s: float
    requests: int
    completed_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int


def windows(result: RunResult, width: float = WINDOW_S) -> list[Window]:
    """Per ``width`` seconds of issue time: percentiles of the requests issued then, errors,
    and the throughput (answers completed in that window per second)."""
    answered = ~np.isnan(result.latencies_ms)
    done_s = result.issued_s + np.nan_to_num(result.latencies_ms) / 1000
    good = ok(result.statuses)
    out = []
    for k in range(math.ceil(result.seconds / width)):
        lo, hi = k * width, (k + 1) * width
        issued = (result.issued_s >= lo) & (result.issued_s < hi)
        latencies = result.latencies_ms[issued & answered]
        if not len(latencies):
            continue
        p50, p90, p99 = (float(v) for v in np.percentile(latencies, (50, 90, 99)))
        completed = int(np.sum(answered & (done_s >= lo) & (done_s < hi)))
        out.append(Window(lo, int(issued.sum()), completed / width, p50, p90, p99,
                          int(np.sum(issued & ~good))))  # fmt: skip
    return out


@dataclass
class Outcome:
    """What a load run measured."""

    result: RunResult
    rate: float
    errors: dict[str, dict[int, int]]
    accepted: int  # events posted with a 2xx answer
    stored: int  # this run's events in the events table
    lost: int  # accepted but not stored
    events_table: tuple[int, int] = (0, 0)  # items at the start and at the end

    @property
    def passed(self) -> bool:
        return not self.errors and not self.lost and self.accepted == self.stored


def run(stack: Stack, traffic: Traffic, rate: float, seconds: float, seed: int = 7) -> Outcome:
    """Mixed traffic at ``rate`` for ``seconds``; then count this run's stored events."""
    planned = plan(traffic, int(rate * seconds), seed=seed)
    items_before = events_table_items(stack)
    result = run_requests(stack.gateway_url, planned.requests, rate, seconds,
                          timeout_s=TIMEOUT_S, deadline_s=seconds + GRACE_S)  # fmt: skip
    accepted = accepted_events(result, planned)
    listeners = sorted({user for user, _ in planned.events.values()})
    stored = stored_events(stack, listeners, traffic.run_id)
    items = (items_before, events_table_items(stack))
    return Outcome(result, rate, errors_by_route(result), len(accepted), len(stored),
                   len(accepted - stored), items)  # fmt: skip


def mixed_max(stack: Stack, ids: Ids, seconds: int = 15) -> float:
    """The gateway's closed-loop throughput on the mix (wrk, after 3 s of warm-up; events of
    a run id of its own, not counted as the load run's)."""
    traffic = Traffic(stack, ids, seed=1)
    planned = plan(traffic, 400, seed=1)
    requests = [traffic.events(serial=SERIAL) if r.label == "events" else r
                for r in planned.requests]  # fmt: skip
    closed_loop(stack.gateway_url, requests, 3, f"{traffic.run_id}-w")
    return closed_loop(stack.gateway_url, requests, seconds, f"{traffic.run_id}-m").rps


def plot(found: list[Window], rate: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [w.start_s / 60 for w in found]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for label, attr in (("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms")):
        top.plot(t, [getattr(w, attr) for w in found], marker=".", label=label)
    top.set_yscale("log")
    top.set_ylabel("latency (ms, log), per 10 s")
    top.grid(alpha=0.3, which="both")
    top.legend(fontsize=8)
    bottom.plot(t, [w.completed_rps for w in found], marker=".", label="answered")
    bottom.axhline(rate, color="gray", linestyle="--", label=f"offered ({rate:g} req/s)")
    bad = [(x, w.errors) for x, w in zip(t, found, strict=True) if w.errors]
    if bad:
        bottom.scatter([x for x, _ in bad], [0] * len(bad), color="red", label="errors")
    bottom.set_ylabel("req/s")
    bottom.set_xlabel("minutes")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8)
    fig.suptitle("Mixed traffic through the local gateway, over time")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(
    outcome: Outcome, command: str, minutes: float, max_rps: float | None, loads: str
) -> str:
    result = outcome.result
    answered = ~np.isnan(result.latencies_ms)
    p50, p90, p99 = (float(v) for v in np.percentile(result.latencies_ms[answered], (50, 90, 99)))
    errors = sum(sum(c.values()) for c in outcome.errors.values())
    found = windows(result)
    worst = max(found, key=lambda w: w.p99_ms)
    max_note = f" (the gateway's closed-loop maximum on this mix: {max_rps:.0f} req/s)"
    if not max_rps:
        max_note = ""
    lines = [
        "## Load test",
        "",
        f"Command: `{command}` (against `python -m local.up`)  ",
        f"Machine: {machine_line()}; load average (1 min) at the start and the end: {loads} "
        "(the machine is shared)  ",
        f"Date: {dt.date.today().isoformat()}",
        "",
        f"Open loop at {outcome.rate:g} req/s for {minutes:g} min{max_note}, through the "
        "local gateway (one Python process; see the api-gateway section for "
        "what that includes). Mix: "
        + ", ".join(f"{route} {share} %" for route, share in MIX.items())
        + "; real ids of the loaded version; each events request is one listener's session "
        "of 1 to 5 plays, skips, likes, follows, impressions and clicks. Every event is one "
        "TransactWriteItems; the stack's moto server (`local/moto_server.py`) copies only the "
        "items a transaction writes, so the events route costs the same however many events "
        "are stored (plain moto copies the whole table for each, and a run at half the maximum "
        "stalled within two minutes). A request counts as failed when it gets no answer within "
        f"{TIMEOUT_S:g} s (API Gateway's limit), waiting for a connection included.",
        "",
        f"- requests: {len(result.statuses):,} in {result.seconds:.0f} s "
        f"({len(result.statuses) / result.seconds:.1f} req/s); non-2xx: {errors}",
        f"- latency over the whole run: p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms; "
        f"worst 10-s window p99 {worst.p99_ms:.1f} ms (at {worst.start_s / 60:.1f} min)",
        f"- events posted with a 2xx: {outcome.accepted:,}; stored in the events table: "
        f"{outcome.stored:,}; accepted but not stored: {outcome.lost}; items in the "
        f"events table at the start and the end: {outcome.events_table[0]:,} and "
        f"{outcome.events_table[1]:,}",
        "",
        "| route | requests | non-2xx | p50 ms | p90 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for route in MIX:
        mask = result.mask(route) & answered
        if not mask.any():
            continue
        q = np.percentile(result.latencies_ms[mask], (50, 90, 99))
        bad = sum(outcome.errors.get(route, {}).values())
        lines.append(f"| {route} | {int(result.mask(route).sum()):,} | {bad} | "
                     f"{q[0]:.1f} | {q[1]:.1f} | {q[2]:.1f} |")  # fmt: skip
    lines += ["", f"![latency and throughput over time](img/{IMG.name})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_test",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--dir", default=".local", help="the running local stack's directory")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, help="req/s (default: half the measured maximum)")
    parser.add_argument("--no-max", action="store_true", help="skip measuring the maximum")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    stack = Stack.load(args.dir)
    load_at_start = load_average()
    ids = find_ids(stack)
    max_rps = None if args.no_max else mixed_max(stack, ids)
    if max_rps is not None:
        print(f"closed-loop maximum on the mix: {max_rps:.0f} req/s", flush=True)
    started = time.monotonic()
    traffic = Traffic(stack, ids, seed=args.seed)
    rate = args.rate or (max_rps / 2 if max_rps else DEFAULT_RATE)
    print(f"offering {rate:g} req/s for {args.minutes:g} min", flush=True)
    outcome = run(stack, traffic, rate, args.minutes * 60, args.seed)
    print(f"ran {time.monotonic() - started:.0f} s", flush=True)
    for w in windows(outcome.result):
        print(f"{w.start_s:5.0f} s  {w.completed_rps:5.1f} req/s  p50 {w.p50_ms:7.1f}  "
              f"p90 {w.p90_ms:7.1f}  p99 {w.p99_ms:7.1f} ms  errors {w.errors}")  # fmt: skip
    loads = f"{load_at_start} / {load_average()}"
    plot(windows(outcome.result), rate, IMG)
    arguments = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m bench.load_test", *arguments])
    write_section(SECTION, markdown(outcome, command, args.minutes, max_rps, loads), args.doc)
    print(f"non-2xx per route: {outcome.errors or 'none'}; events accepted {outcome.accepted}, "
          f"stored {outcome.stored}, lost {outcome.lost}")  # fmt: skip
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
