"""Schemathesis against the local stack: requests generated from docs/openapi.json (valid and
invalid by the schema) through the local API Gateway to the real handlers. Every answer passes
:data:`bench.fuzz.CHECKS`: no 5xx, every error a JSON body naming the problem, statuses, content
types and bodies as documented, invalid input refused, keys enforced. A few examples per route
here (the same ones on every CI run); ``python -m bench.fuzz`` sends 1,000 per route."""

from __future__ import annotations

import os

import requests
from hypothesis import HealthCheck, settings
from schemathesis import Case

from bench.fuzz import load_schema, send, validate
from local.stack import Stack

EXAMPLES = 25  # per route, both generation modes together
IN_CI = bool(os.environ.get("CI"))
schema = load_schema()
session = requests.Session()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=IN_CI,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_generated_requests_pass_every_check(case: Case, stack: Stack) -> None:
    response, headers = send(case, stack, session)
    validate(case, response, headers)
