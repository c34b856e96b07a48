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


class Answers(BaseHTTPRequestHandler):
    """200 on /ok (echoing the x-tag header), 503 on /bad, 2 s late on /slow."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path == "/slow":
            time.sleep(2)
        status = 503 if self.path == "/bad" else 200
        body = (self.headers.get("x-tag") or self.command).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 64  # the generator opens its connections at once


@pytest.fixture
def url() -> Iterator[str]:
    server = Server(("127.0.0.1", 0), Answers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
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


def test_a_run_is_bounded_in_time(url: str) -> None:
    requests = [Request("GET", "/slow", label="slow")]
    started = time.monotonic()
    result = run_requests(url, requests, rate=20, seconds=1, connections=2, deadline_s=1.5)
    assert time.monotonic() - started < 4
    assert result.status_counts()[0] >= 10  # not answered in time: failed, not waited for
    assert np.isnan(result.latencies_ms).sum() == result.status_counts()[0]


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
    traffic = Traffic(Stack(), ids, run_id="t", new_listeners_only=True)
    planned = load.plan(traffic, 2000)
    labels = [r.label for r in planned.requests]
    assert set(labels[: len(load.MIX)]) == set(load.MIX)
    assert abs(labels.count("events") / 2000 - load.MIX["events"] / 100) < 0.04
    users = {user for user, _ in planned.events.values()}
    assert users
    assert all(user.startswith("t-u") for user in users)  # this run's listeners only
    ids_posted = [i for _, batch in planned.events.values() for i in batch]
    assert len(ids_posted) == len(set(ids_posted))
