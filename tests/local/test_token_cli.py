"""``python -m local.token --user ID``: a listener's ID token, one line on stdout, for the local
AWS of the running stack; a clear error without one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lambdas.config import DEFAULT_LISTENER_CLAIM
from local.authorisers import CognitoAuthoriser
from local.examples import token_command
from local.ports import free_port
from local.stack import Stack
from tests.conftest import REPO_ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.token", *args], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )  # fmt: skip


def listener_of(token: str, user_pool) -> str:
    claims = CognitoAuthoriser(user_pool).verify(token)
    assert claims is not None, "not a valid ID token of the pool"
    return str(claims[DEFAULT_LISTENER_CLAIM])


def test_it_prints_the_listener_s_token_and_nothing_else(local_aws, user_pool):
    done = run("--user", "cli-1", "--endpoint-url", local_aws)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n")
    assert done.stdout.count("\n") == 1  # one line, nothing else
    assert listener_of(done.stdout.strip(), user_pool) == "cli-1"


def test_it_finds_local_aws_through_the_stack_s_directory(tmp_path, local_aws, user_pool):
    Stack(root=str(tmp_path), aws_port=int(local_aws.rsplit(":", 1)[1])).save()
    done = run("--user", "cli-2", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert listener_of(done.stdout.strip(), user_pool) == "cli-2"


def test_it_finds_local_aws_through_aws_endpoint_url(tmp_path, local_aws, user_pool):
    done = run("--user", "cli-3", "--dir", str(tmp_path), env={"AWS_ENDPOINT_URL": local_aws})
    assert done.returncode == 0, done.stderr
    assert listener_of(done.stdout.strip(), user_pool) == "cli-3"


def test_the_command_make_local_prints_works_in_a_shell(tmp_path, local_aws, user_pool):
    Stack(root=str(tmp_path), aws_port=int(local_aws.rsplit(":", 1)[1])).save()
    command = token_command(Stack(root=str(tmp_path)), "o'brien")  # quoted for the shell
    done = subprocess.run(["bash", "-c", f'TOKEN="$({command})"; printf %s "$TOKEN"'],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert listener_of(done.stdout, user_pool) == "o'brien"


@pytest.mark.parametrize("where", ["endpoint", "stack"])
def test_without_a_running_stack_it_says_so_on_stderr_and_exits_1(tmp_path, where):
    nothing = free_port()
    if where == "stack":
        Stack(root=str(tmp_path), aws_port=nothing).save()
        done = run("--user", "u1", "--dir", str(tmp_path))
    else:
        done = run("--user", "u1", "--dir", str(tmp_path), "--endpoint-url",
                   f"http://127.0.0.1:{nothing}")  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"local AWS at http://127.0.0.1:{nothing}" in done.stderr
    assert "make local" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_operator_it_prints_the_local_operators_token(local_aws):
    from local import cognito

    operators = cognito.ensure_operator(local_aws)
    done = run("--operator", "--endpoint-url", local_aws)
    assert done.returncode == 0, done.stderr
    claims = CognitoAuthoriser(operators).verify(done.stdout.strip())
    assert claims is not None
    assert claims["cognito:username"] == cognito.OPERATOR_NAME


def test_it_wants_a_listener_or_the_operator_not_both(local_aws):
    assert run("--user", "u", "--operator", "--endpoint-url", local_aws).returncode == 2
    assert run("--endpoint-url", local_aws).returncode == 2
