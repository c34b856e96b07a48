"""What the validator reports: :class:`Problem`, and :class:`Findings` that tallies them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from training.data.contract import TABLES

#: Example values longer than this are cut when a problem is printed.
_MAX_VALUE_CHARS = 80

#: How many distinct offending values a problem's message lists.
MAX_SAMPLES = 5

#: A column's values: one array, or the chunks of a table's column.
Values: TypeAlias = pa.Array | pa.ChunkedArray


@dataclass(frozen=True)
class Problem:
    """One kind of thing wrong with one column (or file) of a dataset.

    ``count`` is how many rows are affected (all rows for a missing or mistyped column; 0 when
    a whole file is missing or unreadable) and ``example`` is one offending row.
    """

    file: str
    column: str | None
    message: str
    count: int = 0
    example: dict[str, Any] | None = field(default=None, hash=False)

    def __str__(self) -> str:
        where = self.file if self.column is None else f"{self.file} [{self.column}]"
        text = f"{where}: {self.message}"
        if self.count:
            text += f" ({self.count:,} row{'s' if self.count != 1 else ''})"
        if self.example is not None:
            text += f"; example: {format_row(self.example)}"
        return text


def format_row(row: dict[str, Any]) -> str:
    """A row as ``{col=value, ...}`` on one line, timestamps in ISO 8601."""
    return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in row.items()) + "}"


def _format_value(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


@dataclass
class _Tally:
    table: str
    count: int = 0
    example: dict[str, Any] | None = None
    samples: list[Any] = field(default_factory=list)
    more: bool = False

    def sample(self, values: Values) -> None:
        """Keep up to MAX_SAMPLES distinct values, noting whether there were more."""
        if len(self.samples) > MAX_SAMPLES:
            return
        for value in pc.unique(values.slice(0, 1000)).to_pylist():
            if value not in self.samples:
                self.samples.append(value)
        self.more = self.more or len(self.samples) > MAX_SAMPLES or len(values) > 1000
        del self.samples[MAX_SAMPLES:]

    def message(self, message: str) -> str:
        if not self.samples:
            return message
        shown = ", ".join(_format_value(v) for v in self.samples)
        return f"{message} (found: {shown}{', ...' if self.more else ''})"


class Findings:
    """Problems collected over a run, merged by (file, column, message) across batches."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, str | None, str], _Tally] = {}

    def report(
        self,
        table: str,
        file: str,
        column: str | None,
        message: str,
        count: int = 0,
        example: dict[str, Any] | None = None,
    ) -> None:
        """Record ``count`` affected rows (and an example, if none yet) for one problem."""
        tally = self._tallies.setdefault((file, column, message), _Tally(table))
        tally.count += count
        if tally.example is None:
            tally.example = example

    def flag(
        self,
        table: str,
        file: str,
        column: str | None,
        message: str,
        rows: pa.Table,
        mask: Values,
        values: Values | None = None,
    ) -> None:
        """Record the rows of ``rows`` where boolean ``mask`` is true (nulls count as false).

        ``values`` are the offending values: a few distinct ones are listed in the message.
        """
        mask = pc.fill_null(mask, False)
        count = pc.sum(mask).as_py() or 0
        if not count:
            return
        tally = self._tallies.get((file, column, message))
        example = first_row(rows, mask) if tally is None or tally.example is None else None
        self.report(table, file, column, message, count, example)
        if values is not None:
            self._tallies[(file, column, message)].sample(values)

    def problems(self) -> list[Problem]:
        """The problems found, ordered by table (as in the contract), then as found."""
        order = {name: i for i, name in enumerate(TABLES)}
        items = sorted(self._tallies.items(), key=lambda kv: order.get(kv[1].table, len(order)))
        return [
            Problem(file, column, tally.message(message), tally.count, tally.example)
            for (file, column, message), tally in items
        ]


def first_row(rows: pa.Table, mask: Values) -> dict[str, Any] | None:
    """The first row of ``rows`` where ``mask`` is true, as a dict."""
    index = pc.index(pc.fill_null(mask, False), True).as_py()
    if index is None or index < 0:
        return None
    return dict(rows.slice(index, 1).to_pylist()[0])
