"""``python -m local.up`` (``make local``): the whole system on this machine.

Dataset (a synthetic world, or ``--data DIR``) → onboarding model → batch lists → local AWS
(moto on 127.0.0.1:4566, or the LocalStack already there) with the tables and bucket of the CDK
stacks → lists loaded → the inference server (127.0.0.1:8080) → the local API Gateway
(127.0.0.1:3000), and the scheduled functions on their schedules (:mod:`local.schedules`). Runs
in the foreground; Ctrl-C stops everything. A second run reuses what is built unless
``--rebuild``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from container.serve import command as serve_command
from lambdas.config import ACCESS_MODES, OPERATOR_ISSUER_ENV, AdminSettings
from local import aws, aws_calls, build, cognito, deployment, examples, schedules
from local import metrics as local_metrics
from local.console import ConsoleSite
from local.console import config as console_config
from local.gateway import Gateway, GatewayServer, serve
from local.processes import Child, StartupError, port_answers
from local.stack import PREFIX, Stack

MODEL_STARTUP_S = 120
MAX_RESTARTS, RESTART_WINDOW_S = 3, 300.0  # an inference server that keeps dying stops the stack


def launch_model_server(stack: Stack, model_dir: Path) -> Child:
    """Start the inference server on ``model_dir`` (ready once :func:`wait_ready` returns)."""
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    return Child(
        "inference server",
        serve_command(model_dir, stack.model_port, workers=1),
        stack.dir / "logs" / "inference.log",
        env,
    )


def wait_ready(stack: Stack, server: Child) -> Child:
    server.wait_http(f"{stack.model_url}/ping", MODEL_STARTUP_S)
    return server


def _write_pids(stack: Stack, children: list[Child]) -> None:
    """The children's process ids (for operators and the fault tests)."""
    pids = {child.name: child.process.pid for child in children}
    (stack.dir / "pids.json").write_text(json.dumps(pids) + "\n")


def starting_point(
    stack: Stack, data: Path, model_dir: Path, version_dir: Path, rebuild: bool
) -> tuple[Path, Path]:
    """The model and lists to serve: what ``make retrain`` deployed last, while the dataset is
    the same and nothing is rebuilt; else what was just built."""
    last = deployment.read(stack)
    if last is None:
        return model_dir, version_dir
    if rebuild or last.dataset != build.dataset_fingerprint(data):
        print("  the model `make retrain` deployed was of another build: serving the new one")
        deployment.discard(stack)
        return model_dir, version_dir
    lists = Path(last.batch_dir) if last.batch_dir else version_dir
    if not (lists / "manifest.json").is_file():
        lists = version_dir
    return Path(last.model_dir), lists


def _may_restart(restarts: list[float], now: float) -> bool:
    """Whether a restart at ``now`` is within the budget (``MAX_RESTARTS`` per
    ``RESTART_WINDOW_S``); records it when it is."""
    restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW_S]
    if len(restarts) >= MAX_RESTARTS:
        return False
    restarts.append(now)
    return True


def _start(stack: Stack, model_dir: Path) -> Child:
    """An inference server on ``model_dir``, ready; one that does not get ready is stopped."""
    server = launch_model_server(stack, model_dir)
    try:
        return wait_ready(stack, server)
    except StartupError:
        server.stop()
        raise


def redeploy(
    stack: Stack, server: Child, model_dir: Path, previous: Path | None = None
) -> tuple[Child, Path]:
    """Replace the inference server by one serving ``model_dir``; the server and the model it
    serves. The port is free for a few seconds in between: onboarding answers with the rule
    meanwhile (its fallback). A model that does not start (a corrupt artifact) is replaced by
    ``previous`` again, as SageMaker rolls back a failed endpoint update; without ``previous``
    the :class:`StartupError` is raised."""
    server.stop()
    print(f"deploying {model_dir} ...", flush=True)
    try:
        replacement = _start(stack, model_dir)
    except StartupError as exc:
        if previous is None:
            raise
        print(f"deploying {model_dir} failed ({exc}); serving {previous} again", file=sys.stderr)
        return _start(stack, previous), previous
    print(f"deployed {model_dir}", flush=True)
    return replacement, model_dir


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.up", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=".local", help="where everything is built")
    parser.add_argument(
        "--data",
        default=os.environ.get("DATA") or None,
        help="a dataset (or a raw MovieLens directory) instead of a world",
    )
    parser.add_argument("--users", type=int, default=20000, help="listeners of the world")
    parser.add_argument("--seed", type=int, default=7, help="seed of the world")
    parser.add_argument("--rebuild", action="store_true", help="rebuild data, model and lists")
    parser.add_argument("--gateway-port", type=int, default=3000)
    parser.add_argument("--model-port", type=int, default=8080)
    parser.add_argument("--aws-port", type=int, default=4566)
    parser.add_argument(
        "--access-mode",
        choices=ACCESS_MODES,
        default="listener",
        help="who may call the app routes: a listener's Cognito ID token (listener), or "
        "SigV4-signed calls of a backend (server)",
    )
    return parser.parse_args(argv)


def _ports_free(stack: Stack) -> bool:
    for name, port in (("gateway", stack.gateway_port), ("inference server", stack.model_port)):
        if port_answers("127.0.0.1", port):
            print(f"make local: port {port} ({name}) is taken: is a local stack already running?",
                  file=sys.stderr)  # fmt: skip
            return False
    return True


def build_all(stack: Stack, args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """The dataset, the model and the batch lists (built or reused): the dataset, the model to
    serve and the version to load."""
    with build.step("dataset"):
        data = build.dataset(stack, args.data, args.users, args.seed, args.rebuild)
    with build.step("onboarding model"):
        if not build.model(data, stack.dir / "model", args.rebuild):
            print("  warning: the model did not pass the quality gate; serving it anyway")
    with build.step("batch lists"):
        built = build.batch(data, stack.dir / "batch", args.rebuild)
    model_dir, version_dir = starting_point(stack, data, stack.dir / "model", built, args.rebuild)
    return data, model_dir, version_dir


@dataclass(frozen=True)
class Pools:
    """The stack's user pools: the listeners' (listener access mode only) and the operators'."""

    listeners: cognito.UserPool | None
    operators: cognito.UserPool


def start_aws(stack: Stack, version_dir: Path, children: list[Child]) -> Pools:
    """Local AWS (moto, unless LocalStack answers) with the stack's resources and lists, the
    operators' user pool with the local operator, and in the listener access mode the
    listeners' user pool."""
    with build.step("local AWS"):
        moto, kind = aws.start(stack.dir / "logs" / "aws.log", stack.aws_port)
        if moto:
            children.append(moto)
        print(f"  using {kind} at {stack.aws_url}")
        aws.ensure_resources(PREFIX, stack.bucket, stack.aws_url)
        pool = None
        if stack.access_mode == "listener":
            pool = cognito.ensure_pool(stack.aws_url)
            print(f"  listeners' user pool {pool.id} (app client {pool.client_id})")
        operators = cognito.ensure_operator(stack.aws_url)
        print(f"  operators' user pool {operators.id} (console client {operators.client_id})")
    with build.step(f"loading the lists ({version_dir.name})"):
        build.load(stack, version_dir)
    return Pools(pool, operators)


def start_gateway(
    stack: Stack, pools: Pools, publisher: local_metrics.Publisher | None = None
) -> GatewayServer:
    """The API gateway on its port, serving in a thread, with the handlers' environment, the
    authoriser of the stack's access mode (the Cognito one on the listeners' pool, or SigV4),
    the operators' pool on the console's routes, and the console's page; ``publisher`` gets
    each answer (API Gateway's metrics)."""
    os.environ.update(stack.handler_env())
    os.environ[OPERATOR_ISSUER_ENV] = pools.operators.issuer
    site = ConsoleSite(console_config(pools.operators, stack.api_stage))
    gateway = Gateway(stack.api_key, stack.admin_key, stage=stack.api_stage,
                      access_mode=stack.access_mode, user_pool=pools.listeners,
                      operator_pool=pools.operators, console=site,
                      on_answer=publisher.answered if publisher else None)  # fmt: skip
    http_server = serve(gateway, port=stack.gateway_port, access_log=True)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    return http_server


def supervise(stack: Stack, server: Child, model_dir: Path, children: list[Child]) -> int:
    """Keep the stack up until Ctrl-C: restart an inference server that exits (as SageMaker
    replaces an unhealthy instance), deploy what `make retrain` deployed, stop when another
    process dies (exit code 1)."""
    restarts: list[float] = []
    rejected: Path | None = None  # a deployed model that failed to start
    while True:
        if not server.alive() and _may_restart(restarts, time.monotonic()):
            # onboarding falls back to the rule meanwhile
            print(f"inference server exited with {server.process.returncode}; restarting "
                  f"it (log: {server.log})", file=sys.stderr)  # fmt: skip
            children.remove(server)
            server, _ = redeploy(stack, server, model_dir)
            children.append(server)
            _write_pids(stack, children)
        if any(not child.alive() for child in children):
            dead = [c.name for c in children if not c.alive()]
            print(f"stopped: {', '.join(dead)} exited (see {stack.dir}/logs)", file=sys.stderr)
            return 1
        last = deployment.read(stack)  # `make retrain` deployed a new model
        if last is not None and Path(last.model_dir) not in (model_dir, rejected):
            children.remove(server)
            server, served = redeploy(stack, server, Path(last.model_dir), model_dir)
            children.append(server)
            _write_pids(stack, children)
            if served != Path(last.model_dir):  # it did not start: not tried again
                rejected = Path(last.model_dir)
                deployment.record_rollback(stack, rejected, served, server.log)
            model_dir = served
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    aws_calls.install_from_env()  # MUSICREC_AWS_CALLS: record the functions' AWS calls
    stack = Stack(args.dir, args.gateway_port, args.model_port, args.aws_port,
                  access_mode=args.access_mode)  # fmt: skip
    if not _ports_free(stack):
        return 2
    started = time.monotonic()
    children: list[Child] = []
    gateway: GatewayServer | None = None
    publisher: local_metrics.Publisher | None = None
    stopping = threading.Event()
    # Ctrl-C and SIGTERM stop everything, at any step (also when started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        data, model_dir, version_dir = build_all(stack, args)
        server = launch_model_server(stack, model_dir)  # starts while the lists load
        children.append(server)
        pools = start_aws(stack, version_dir, children)
        with build.step(f"inference server ({model_dir})"):
            wait_ready(stack, server)
        _write_pids(stack, children)
        # what API Gateway and CloudWatch Logs publish in AWS, to local CloudWatch
        publisher = local_metrics.start(stack.aws_url, AdminSettings.from_env(
            stack.handler_env()).api_name, stack.api_stage)  # fmt: skip
        gateway = start_gateway(stack, pools, publisher)  # shut down on the way out
        schedules.start(stopping)  # the scheduled functions, in this process (the handlers' env)
        stack.save()
        print(f"\nready in {time.monotonic() - started:.0f} s: API at {stack.gateway_url} "
              f"(x-api-key: {stack.api_key}; {examples.access_note(stack)}); Ctrl-C stops "
              "everything.\n")  # fmt: skip
        print("\n".join(examples.curl_commands(stack, examples.ids(data, version_dir))))
        password = cognito.operator_password(pools.operators)
        print(f"\nconsole: {stack.gateway_url}/console/ (operator {cognito.OPERATOR_NAME!r}, "
              f"password {password!r})\n", flush=True)  # fmt: skip
        return supervise(stack, server, model_dir, children)
    except KeyboardInterrupt:
        return 0
    except (build.BuildError, StartupError, aws.AwsError, cognito.CognitoError) as exc:
        print(f"make local: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the gateway's port was taken meanwhile
        print(f"make local: {exc}", file=sys.stderr)
        return 1
    finally:
        stopping.set()
        if gateway is not None:
            gateway.shutdown()
            gateway.server_close()
        if publisher is not None:  # before local AWS stops: what is queued is put
            local_metrics.stop(publisher)
        for child in reversed(children):
            child.stop()
        (stack.dir / "stack.json").unlink(missing_ok=True)
        print("local stack stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
