"""Path and query parameter types shared by the routes (their limits appear in the OpenAPI
document)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

PATTERN = r"^[0-9A-Za-z._:@#/-]+$"
IdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=PATTERN)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=128, pattern=PATTERN)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cap = Annotated[int, Query(ge=1, le=100)]
RegionQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
