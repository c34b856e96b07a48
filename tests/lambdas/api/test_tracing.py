"""Tracing is on in Lambda unless disabled, and off elsewhere (the X-Ray SDK is then not loaded)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lambdas.api.tracing import traced, tracing_enabled
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False),
    ],
)
def test_tracing_is_on_only_in_lambda_unless_disabled(env, on):
    assert tracing_enabled(env) is on


def test_off_the_handler_is_unchanged():
    def handler(event, context):
        return {"ok": event}

    assert traced("svc", {})(handler) is handler


def test_on_the_handler_is_wrapped_by_powertools_tracer():
    def handler(event, context):
        return {"ok": event}

    wrapped = traced("svc", {"AWS_LAMBDA_FUNCTION_NAME": "f"})(handler)
    assert wrapped is not handler
    assert wrapped.__wrapped__ is handler


def test_a_handler_module_does_not_import_the_xray_sdk_when_tracing_is_off():
    code = "import sys, lambdas.handlers.events; print('aws_xray_sdk' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, cwd=REPO_ROOT)  # fmt: skip
    assert out.stdout.strip() == "False"
