"""Supervision rules of `make local`."""

from __future__ import annotations

from local import up


def test_restarts_stop_after_the_budget():
    restarts: list[float] = []
    allowed = [up._may_restart(restarts, now) for now in (0.0, 1.0, 2.0, 3.0)]
    assert allowed == [True, True, True, False]
    assert up._may_restart(restarts, up.RESTART_WINDOW_S + 0.5)  # the first ones aged out
