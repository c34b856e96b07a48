"""``python -m infra.deploy_check`` (``make deploy-check``): before a deploy, with credentials for
the target account, ask AWS what local checks cannot answer.

1. Synthesize the app (``npx cdk synth -q -c env=ENV -o DIR``), or read ``--cdk-out DIR``.
2. Send every state machine's definition in the synthesized templates (resolved as
   :func:`infra.contracts.sfn.state_machine_definitions` resolves them: CloudFormation tokens
   become placeholders) to Step Functions' ``ValidateStateMachineDefinition``; any diagnostic of
   severity ERROR fails the check, WARNINGs are printed.
3. ``npx cdk diff`` of that cloud assembly against the deployed stacks (skip with ``--no-diff``).

Exit codes: 0 all good; 1 a definition was rejected or a command failed; 2 no AWS credentials or
region configured (nothing was called), or a bad argument.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.contracts.sfn import state_machine_definitions

REPO_ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2
NO_CREDENTIALS = (
    "deploy-check: no AWS credentials found. It calls Step Functions' "
    "ValidateStateMachineDefinition and `cdk diff` in the account you deploy to: configure "
    "credentials first (AWS_PROFILE=..., `aws configure` or `aws sso login`), and a region "
    "(AWS_REGION=...). Nothing was called."
)
NO_REGION = (
    "deploy-check: no AWS region configured: set AWS_REGION (or a region in your profile). "
    "Nothing was called."
)
CDK_ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


class SetupError(RuntimeError):
    """What must be fixed before the check can call AWS (exit 2)."""


@dataclass(frozen=True)
class Definition:
    """One state machine of a synthesized template."""

    template: str  # the template's file name
    logical_id: str
    definition: dict[str, Any]
    kind: str = "STANDARD"  # or EXPRESS: the resource's StateMachineType

    @property
    def label(self) -> str:
        return f"{self.template}:{self.logical_id}"


def session() -> Any:
    """A boto3 session with credentials and a region, or SetupError saying what is missing."""
    import boto3

    current = boto3.Session()
    if current.get_credentials() is None:
        raise SetupError(NO_CREDENTIALS)
    if not current.region_name:
        raise SetupError(NO_REGION)
    return current


def definitions(cdk_out: Path) -> list[Definition]:
    """Every state machine definition in the cloud assembly's templates."""
    found = []
    for path in sorted(cdk_out.glob("*.template.json")):
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        for logical_id, definition in state_machine_definitions(template).items():
            kind = resources[logical_id].get("Properties", {}).get("StateMachineType", "STANDARD")
            found.append(Definition(path.name, logical_id, definition, str(kind)))
    return found


def validate(client: Any, definition: Definition) -> tuple[bool, list[str]]:
    """Step Functions' verdict on one definition: (accepted, the diagnostics as lines)."""
    lines, accepted = [], True
    request = {
        "definition": json.dumps(definition.definition),
        "type": definition.kind,
        "severity": "WARNING",  # report warnings too; only errors fail the check
    }
    response = client.validate_state_machine_definition(**request)
    if response.get("result") != "OK":
        accepted = False
    for item in response.get("diagnostics", []):
        where = f" at {item['location']}" if item.get("location") else ""
        lines.append(f"{item['severity']} {item['code']}{where}: {item['message']}")
        if item["severity"] == "ERROR":
            accepted = False
    if response.get("truncated"):
        lines.append("(more diagnostics were truncated)")
    return accepted, lines


def check_definitions(
    client: Any, found: Sequence[Definition]
) -> Iterator[tuple[Definition, bool, list[str]]]:
    """Each definition with Step Functions' verdict."""
    for definition in found:
        accepted, lines = validate(client, definition)
        yield definition, accepted, lines


def synth(
    env: str,
    outdir: Path,
    runner: Callable[..., Any] = subprocess.run,
    context: Sequence[str] = (),
) -> None:
    """``npx cdk synth`` of the environment (and any ``KEY=VALUE`` context) into ``outdir``."""
    extra = [arg for item in context for arg in ("-c", item)]
    command = ["npx", "cdk", "synth", "-q", "-c", f"env={env}", *extra, "-o", str(outdir)]
    result = runner(command, cwd=REPO_ROOT, env={**os.environ, **CDK_ENV})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}")


def diff(env: str, cdk_out: Path, runner: Callable[..., Any] = subprocess.run) -> int:
    """``npx cdk diff`` of the synthesized assembly against the account; its exit code."""
    command = ["npx", "cdk", "diff", "--app", str(cdk_out), "-c", f"env={env}"]
    return int(runner(command, cwd=REPO_ROOT, env={**os.environ, **CDK_ENV}).returncode)


def run(
    env: str,
    cdk_out: Path | None,
    with_diff: bool,
    make_session: Callable[[], Any] = session,
    runner: Callable[..., Any] = subprocess.run,
    context: Sequence[str] = (),
) -> int:
    """The whole check; the exit code."""
    try:
        aws = make_session()
    except SetupError as exc:
        print(exc, file=sys.stderr)
        return EXIT_SETUP
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as scratch:
        outdir = cdk_out or Path(scratch) / "cdk.out"
        if cdk_out is None:
            try:
                synth(env, outdir, runner, context)
            except RuntimeError as exc:
                print(f"deploy-check: {exc}", file=sys.stderr)
                return EXIT_FAILED
        found = definitions(outdir)
        if not found:
            print(f"deploy-check: no state machine in {outdir}/*.template.json", file=sys.stderr)
            return EXIT_FAILED
        client = aws.client("stepfunctions")
        failed = 0
        for definition, accepted, lines in check_definitions(client, found):
            print(f"{'OK  ' if accepted else 'FAIL'} {definition.label}")
            for line in lines:
                print(f"     {line}")
            failed += not accepted
        if failed:
            print(f"deploy-check: Step Functions rejected {failed} definition(s)", file=sys.stderr)
            return EXIT_FAILED
        if with_diff and diff(env, outdir, runner) != 0:
            print("deploy-check: cdk diff failed", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--env", default="dev", help="the preset (cdk.json), default dev")
    parser.add_argument(
        "--cdk-out", type=Path, default=None, help="an existing cloud assembly (default: synth)"
    )
    parser.add_argument("--no-diff", action="store_true", help="skip `cdk diff`")
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="more context for the synthesis, as `cdk -c` (e.g. -c autoscaling=false)",
    )
    args = parser.parse_args(argv)
    if args.cdk_out is not None and not args.cdk_out.is_dir():
        parser.error(f"--cdk-out: {args.cdk_out} is not a directory")
    return run(args.env, args.cdk_out, not args.no_diff, context=args.context)


if __name__ == "__main__":
    sys.exit(main())
