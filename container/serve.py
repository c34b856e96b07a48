"""Start the inference server: ``python -m container.serve --model-dir DIR [--port P]``.

This is what the image's ``serve`` command runs. Settings, flags first, then SageMaker's
environment: the port from ``SAGEMAKER_BIND_TO_PORT`` (default 8080), the number of worker
processes from ``SAGEMAKER_MODEL_SERVER_WORKERS`` (default one per CPU), the model from
``/opt/ml/model``. Each worker loads the model once at start; SIGTERM drains and stops them.

The server's own log lines (logger ``container``, INFO and above: a model that fails to load,
each rare answer value once) go to stderr; uvicorn's follow ``--log-level``. The rare-value
metric goes to stdout as EMF lines (:mod:`container.metrics`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from container.app import InferenceApp
from container.coalescing import HttpProtocol

MODEL_DIR_ENV = "MUSICREC_MODEL_DIR"
DEFAULT_MODEL_DIR = "/opt/ml/model"


def create_app() -> InferenceApp:
    """The app factory each worker calls; the model directory comes through the environment."""
    from container.metrics import RareValueMetrics
    from container.predictor import load_predictor  # imported here: workers load, not the master

    configure_logging()
    model_dir = os.environ.get(MODEL_DIR_ENV, DEFAULT_MODEL_DIR)
    metrics = RareValueMetrics()
    return InferenceApp(lambda: load_predictor(model_dir, metrics), metrics)


def configure_logging() -> None:
    """Send the ``container`` loggers' INFO and above to stderr, once per process (uvicorn
    configures only its own loggers, and Python's fallback shows nothing below WARNING)."""
    logger = logging.getLogger("container")
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def default_workers() -> int:
    value = os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS")
    if value:
        return max(1, int(value))
    return os.cpu_count() or 1


def command(
    model_dir: str | os.PathLike[str],
    port: int,
    workers: int = 1,
    python: str = sys.executable,
    host: str = "127.0.0.1",
) -> list[str]:
    """The command line that starts this server as a process (for tests, benchmarks, local)."""
    return [
        python, "-m", "container.serve", "--model-dir", str(model_dir),
        "--host", host, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=os.environ.get(MODEL_DIR_ENV, DEFAULT_MODEL_DIR))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: SAGEMAKER_MODEL_SERVER_WORKERS or CPUs)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "warning").lower())
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.path.isdir(args.model_dir):
        print(f"serve: model directory {args.model_dir} does not exist", file=sys.stderr)
        return 2
    os.environ[MODEL_DIR_ENV] = os.path.abspath(args.model_dir)
    uvicorn.run(
        "container.serve:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers or default_workers(),
        http=HttpProtocol,  # httptools, one write per response
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
