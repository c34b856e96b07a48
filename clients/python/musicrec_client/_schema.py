"""What the generated module (``_openapi.py``) builds on: the route table's types and the
conditional requirements of JSON Schema's ``if``/``then`` that pydantic cannot declare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True)
class Param:
    """A path or query parameter of a route (``name`` as the API spells it)."""

    name: str
    location: Literal["path", "query"]
    required: bool
    default: Any = None


@dataclass(frozen=True)
class Operation:
    """One route of the OpenAPI document."""

    operation_id: str
    method: str
    path: str
    params: tuple[Param, ...]
    body: type[BaseModel] | None
    security: tuple[str, ...]
    statuses: tuple[int, ...]

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.location == "path")

    @property
    def query_params(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.location == "query")


def require_when(
    model: BaseModel, field: str, values: tuple[Any, ...], required: tuple[str, ...]
) -> None:
    """Raise ValueError unless every field of ``required`` is set when ``field`` is one of
    ``values`` (JSON Schema: ``if {field: {enum: values}} then {required: required}``)."""
    value = getattr(model, field)
    if value not in values:
        return
    for name in required:
        if getattr(model, name) is None:
            raise ValueError(f"{name}: required when {field} is {value!r}")
