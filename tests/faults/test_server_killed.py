"""Fault 5: the inference server killed under load. One of two workers SIGKILLed while requests
run: the requests it held fail, uvicorn starts a new worker, the other keeps answering. Then the
whole server killed while the onboarding route is called: it answers with the rule, no 5xx."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.handlers import onboarding
from tests.container.conftest import Server, running_server
from tests.faults.conftest import ANSWERS, ONBOARDING, call, user_with

LISTENER = json.dumps(
    {"age": 24, "gender": "f", "region": "us-tx", "selected_genres": ["Hip Hop", "R&B"]}
).encode()
CLIENTS = 4  # concurrent callers
RESTART_S = 60.0  # how long uvicorn may take to replace a worker on this shared machine


def workers(master: int) -> list[int]:
    """The uvicorn worker processes of ``master`` (children started by multiprocessing)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == master and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _invoke(url: str) -> str:
    """One invocation: ``200``, another status, or the kind of connection error."""
    request = urllib.request.Request(url + "/invocations", data=LISTENER, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except (OSError, ValueError) as exc:  # reset, refused, incomplete read
        return type(exc).__name__


def _load(url: str, stop: threading.Event, outcomes: Counter[str]) -> list[threading.Thread]:
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            outcome = _invoke(url)
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads


@pytest.fixture(scope="module")
def server(trained_model_dir: Path) -> Iterator[Server]:
    """One inference server with two workers: one of them is killed first, then all of it."""
    with running_server(trained_model_dir, workers=2) as running:
        yield running


def test_a_killed_worker_costs_its_requests_in_flight_and_is_replaced(server):
    before = workers(server.process.pid)
    assert len(before) == 2
    stop, outcomes = threading.Event(), Counter[str]()
    threads = _load(server.url, stop, outcomes)
    time.sleep(1.0)
    os.kill(before[0], signal.SIGKILL)
    killed_at = time.monotonic()
    replaced: list[int] = []
    while time.monotonic() - killed_at < RESTART_S:
        replaced = [pid for pid in workers(server.process.pid) if pid not in before]
        if replaced:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # load on the new pair of workers
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    during = dict(outcomes)
    after = Counter(_invoke(server.url) for _ in range(20))
    print(f"worker killed under load ({CLIENTS} clients): {during}; "
          f"replaced in {time.monotonic() - killed_at:.1f} s; then {dict(after)}")  # fmt: skip
    assert replaced, "uvicorn did not start a new worker"
    failed = sum(n for outcome, n in during.items() if outcome != "200")
    assert failed <= CLIENTS  # at most the requests the killed worker held
    assert not any(outcome.startswith("5") for outcome in during)  # never an error answer
    assert after == {"200": 20}


def test_the_whole_server_killed_under_load_onboarding_answers_with_the_rule(
    api, monkeypatch, server
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    user = user_with("model", "killed")
    sources: Counter[tuple[int, str]] = Counter()
    for i in range(12):
        if i == 4:  # the master and its workers, at once: nothing left to answer
            for pid in [*workers(server.process.pid), server.process.pid]:
                os.kill(pid, signal.SIGKILL)
        status, body = call(onboarding, "POST", ONBOARDING, {**ANSWERS, "user_id": user})
        sources[(status, body.get("source", body.get("code", "")))] += 1
    print(f"onboarding while the inference server was killed: {dict(sources)}")
    assert set(sources) <= {(200, "model"), (200, "fallback")}
    assert sources[(200, "model")] >= 1
    assert sources[(200, "fallback")] >= 8  # every call after the kill
