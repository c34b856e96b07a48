"""The route table of the document (``_openapi.OPERATIONS``) and the client methods bound to its
routes: each method names its route with :func:`route`, which fails at import when the document
no longer has it; the tests check that every route has a method."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ._openapi import OPERATIONS
from ._schema import Operation

F = TypeVar("F", bound=Callable[..., object])
BY_ROUTE: dict[tuple[str, str], Operation] = {(op.method, op.path): op for op in OPERATIONS}
BOUND: dict[tuple[str, str], str] = {}  # route -> the client method that calls it


def operation(method: str, path: str) -> Operation:
    """The document's route ``method path``; KeyError naming it when the document lacks it."""
    try:
        return BY_ROUTE[(method, path)]
    except KeyError:
        raise KeyError(f"{method} {path}: not a route of docs/openapi.json") from None


def route(method: str, path: str) -> Callable[[F], F]:
    """Mark a client method as the one calling ``method path``."""
    operation(method, path)

    def bind(function: F) -> F:
        BOUND[(method, path)] = function.__name__
        function.__musicrec_route__ = (method, path)  # type: ignore[attr-defined]
        return function

    return bind
