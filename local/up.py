"""``python -m local.up`` (``make local``): the whole system on this machine.

Dataset (a synthetic world, or ``--data DIR``) → onboarding model → batch lists → local AWS
(moto on 127.0.0.1:4566, or the LocalStack already there) with the tables and bucket of the CDK
stacks → lists loaded → the inference server (127.0.0.1:8080) → the local API Gateway
(127.0.0.1:3000). Runs in the foreground; Ctrl-C stops everything. A second run reuses what is
built unless ``--rebuild``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from container.serve import command as serve_command
from local import aws, build
from local.gateway import Gateway, serve
from local.processes import Child, StartupError, port_answers
from local.stack import PREFIX, Stack

BATCH_VERSION = "local-1"


def curl_examples(stack: Stack) -> str:
    """Ready-to-paste calls of every route."""
    base, key = stack.gateway_url, stack.api_key
    h = f"-H 'x-api-key: {key}' -H 'Content-Type: application/json'"
    onboarding = (
        '{"user_id": "new-1", "age": 24, "gender": "f", "region": "us-tx", '
        '"selected_genres": ["Hip Hop", "R&B"]}'
    )
    event = (
        '{"events": [{"event_id": "e1", "user_id": "new-1", "type": "play", "item_id": "s00001"}]}'
    )
    return "\n".join(
        [
            f"curl -s {h} -X POST {base}/v1/onboarding/recommendations -d '{onboarding}'",
            f"curl -s {h} '{base}/v1/users/new-1/recommendations?kind=songs&limit=5'",
            f"curl -s {h} '{base}/v1/users/new-1/artists?limit=5'",
            f"curl -s {h} '{base}/v1/items/s00001/similar?limit=5'",
            f"curl -s {h} '{base}/v1/artists/a00001/similar?limit=5'",
            f"curl -s {h} -X POST {base}/v1/events -d '{event}'",
            f"curl -s -H 'x-admin-key: {stack.admin_key}' -H 'Content-Type: application/json' "
            f"-X PUT {base}/v1/catalog/items/s00001/availability -d '{{\"available\": false}}'",
        ]
    )


def start_model_server(stack: Stack, model_dir: Path) -> Child:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    child = Child(
        "inference server",
        serve_command(model_dir, stack.model_port, workers=1),
        stack.dir / "logs" / "inference.log",
        env,
    )
    child.wait_http(f"{stack.model_url}/ping", 120)
    return child


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def _write_pids(stack: Stack, children: list[Child]) -> None:
    """The children's process ids (for operators and the fault tests)."""
    pids = {child.name: child.process.pid for child in children}
    (stack.dir / "pids.json").write_text(json.dumps(pids) + "\n")


def deployed_model(stack: Stack) -> Path | None:
    """The model the local pipeline deployed last, if any."""
    if not stack.deploy_file.is_file():
        return None
    model_dir = Path(json.loads(stack.deploy_file.read_text())["model_dir"])
    return model_dir if model_dir.is_dir() else None


def redeploy(stack: Stack, server: Child) -> Child:
    """Replace the inference server by one serving the newly deployed model. The port is free
    for a few seconds in between: onboarding answers with the rule meanwhile (its fallback)."""
    model_dir = deployed_model(stack)
    if model_dir is None:
        return server
    server.stop()
    print(f"deploying {model_dir} ...", flush=True)
    replacement = start_model_server(stack, model_dir)
    print(f"deployed {model_dir}", flush=True)
    return replacement


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.up", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=".local", help="where everything is built")
    parser.add_argument(
        "--data",
        default=os.environ.get("DATA") or None,
        help="a dataset (or a raw MovieLens directory) instead of a world",
    )
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="rebuild data, model and lists")
    parser.add_argument("--gateway-port", type=int, default=3000)
    parser.add_argument("--model-port", type=int, default=8080)
    parser.add_argument("--aws-port", type=int, default=4566)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack = Stack(args.dir, args.gateway_port, args.model_port, args.aws_port)
    for name, port in (("gateway", stack.gateway_port), ("inference server", stack.model_port)):
        if port_answers("127.0.0.1", port):
            print(
                f"port {port} ({name}) is taken: is a local stack already running?", file=sys.stderr
            )
            return 2
    started = time.monotonic()
    children: list[Child] = []
    # Ctrl-C and SIGTERM stop everything, at any step (also when started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with build.step("dataset"):
            data = build.dataset(stack, args.data, args.users, args.seed, args.rebuild)
        with build.step("onboarding model"):
            model_dir = stack.dir / "model"
            if not build.model(data, model_dir, args.rebuild):
                print(
                    "  warning: the model did not pass the quality gate; serving it locally anyway"
                )
        with build.step("batch lists"):
            version_dir = build.batch(data, stack.dir / "batch", BATCH_VERSION, args.rebuild)
        with build.step("local AWS"):
            moto, kind = aws.start(stack.dir / "logs" / "aws.log", stack.aws_port)
            if moto:
                children.append(moto)
            print(f"  using {kind} at {stack.aws_url}")
            aws.ensure_resources(PREFIX, stack.bucket, stack.aws_url)
        with build.step("loading the lists"):
            build.load(stack, version_dir)
        with build.step("inference server"):
            model_dir = deployed_model(stack) or model_dir
            server = start_model_server(stack, model_dir)
            children.append(server)
            deployed = _mtime(stack.deploy_file)
            _write_pids(stack, children)
        os.environ.update(stack.handler_env())
        gateway = serve(Gateway(stack.api_key, stack.admin_key), port=stack.gateway_port)
        threading.Thread(target=gateway.serve_forever, daemon=True).start()
        stack.save()
        print(f"\nready in {time.monotonic() - started:.0f} s: API at {stack.gateway_url} "
              f"(x-api-key: {stack.api_key}); Ctrl-C stops everything.\n")  # fmt: skip
        print(curl_examples(stack), flush=True)
        while True:
            if any(not child.alive() for child in children):
                dead = [c.name for c in children if not c.alive()]
                print(f"stopped: {', '.join(dead)} exited (see {stack.dir}/logs)", file=sys.stderr)
                return 1
            if _mtime(stack.deploy_file) != deployed:  # `make retrain` deployed a new model
                deployed = _mtime(stack.deploy_file)
                children.remove(server)
                server = redeploy(stack, server)
                children.append(server)
                _write_pids(stack, children)
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    except (build.BuildError, StartupError) as exc:
        print(f"make local: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            child.stop()
        (stack.dir / "stack.json").unlink(missing_ok=True)
        print("local stack stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
