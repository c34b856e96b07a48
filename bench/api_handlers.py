"""Benchmark the API's Lambda handlers: ``python -m bench.api_handlers``.

Two figures per function, written into the ``api`` section of docs/benchmarks.md:

- handler time excluding AWS calls: every route's handler is called with API Gateway proxy
  events against moto (in-process) with a batch version of a 3,000-listener world loaded, and the
  real inference server for onboarding; the time botocore spends in each AWS call (from
  ``before-call`` to ``after-call``, which covers moto's work and the HTTP call to the inference
  server) is subtracted from the handler's wall time;
- cold-start share: the import time of the function's handler module in a fresh interpreter
  (median of 5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import DEFAULT_DOC, machine, write_section

SECTION = "api"
IMPORT_RUNS = 5
FUNCTIONS = ("onboarding", "recommendations", "events", "catalog")


def import_ms(function: str) -> float:
    """Median import time of ``lambdas.handlers.<function>`` in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); "
        f"import lambdas.handlers.{function}; print(time.perf_counter() - t)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout) * 1000
        for _ in range(IMPORT_RUNS)
    ]  # fmt: skip
    return statistics.median(runs)


class AwsTimer:
    """Sums the time botocore spends inside AWS calls (before-call to after-call)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started: dict[int, float] = {}

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._before)
        client.meta.events.register("after-call.*.*", self._after)

    def _before(self, context: dict[str, Any], **kwargs: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _after(self, context: dict[str, Any], **kwargs: Any) -> None:
        self.total += time.perf_counter() - context.get("bench_started", time.perf_counter())


def measure(
    call: Callable[[], dict[str, Any]], timer: AwsTimer, repeat: int
) -> tuple[float, float, float]:
    """p50 and p90 of handler time minus AWS time (ms), and the share of AWS time."""
    for _ in range(5):
        call()
    own, aws = [], []
    for _ in range(repeat):
        timer.total = 0.0
        started = time.perf_counter()
        response = call()
        wall = time.perf_counter() - started
        if response["statusCode"] >= 500:
            raise RuntimeError(f"handler failed: {response}")
        own.append((wall - timer.total) * 1000)
        aws.append(timer.total * 1000)
    quantiles = statistics.quantiles(own, n=10)
    return statistics.median(own), quantiles[8], statistics.median(aws)


def handler_times(repeat: int) -> dict[str, tuple[float, float, float]]:
    """Handler time per route, against moto with a small world's lists loaded."""
    import os

    import boto3
    from moto import mock_aws

    from container.serve import command as serve_command
    from lambdas.batch_source import BatchSource
    from lambdas.load import Tables, load_version
    from lambdas.services import services
    from lambdas.tables import TABLES, create_table_request, table
    from local.gateway import LambdaContext, match, proxy_event
    from local.processes import Child

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    py = [sys.executable, "-m"]
    subprocess.run([*py, "training.world", "--users", "3000", "--seed", "11", "--out",
                    str(tmp / "w")], check=True, capture_output=True)  # fmt: skip
    subprocess.run([*py, "training.train", "--data", str(tmp / "w"), "--model-dir",
                    str(tmp / "m"), "--no-progress"], capture_output=True)  # fmt: skip
    batch = ["training.batch", "--data", str(tmp / "w"), "--out", str(tmp / "b"), "--version", "v1"]
    subprocess.run([*py, *batch, "--no-progress"], check=True, capture_output=True)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = Child("inference", serve_command(tmp / "m", port), tmp / "serve.log")
    server.wait_http(f"http://127.0.0.1:{port}/ping", 120)
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "CACHE_SECONDS": "30",
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{port}",
           "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR",
           **{s.env_var: s.physical_name("bench") for s in TABLES}}  # fmt: skip
    os.environ.update(env)
    results: dict[str, tuple[float, float, float]] = {}
    try:
        with mock_aws():
            client = boto3.client("dynamodb")
            for spec in TABLES:
                client.create_table(**create_table_request(spec, "bench"))
            dynamodb = boto3.resource("dynamodb")
            tables = Tables(dynamodb.Table(table("lists").physical_name("bench")),
                            dynamodb.Table(table("state").physical_name("bench")))  # fmt: skip
            load_version(BatchSource(str(tmp / "b" / "v1")), tables, progress=False)
            services.cache_clear()
            svc = services()
            timer = AwsTimer()
            clients = {id(t.meta.client): t.meta.client for t in svc.store.tables.values()}
            for client in [*clients.values(), svc.runtime]:  # each client once
                timer.attach(client)
            import gzip
            import json

            first = next((tmp / "b" / "v1" / "personal").glob("*.gz"))
            with gzip.open(first, "rt") as handle:
                record = json.loads(handle.readline())
            user, song = record["user_id"], record["ids"][0]
            onboarding = {"user_id": "bench-1", "age": 30, "region": "us-tx",
                          "selected_genres": ["Rock", "Country"]}  # fmt: skip
            requests = {
                "POST /v1/onboarding/recommendations": ("onboarding", "POST",
                    "/v1/onboarding/recommendations", "", onboarding),
                "GET /v1/users/{userId}/recommendations": ("recommendations", "GET",
                    f"/v1/users/{user}/recommendations", "limit=20", None),
                "GET /v1/users/{userId}/artists": ("recommendations", "GET",
                    f"/v1/users/{user}/artists", "", None),
                "GET /v1/items/{itemId}/similar": ("recommendations", "GET",
                    f"/v1/items/{song}/similar", "", None),
                "POST /v1/events": ("events", "POST", "/v1/events", "", None),
                "PUT /v1/catalog/items/{itemId}/availability": ("catalog", "PUT",
                    f"/v1/catalog/items/{song}/availability", "", {"available": True}),
            }  # fmt: skip
            counter = iter(range(10**9))
            for label, (function, method, path, query, body) in requests.items():
                module = __import__(f"lambdas.handlers.{function}", fromlist=["lambda_handler"])
                route, params = match(method, path) or (None, {})

                def call(method: Any = method, path: Any = path, query: Any = query,
                         body: Any = body, route: Any = route, params: Any = params,
                         module: Any = module, label: Any = label) -> dict[str, Any]:  # fmt: skip
                    payload = body
                    if label == "POST /v1/events":
                        payload = {"events": [{"event_id": f"b{next(counter)}", "user_id": user,
                                               "type": "play", "item_id": song}]}  # fmt: skip
                    data = None if payload is None else json.dumps(payload).encode()
                    event = proxy_event(route, method, path, query,
                                        {"Content-Type": "application/json"}, data,
                                        params=params)  # fmt: skip
                    return dict(module.lambda_handler(event, LambdaContext("bench")))

                results[label] = measure(call, timer, repeat)
    finally:
        server.stop()
    return results


def markdown(handlers: dict[str, tuple[float, float, float]], imports: dict[str, float]) -> str:
    m = machine()
    lines = [
        "## API handlers",
        "",
        "Command: `python -m bench.api_handlers`.",
        f"Date: {dt.date.today().isoformat()}. Machine: {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory']}, Python {m['python']}, {m['system']}.",
        "",
        "Handler time excluding AWS calls (wall time of the handler minus the time botocore spent "
        "in DynamoDB calls against moto and in the call to the inference server), per route:",
        "",
        "| route | p50 ms | p90 ms | AWS calls, p50 ms |",
        "|---|---:|---:|---:|",
    ]
    for label, (p50, p90, aws) in handlers.items():
        lines.append(f"| `{label}` | {p50:.2f} | {p90:.2f} | {aws:.1f} |")
    lines += ["", "Import time of each function's handler module in a fresh interpreter "
              f"(median of {IMPORT_RUNS}; the cold start's share that is ours):", "",
              "| function | import ms |", "|---|---:|"]  # fmt: skip
    for function, ms in imports.items():
        lines.append(f"| {function} | {ms:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_handlers", description=__doc__)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    args = parser.parse_args(argv)
    imports = {function: import_ms(function) for function in FUNCTIONS}
    handlers = handler_times(args.repeat)
    body = markdown(handlers, imports)
    print(body)
    write_section(SECTION, body, args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
