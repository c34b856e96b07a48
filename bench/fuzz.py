"""API fuzzing from the OpenAPI document: ``python -m bench.fuzz [--examples N] [--dir .local]``.

Schemathesis generates requests from docs/openapi.json (valid and invalid by the schema, and valid
ones with an id the loaded version has) and sends them to a running local stack (``python -m
local.up``: the local API Gateway in front of the real handlers, moto holding a loaded batch
version, the real inference server), with the API key and the ID token of the listener each
request names, as that listener's app would send them (the admin key for the catalogue's admin
route, the local operator's token for the console's). Every
answer goes through :data:`CHECKS`: no 5xx, every error a JSON body that names the problem,
statuses, content types and bodies as documented, invalid input refused, keys enforced. Writes,
per route, the requests sent, the status codes, the 5xx and non-JSON errors and the wall time into
the ``fuzz`` section of docs/benchmarks.md; exits 1 on any 5xx or non-JSON error. The CI tests
(tests/fuzz) run the same checks with few examples.

Left out, with reasons: ``positive_data_acceptance`` (a schema-valid integer written ``2.0`` is
refused, the models take strict integers: 400s naming the field),
``unsupported_method`` (API Gateway answers an unknown method with 403 "Missing Authentication
Token", not 405), the stateful checks (no route creates a resource another reads by id).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from bench.api_gateway import Ids, find_ids
from bench.report import DEFAULT_DOC, REPO_ROOT, machine, write_section
from lambdas.routes import ADMIN_PREFIX, ROUTES
from local.cognito import listener_headers, operator_headers
from local.stack import Stack

SECTION = "fuzz"
OPENAPI = REPO_ROOT / "docs" / "openapi.json"
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Invalid input is refused with 400, or 413/415 for a body; 403 is the gateway's answer to a
# path an invalid parameter made unknown (an empty or slashed id); 404 an id without a list.
REFUSED = ["400", "403", "404", "413", "415"]
ID = re.compile(r"^[0-9A-Za-z._:@#/-]{1,128}$")
FUZZ_PREFIX = "fuzz-"  # the songs the fuzzer marks unavailable: none of the catalogue's
CONSOLE_TIMEOUT_S = 30  # API Gateway's integration limit (29 s), and a second
FUZZ_LISTENER = "fuzz-listener"  # whose token a request naming no (valid) listener carries
KNOWN = {"userId": "listeners", "itemId": "songs", "artistId": "artists"}  # path id: Ids field


def error_names_the_problem(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error answers a JSON object with a ``message``; where it has a ``field`` (always for a
    400), the message names it."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"error without JSON: {content_type!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert body.get("message"), f"error without a message: {body!r}"
    if response.status_code == 400:
        assert body.get("field"), f"400 without the field: {body!r}"
    if body.get("field"):
        assert str(body["field"]) in str(body["message"]), f"message misses the field: {body!r}"
    return True


_KEYS_CONFIRMED: set[str] = set()


def keys_enforced(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis' ``ignored_auth`` (a success is resent without the key and with a wrong one,
    both must be refused), once per route: it is a property of the route, not of the input."""
    label = case.operation.label
    if label in _KEYS_CONFIRMED or not 200 <= response.status_code < 300:
        return None
    result = ignored_auth(ctx, response, case)
    _KEYS_CONFIRMED.add(label)
    return result


CHECKS = [
    not_a_server_error,
    error_names_the_problem,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    keys_enforced,
]


def load_schema() -> BaseSchema:
    """docs/openapi.json, both generation modes; the base URL and the keys are given per call."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "with-security-parameters": False},
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSED}},
        }
    )
    return schemathesis.openapi.from_path(OPENAPI, config=config)


def operations(schema: BaseSchema) -> list[APIOperation]:
    """Every operation of ``schema`` (an invalid one raises)."""
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found


def key_header(case: Case, stack: Stack) -> dict[str, str]:
    """The credentials this route needs: the local operator's token for the console's routes,
    the admin key for the catalogue's, else the API key and the ID token of the listener the
    request names (:func:`case_listener`)."""
    route = next((r for r in ROUTES if r.path == case.operation.path), None)
    if route is not None and route.admin and route.operator_auth == "token":
        return operator_headers(stack)
    if route is not None and route.admin:
        return {"x-admin-key": stack.admin_key}
    return listener_headers(stack, case_listener(case))


def case_listener(case: Case) -> str:
    """The listener a request acts for, as its app would know it: the path's ``userId``, the
    query's or the body's ``user_id``, the first event's; :data:`FUZZ_LISTENER` when none is a
    valid id (the handlers then answer 403 or 400 for the others)."""
    body = case.body if isinstance(case.body, dict) else {}
    events = body.get("events")
    first = events[0] if isinstance(events, list) and events else None
    candidates = [
        (case.path_parameters or {}).get("userId"),
        (case.query or {}).get("user_id"),
        body.get("user_id"),
        first.get("user_id") if isinstance(first, dict) else None,
    ]
    return next((c for c in candidates if isinstance(c, str) and ID.match(c)), FUZZ_LISTENER)


def confine(case: Case) -> None:
    """Keep what the fuzzer writes away from what other users of the stack read: the songs it
    marks unavailable get :data:`FUZZ_PREFIX` (none of the catalogue's ids has it). Its
    impressions and clicks name no answer the server issued, so they count nowhere."""
    item = (case.path_parameters or {}).get("itemId")
    if case.method == "PUT" and isinstance(item, str) and ID.match(FUZZ_PREFIX + item):
        case.path_parameters["itemId"] = FUZZ_PREFIX + item


def send(case: Case, stack: Stack, session: requests.Session) -> tuple[Response, dict[str, str]]:
    """Send ``case`` (confined) with its key: the answer and the headers added. The console's
    routes get API Gateway's whole 29 s (they read CloudWatch and the bandits' logs within
    bounded budgets), the others schemathesis's default."""
    confine(case)
    headers = key_header(case, stack)
    console = case.operation.path.startswith(ADMIN_PREFIX)
    extra: dict[str, Any] = {"timeout": CONSOLE_TIMEOUT_S} if console else {}
    return case.call(stack.gateway_url, session=session, headers=headers, **extra), headers


def validate(case: Case, response: Response, headers: dict[str, str]) -> None:
    """Run :data:`CHECKS` on the answer to ``case``; raises on a failed check."""
    case.validate_response(response, checks=CHECKS, headers=headers)


@dataclass
class Tally:
    """What one route answered."""

    route: str
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    non_json_errors: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def add(self, response: Response) -> None:
        self.statuses[response.status_code] += 1
        self.server_errors += response.status_code >= 500
        if response.status_code >= 400 and not _is_json(response.content):
            self.non_json_errors += 1


def _is_json(content: bytes) -> bool:
    try:
        json.loads(content)
    except ValueError:
        return False
    return True


def known_ids(operation: APIOperation, ids: Ids) -> SearchStrategy[Case] | None:
    """Valid requests whose path id the loaded batch version has (random ids miss it, so the
    personal lists and similar songs and artists would go unfuzzed); None for routes without
    one, and for the admin route (real songs stay available)."""
    name = next((n for n in KNOWN if "{" + n + "}" in operation.path), None)
    if name is None or any(r.admin and r.path == operation.path for r in ROUTES):
        return None
    values = getattr(ids, KNOWN[name])
    return st.sampled_from(values).flatmap(
        lambda value: operation.as_strategy(GenerationMode.POSITIVE, path_parameters={name: value})
    )


def strategies(operation: APIOperation, ids: Ids) -> list[SearchStrategy[Case]]:
    """Valid and invalid requests, and valid ones with a known id where the route has one."""
    found = [operation.as_strategy(mode) for mode in MODES]
    known = known_ids(operation, ids)
    return found + ([known] if known is not None else [])


def fuzz(operation: APIOperation, stack: Stack, ids: Ids, examples: int, seed: int) -> Tally:
    """``examples`` requests for ``operation``, shared evenly by :func:`strategies`, all checked;
    failed checks are counted by their title, not raised."""
    tally = Tally(operation.label)
    session = requests.Session()
    started = time.monotonic()
    parts = strategies(operation, ids)
    for i, strategy in enumerate(parts):
        share = examples // len(parts) + (i < examples % len(parts))

        @given(case=strategy)
        @settings(max_examples=share, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @hypothesis.seed(seed)
        def one(case: Case) -> None:
            response, headers = send(case, stack, session)
            tally.add(response)
            try:
                validate(case, response, headers)
            except FailureGroup as group:
                tally.failures.update(_summary(f) for f in group.exceptions)

        one()
    tally.wall_s = time.monotonic() - started
    return tally


def _summary(failure: Exception) -> str:
    """A failed check in one line: its title and the first line of its message."""
    title = getattr(failure, "title", None) or type(failure).__name__
    message = str(getattr(failure, "message", failure)).strip().split("\n")[0]
    return f"{title}: {message}"[:200]


def markdown(tallies: list[Tally], command: str, examples: int, jobs: int, total_s: float) -> str:
    """The ``fuzz`` section: one row per route, the failures of the checks below."""
    host = machine()
    lines = [
        f"Property-based fuzzing from [openapi.json](openapi.json) with schemathesis "
        f"{schemathesis.__version__}: {examples} generated requests per route, in equal shares "
        "valid and invalid by the schema (and, on routes with a user, song or artist id, valid "
        "with an id of the loaded version), sent through the local API Gateway to the real "
        "handlers (moto holding the stack's loaded batch version, the real inference server). "
        "Every answer checked: no 5xx, every error a JSON body naming the problem, status "
        "codes, content types and bodies as documented, invalid input refused, keys enforced. "
        f"{jobs} routes at a time, each fuzzed by its own process; a route's wall time is its "
        "own process's.",
        "",
        "| route | requests | status codes | 5xx | non-JSON errors | check failures | wall s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for t in tallies:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(t.statuses.items()))
        failed = sum(t.failures.values())
        lines.append(f"| `{t.route}` | {t.requests} | {codes} | {t.server_errors} | "
                     f"{t.non_json_errors} | {failed} | {t.wall_s:.1f} |")  # fmt: skip
    failures = Counter[str]()
    for t in tallies:
        failures.update({f"`{t.route}`: {k}": n for k, n in t.failures.items()})
    lines.append("")
    if failures:
        lines += ["Check failures:", ""]
        lines += [f"- {text} ({n}×)" for text, n in failures.most_common(20)]
    else:
        lines.append("No check failed.")
    lines += [
        "",
        f"All routes: {total_s:.0f} s.",
        "",
        f"Command: `{command}` (against a running `python -m local.up`)  ",
        f"Machine: {host['cpus']} × {host['cpu']}, {host['memory']}, Python {host['python']}  ",
        f"Date: {dt.date.today().isoformat()}",
    ]
    return "\n".join(lines)


def fuzz_route(label: str, stack_dir: str, ids: Ids, examples: int, seed: int) -> Tally:
    """:func:`fuzz` for the operation labelled ``label`` (run in a worker process)."""
    operation = next(o for o in operations(load_schema()) if o.label == label)
    tally = fuzz(operation, Stack.load(stack_dir), ids, examples, seed)
    print(f"{tally.route}: {tally.requests} requests, {dict(sorted(tally.statuses.items()))}, "
          f"5xx {tally.server_errors}, non-JSON {tally.non_json_errors}, failures "
          f"{sum(tally.failures.values())}, {tally.wall_s:.0f} s", flush=True)  # fmt: skip
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--dir", default=".local", help="the running local stack's directory")
    parser.add_argument("--examples", type=int, default=1000, help="requests per route")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="routes fuzzed at once, one process each (default: CPUs)")  # fmt: skip
    parser.add_argument("--doc", default=str(DEFAULT_DOC))
    args = parser.parse_args(argv)
    jobs = max(1, args.jobs)
    started = time.monotonic()
    ids = find_ids(Stack.load(args.dir))
    labels = [operation.label for operation in operations(load_schema())]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(fuzz_route, label, args.dir, ids, args.examples, args.seed)
                   for label in labels]  # fmt: skip
        tallies = [future.result() for future in futures]
    command = " ".join(["python -m bench.fuzz", *(argv if argv is not None else sys.argv[1:])])
    total_s = time.monotonic() - started
    text = markdown(tallies, command, args.examples, jobs, total_s)
    write_section(SECTION, text, args.doc)
    bad = sum(t.server_errors + t.non_json_errors for t in tallies)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
