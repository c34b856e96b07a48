"""The access model on the whole local stack (``python -m local.up``, listener mode, as `make
local` runs it): the curl commands it prints answer, and a listener's token acts only for them,
percent-escapes in the path included."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse

import pytest

from local import cognito
from local.smoke import call
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def test_the_stack_runs_the_listener_mode_and_tells_its_handlers(stack):
    assert stack.access_mode == "listener"
    assert stack.handler_env()["ACCESS_MODE"] == "listener"
    cognito.find_pool(stack.aws_url)  # made by the stack


def printed_commands(stack, timeout_s: float = 60) -> list[str]:
    """The curl commands `make local` printed (after ``stack.json``: wait for them)."""
    deadline = time.monotonic() + timeout_s
    while True:
        printed = (stack.dir / "up.log").read_text().splitlines()
        commands = [line for line in printed if line.startswith("curl -s ")]
        if len(commands) == 9 or time.monotonic() > deadline:
            return commands
        time.sleep(0.2)


def test_every_curl_command_make_local_prints_answers_200_but_the_stale_rollback(stack):
    commands = printed_commands(stack)
    assert len(commands) == 16
    for command in commands:
        done = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        body, _, status = done.stdout.rpartition("\n")
        if "/batch/rollback" in command:
            # the version loaded at start-up: never active with a previous one here (the session's
            # retrain made another active, or none precedes it), so nothing is rolled back
            assert status == "409", f"{command}\n{done.stdout}{done.stderr}"
            assert json.loads(body)["code"] == "conflict"
            continue
        assert status == "200", f"{command}\n{done.stdout}{done.stderr}"
        assert isinstance(json.loads(body), dict)


def test_a_listener_id_with_an_at_sign_acts_for_that_listener(stack):
    status, body = call(stack, "GET", "/v1/users/a@b/recommendations?limit=3", listener="a@b")
    assert status == 200, body
    status, body = call(stack, "GET", "/v1/users/a@b/recommendations?limit=3", listener="a")
    assert (status, body["field"]) == (403, "userId")


@pytest.mark.parametrize("listener", ["a@b", "a/b#c"])
def test_a_percent_escaped_listener_id_reaches_the_handler_decoded(stack, listener):
    path = f"/v1/users/{urllib.parse.quote(listener, safe='')}/recommendations?limit=3"
    assert "%" in path
    status, body = call(stack, "GET", path, listener=listener)
    assert (status, body.get("user_id")) == (200, listener), body


def test_another_listener_s_token_is_refused_by_the_handler(stack):
    status, body = call(stack, "GET", "/v1/users/u1/artists", listener="u2")
    assert (status, body["code"]) == (403, "forbidden")
    status, body = call(stack, "GET", "/v1/users/u1/artists", listener=None)
    assert (status, body) == (401, {"message": "Unauthorized"})
