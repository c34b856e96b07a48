"""The scheduled functions of the route table (:data:`lambdas.routes.SCHEDULED`), run in this
process on their schedules as EventBridge invokes them in AWS: ``python -m local.up`` starts
them next to the gateway (the home bandit's refresh, every minute)."""

from __future__ import annotations

import re
import sys
import threading
import traceback

from lambdas.routes import SCHEDULED, Function
from local import aws_calls
from local.gateway import LambdaContext, load_handler

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours)\)$")


def period_s(expression: str) -> float:
    """The period of an EventBridge ``rate(...)`` expression, in seconds (cron ones are not
    run locally: ValueError)."""
    found = RATE.match(expression)
    if not found:
        raise ValueError(f"{expression!r}: only rate(N minutes|hours) runs locally")
    return int(found[1]) * (60 if found[2].startswith("minute") else 3600)


def invoke(fn: Function) -> None:
    """One run of ``fn``'s handler, its AWS calls its own; a failure is printed, not raised
    (EventBridge too just invokes it again next time)."""
    context = LambdaContext(fn.name, fn.memory_mb, fn.timeout_s)
    try:
        with aws_calls.acting_as("function", fn.name):
            load_handler(fn.handler)({"source": "local.schedules"}, context)
    except Exception:  # the schedule goes on
        print(f"scheduled {fn.name} failed:\n{traceback.format_exc()}", file=sys.stderr)


def start(stop: threading.Event) -> list[threading.Thread]:
    """One daemon thread per scheduled function, invoking it every period until ``stop``."""
    threads = []
    for fn, expression in SCHEDULED:
        period = period_s(expression)

        def run(fn: Function = fn, period: float = period) -> None:
            while not stop.wait(period):
                invoke(fn)

        thread = threading.Thread(target=run, name=f"schedule-{fn.name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
