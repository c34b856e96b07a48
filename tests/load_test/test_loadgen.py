"""The open-loop generator's mixed runs and the load test's accounting, against a tiny server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from bench import load_test as load
from bench.loadgen import Request, RunResult, run_load, run_requests

SLOW_S = 8.0  # how late /slow answers


class Answers(BaseHTTPRequestHandler):
    """200 on /ok (echoing the x-tag header), 503 on /bad, ``SLOW_S`` late on /slow."""

    protocol_version = "HTTP/1.1"
    server: Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.count("received")
        if self.path == "/slow":
            time.sleep(SLOW_S)
        status = 503 if self.path == "/bad" else 200
        body = (self.headers.get("x-tag") or self.command).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client is gone (it gave up waiting)
            return
        self.server.count("answered")

    do_GET = do_POST = do_PUT = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    """Counts the requests it received and the answers it sent."""

    request_queue_size = 64  # the generator opens its connections at once
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Answers)
        self.counts = {"received": 0, "answered": 0}
        self._lock = threading.Lock()

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()


@pytest.fixture
def url(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()


def test_mixed_requests_are_labelled_timed_and_counted(url: str) -> None:
    requests = [
        Request("GET", "/ok", headers=(("x-tag", "a"),), label="ok"),
        Request("PUT", "/ok", b"{}", label="put"),
        Request("POST", "/bad", b"{}", label="bad"),
    ]
    result = run_requests(url, requests, rate=60, seconds=1)
    assert result.labels == ["ok", "put", "bad"] * 20
    assert result.status_counts() == {200: 40, 503: 20}
    assert result.status_counts("bad") == {503: 20}
    assert np.all(np.diff(result.issued_s) > 0)
    assert not np.isnan(result.latencies_ms).any()
    assert load.errors_by_route(result) == {"bad": {503: 20}}


def test_a_run_stops_waiting_at_its_deadline(server: Server, url: str) -> None:
    # 20 requests over 1 s on 2 connections, a deadline 1.5 s after the start, and a server
    # that answers each request SLOW_S after it arrives: no answer can come before the deadline.
    requests = [Request("GET", "/slow", label="slow")]
    result = run_requests(
        url, requests, rate=20, seconds=1, connections=2, deadline_s=1.5, timeout_s=60
    )
    answered_by_then = server.counts["answered"]
    assert server.counts["received"] >= 2  # one on each connection: the run did send them
    # Every request is a failure without a latency: abandoned at the deadline (waiting for
    # the answers would have given 200s, a per-request timeout would have given latencies).
    assert result.status_counts() == {0: 20}
    assert np.isnan(result.latencies_ms).all()
    # Stopping at the deadline is the behaviour under test, and its outward sign is time: the
    # run returned before the server sent its first answer, SLOW_S (5 times the deadline)
    # after the first request arrived. A slow machine stays far below it; a run that waited
    # for answers cannot.
    assert answered_by_then == 0


def test_the_single_post_run_still_works(url: str) -> None:
    result = run_load(url, "/ok", b"{}", rate=50, seconds=0.5)
    assert result.statuses == {200: 25}
    assert len(result.latencies_ms) == 25


def test_windows_and_accepted_events() -> None:
    issued = np.array([0.5, 1.0, 12.0, 13.0])
    result = RunResult(["events", "events", "events", "similar items"], issued,
                       np.array([10.0, 20.0, np.nan, 5.0]), np.array([200, 200, 0, 200]),
                       seconds=20.0)  # fmt: skip
    planned = load.Plan(events={0: ("u1", ("e1", "e2")), 1: ("u2", ("e3",)), 2: ("u1", ("e4",))})
    assert load.accepted_events(result, planned) == {"e1", "e2", "e3"}
    first, second = load.windows(result)
    assert (first.requests, first.errors, first.completed_rps) == (2, 0, 0.2)
    assert (second.requests, second.errors, second.p50_ms) == (2, 1, 5.0)


def test_a_plan_has_every_route_of_the_mix_in_its_share() -> None:
    from bench.traffic import Ids, Traffic
    from local.stack import Stack

    ids = Ids(("u1", "u2"), ("s1", "s2"), ("a1",), (("us-tx", ("Rock",)),))
    traffic = Traffic(Stack(), ids, run_id="t", new_listeners_only=True,
                      credentials=lambda user: {"Authorization": f"token-of-{user}"})  # fmt: skip
    planned = load.plan(traffic, 2000)
    for request in planned.requests[:50]:  # a request naming a listener carries their token
        token = dict(request.headers)["Authorization"].removeprefix("token-of-")
        if request.label != "similar artists":  # names no listener: any listener's token
            assert token in request.path or token.encode() in (request.body or b"")
    labels = [r.label for r in planned.requests]
    assert set(labels[: len(load.MIX)]) == set(load.MIX)
    assert abs(labels.count("events") / 2000 - load.MIX["events"] / 100) < 0.04
    users = {user for user, _ in planned.events.values()}
    assert users
    assert all(user.startswith("t-u") for user in users)  # this run's listeners only
    ids_posted = [i for _, batch in planned.events.values() for i in batch]
    assert len(ids_posted) == len(set(ids_posted))
