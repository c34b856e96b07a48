"""The load smoke test: mixed traffic against the shared local stack, zero errors, and every
event accepted is stored. Latency is measured by ``python -m bench.load_test``, not asserted
here."""

from __future__ import annotations

from bench import load_test as load
from bench.api_gateway import find_ids
from bench.traffic import Traffic
from local.stack import Stack

SECONDS = 20
RATE = 1.0  # requests per second, as `python -m bench.load_test`: see its docstring


def test_mixed_traffic_answers_without_errors_and_loses_no_event(stack: Stack) -> None:
    # events only for listeners of this run: the other tests' listeners see none of them
    traffic = Traffic(stack, find_ids(stack), new_listeners_only=True)
    outcome = load.run(stack, traffic, RATE, SECONDS)
    labels = set(outcome.result.labels)
    assert labels == set(load.MIX), f"every route of the mix was called: {labels}"
    assert outcome.errors == {}, f"non-2xx answers per route (0: none): {outcome.errors}"
    assert outcome.accepted > 0
    assert outcome.lost == 0, "events accepted with a 2xx but not stored"
    assert outcome.stored == outcome.accepted
