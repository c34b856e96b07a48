"""The inference benchmark's servers and report: the FastAPI reference answers like the Flask one
as a real process, and its figures appear beside Flask's (no timing is asserted)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import inference
from bench.inference import LISTENER, Run, serving

BATCH = {"instances": [LISTENER, {}], "top_k": 5}


def request(url: str, path: str, body: Any = None, content_type: str = "application/json"):
    """``(status, content type, body bytes)`` of one GET (no body) or POST (JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method="GET" if data is None else "POST")
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.fixture(scope="module")
def fastapi_url(trained_model_dir: Path) -> Iterator[str]:
    with serving("fastapi", trained_model_dir, workers=2) as url:
        yield url


@pytest.fixture(scope="module")
def flask_url(trained_model_dir: Path) -> Iterator[str]:
    with serving("flask", trained_model_dir, workers=2) as url:
        yield url


def _assert_ranked(result: dict, k: int) -> None:
    scores = [g["score"] for g in result["genres"]]
    assert len(scores) == k
    assert scores == sorted(scores, reverse=True)
    assert len({g["genre"] for g in result["genres"]}) == k


def test_fastapi_reference_pings(fastapi_url: str) -> None:
    assert request(fastapi_url, "/ping")[:2] == (200, "application/json")


def test_fastapi_reference_ranks_one_instance_and_a_batch(fastapi_url: str) -> None:
    status, content_type, body = request(fastapi_url, "/invocations", LISTENER)
    assert (status, content_type) == (200, "application/json")
    single = json.loads(body)
    _assert_ranked(single, 3)
    assert single["model_version"]

    status, _, body = request(fastapi_url, "/invocations", BATCH)
    batch = json.loads(body)
    assert status == 200
    assert len(batch["predictions"]) == 2
    for result in batch["predictions"]:
        _assert_ranked(result, 5)
    assert batch["model_version"] == single["model_version"]


def test_fastapi_reference_refuses_what_flask_refuses(fastapi_url: str, flask_url: str) -> None:
    fastapi, flask = (
        request(url, "/invocations", LISTENER, "text/csv") for url in (fastapi_url, flask_url)
    )
    assert fastapi[0] == flask[0] == 415
    assert fastapi[2] == flask[2] == b"This predictor only supports JSON data"


@pytest.mark.parametrize("doc", [LISTENER, {**LISTENER, "top_k": 2}, BATCH, {}])
def test_both_references_answer_the_same_json(fastapi_url: str, flask_url: str, doc) -> None:
    fastapi, flask = (request(url, "/invocations", doc) for url in (fastapi_url, flask_url))
    assert fastapi[:2] == flask[:2] == (200, "application/json")
    assert json.loads(fastapi[2]) == json.loads(flask[2])


def test_the_fastapi_reference_runs_as_many_workers_as_flask() -> None:
    fastapi = inference.server_command("fastapi", Path("m"), 8082, 3)
    flask = inference.server_command("flask", Path("m"), 8081, 3)
    assert fastapi[fastapi.index("--workers") + 1] == flask[flask.index("-w") + 1] == "3"
    assert "bench.reference_fastapi:create_app" in fastapi


def _run(server: str, workers: int, max_rps: float, same: dict | None = None) -> Run:
    latencies = np.linspace(0.5, 3.0, 200)
    sweep = {c: max_rps * (1 + c / 64) for c in inference.CONCURRENCY}
    return Run(server, workers, max_rps, max_rps / 2, max_rps / 2, 1.0, 1.5, 2.0, 0, latencies,
               sweep, same or {})  # fmt: skip


@pytest.fixture
def runs() -> list[Run]:
    return [
        _run("flask", 1, 1000),
        _run("fastapi", 1, 2000),
        _run("ours", 1, 6000, {"flask": (500, 0.4, 0.9), "fastapi": (1000, 0.5, 1.1)}),
    ]


def test_the_section_puts_fastapi_beside_flask(runs: list[Run]) -> None:
    base = {"booster_predict_us": 37, "encode_us": 2.7, "predictor_us": 33, "trees": 1240}
    text = inference.markdown(runs, base, Path("model-3000"), "python -m bench.inference", 1)
    assert "| Flask + gunicorn sync | 1 | 1,000 | 1,000 |" in text
    assert "| FastAPI + uvicorn | 1 | 2,000 | 2,000 |" in text
    assert "- ours vs Flask, 1 worker(s): 6.00× the throughput; under the same traffic " in text
    assert "(500 req/s, half of Flask's maximum) p99 0.90 ms against 2.00 ms" in text
    assert "- ours vs FastAPI, 1 worker(s): 3.00× the throughput; under the same traffic " in text
    assert "(1,000 req/s, half of FastAPI's maximum) p99 1.10 ms against 2.00 ms" in text
    concurrency = [line for line in inference.concurrency_table(runs) if "| 1 |" in line]
    assert [line.split(" | ")[0] for line in concurrency] == [
        "| Flask + gunicorn sync",
        "| FastAPI + uvicorn",
        "| ours (uvicorn + ASGI)",
    ]
    assert "closed loop, 1 s per point" in text


def test_the_plots_are_written_with_the_fastapi_runs(runs: list[Run], tmp_path: Path) -> None:
    inference.plot(runs, tmp_path / "latency.png")
    inference.plot_concurrency(runs, tmp_path / "concurrency.png")
    for name in ("latency.png", "concurrency.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
